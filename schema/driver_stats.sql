-- wavegate:view driver_stats
-- wavegate:key driver_id
-- Per driver, lifetime: rides assigned, completed, cancelled, earnings (captured payments), rating
-- received from riders. Ride events are joined to the ride's DriverAssigned event (one per ride:
-- a reassignment is modelled as a new ride).
WITH base AS (
  SELECT
    a.payload->>'driver_id' AS driver_id,
    sum(CASE WHEN e.event_type = 'DriverAssigned' THEN 1 ELSE 0 END) AS trips,
    sum(CASE WHEN e.event_type = 'RideCompleted' THEN 1 ELSE 0 END) AS completed_trips,
    sum(CASE WHEN e.event_type = 'RideCancelled' THEN 1 ELSE 0 END) AS cancelled_trips,
    sum(CASE WHEN e.event_type = 'PaymentCaptured' THEN (e.payload->>'amount')::numeric ELSE 0 END) AS lifetime_earnings,
    sum(CASE WHEN e.event_type = 'TripRated' AND e.payload->>'rated_by' = 'rider' THEN (e.payload->>'rating')::numeric ELSE 0 END) AS rating_sum,
    sum(CASE WHEN e.event_type = 'TripRated' AND e.payload->>'rated_by' = 'rider' THEN 1 ELSE 0 END) AS ratings,
    max(CASE WHEN e.event_type = 'RideCompleted' THEN e.occurred_at END) AS last_trip_at
  FROM outbox a
  JOIN outbox e ON e.aggregate_id = a.aggregate_id
  WHERE a.aggregate_type = 'Ride' AND a.event_type = 'DriverAssigned' AND e.aggregate_type = 'Ride'
  GROUP BY a.payload->>'driver_id'
)
SELECT
  driver_id,
  trips,
  completed_trips,
  cancelled_trips,
  lifetime_earnings,
  CASE WHEN ratings > 0 THEN round(rating_sum / ratings, 2) END AS rating,
  ratings,
  last_trip_at
FROM base
