-- trip_history changed (fixture)

-- ==== migration 7: view:trip_history (checksum adf9db4177d55dae, 8 statements)

-- drop sink trip_history_sink: recreate: an object it reads from is recreated
DROP SINK trip_history_sink;

-- drop index trip_history_by_driver: recreate: an object it reads from is recreated
DROP INDEX trip_history_by_driver;

-- drop index trip_history_by_rider: recreate: an object it reads from is recreated
DROP INDEX trip_history_by_rider;

-- drop materialized view trip_history: recreate: statement changed (a818ecc38d08634a -> dd4381d780ebd272)
DROP MATERIALIZED VIEW trip_history;

-- create materialized view trip_history: recreate
-- schema/trip_history.sql, whole statement (RisingWave accepts the non-recursive CTE [SQL1]).
-- Stream key = GROUP BY columns = trip_id [SQL3], the sink's primary_key below.
CREATE MATERIALIZED VIEW trip_history AS
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
    ELSE 'PENDING'
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
FROM base;

-- create index trip_history_by_rider: recreate
-- GraphQL lookups by rider_id, ordered by requested_at [SQL7]: no INCLUDE, so all columns
-- are stored and the lookup needs no join back; DISTRIBUTED BY the lookup column keeps one key together.
CREATE INDEX trip_history_by_rider ON trip_history (rider_id, requested_at) DISTRIBUTED BY (rider_id);

-- create index trip_history_by_driver: recreate
-- GraphQL lookups by driver_id, ordered by requested_at [SQL7]: no INCLUDE, so all columns
-- are stored and the lookup needs no join back; DISTRIBUTED BY the lookup column keeps one key together.
CREATE INDEX trip_history_by_driver ON trip_history (driver_id, requested_at) DISTRIBUTED BY (driver_id);

-- create sink trip_history_sink: recreate
-- Upsert stream of trip_history on topic view.trip_history.
-- Consumer contract [SINK1] [SINK2]: key = JSON object of the key columns; value = JSON object of all
-- columns, keys in alphabetical order; an update is one message with the new row; a delete is a
-- tombstone (null value). numeric columns arrive as JSON strings ("12.50"); counts as JSON numbers;
-- timestamptz as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (6 digits, UTC).
-- properties.enable.idempotence: a broker retry cannot reorder one key's messages [SINK4];
-- jsonb.handling.mode = dynamic: JSON is embedded, not a string [SINK2]; snapshot (default true): a new
-- sink first emits the current rows [SINK5].
-- primary_key = the stream key: no per-barrier buffering [SINK1].
CREATE SINK trip_history_sink FROM trip_history
WITH (
  connector = 'kafka',
  properties.bootstrap.server = 'kafka:9092',
  topic = 'view.trip_history',
  primary_key = 'trip_id',
  properties.enable.idempotence = 'true'
)
FORMAT UPSERT ENCODE JSON (
  timestamptz.handling.mode = 'utc_string',
  jsonb.handling.mode = 'dynamic'
);
