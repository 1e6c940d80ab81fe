-- wavegate:view trip_history
-- wavegate:key trip_id
-- One row per ride, folded from the ride's outbox events.
-- Shape: `WITH base AS (<aggregate over outbox>) SELECT <projection> FROM base`. RisingWave runs the
-- statement as one materialized view; the embedded engine maintains `base` with pg_ivm (which rejects
-- expressions over aggregates, such as `status`) and serves the projection as a plain view over it.
-- Numbers in payloads are JSON strings read with ->> then cast (RisingWave casts JSON numbers via f64).
WITH base AS (
  SELECT
    aggregate_id AS trip_id,
    max(CASE WHEN event_type = 'RideRequested' THEN payload->>'rider_id' END) AS rider_id,
    max(CASE WHEN event_type = 'DriverAssigned' THEN payload->>'driver_id' END) AS driver_id,
    max(CASE WHEN event_type = 'RideRequested' THEN (payload->'pickup'->>'lat')::double precision END) AS pickup_lat,
    max(CASE WHEN event_type = 'RideRequested' THEN (payload->'pickup'->>'lng')::double precision END) AS pickup_lng,
    max(CASE WHEN event_type = 'RideRequested' THEN (payload->'dropoff'->>'lat')::double precision END) AS dropoff_lat,
    max(CASE WHEN event_type = 'RideRequested' THEN (payload->'dropoff'->>'lng')::double precision END) AS dropoff_lng,
    max(CASE WHEN event_type = 'RideRequested' THEN occurred_at END) AS requested_at,
    max(CASE WHEN event_type = 'DriverAssigned' THEN occurred_at END) AS assigned_at,
    max(CASE WHEN event_type = 'RideStarted' THEN occurred_at END) AS started_at,
    max(CASE WHEN event_type = 'RideCompleted' THEN occurred_at END) AS completed_at,
    max(CASE WHEN event_type = 'RideCancelled' THEN occurred_at END) AS cancelled_at,
    max(CASE WHEN event_type = 'RideCancelled' THEN payload->>'cancelled_by' END) AS cancelled_by,
    max(CASE WHEN event_type = 'FareCalculated' THEN (payload->>'amount')::numeric END) AS fare_amount,
    max(CASE WHEN event_type = 'FareCalculated' THEN payload->>'currency' END) AS fare_currency,
    max(CASE WHEN event_type = 'PaymentCaptured' THEN (payload->>'amount')::numeric END) AS paid_amount,
    max(CASE WHEN event_type = 'RideCompleted' THEN (payload->>'distance_km')::numeric END) AS distance_km,
    max(CASE WHEN event_type = 'TripRated' AND payload->>'rated_by' = 'rider' THEN (payload->>'rating')::integer END) AS rider_rating,
    max(CASE WHEN event_type = 'TripRated' AND payload->>'rated_by' = 'driver' THEN (payload->>'rating')::integer END) AS driver_rating,
    max(occurred_at) AS updated_at,
    count(*) AS event_count
  FROM outbox
  WHERE aggregate_type = 'Ride'
  GROUP BY aggregate_id
)
SELECT
  trip_id,
  rider_id,
  driver_id,
  CASE
    WHEN cancelled_at IS NOT NULL THEN 'CANCELLED'
    WHEN completed_at IS NOT NULL THEN 'COMPLETED'
    WHEN started_at IS NOT NULL THEN 'IN_PROGRESS'
    WHEN assigned_at IS NOT NULL THEN 'ASSIGNED'
    ELSE 'REQUESTED'
  END AS status,
  pickup_lat,
  pickup_lng,
  dropoff_lat,
  dropoff_lng,
  requested_at,
  assigned_at,
  started_at,
  completed_at,
  cancelled_at,
  cancelled_by,
  fare_amount,
  fare_currency,
  paid_amount,
  distance_km,
  rider_rating,
  driver_rating,
  updated_at,
  event_count
FROM base
