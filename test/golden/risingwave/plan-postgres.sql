-- wavegate migrate plan: from scratch (no database consulted)
-- source: postgres-cdc postgres:5432, database rides, schema public, user rw_cdc; sinks: Kafka kafka:9092
-- Run by hand with: psql -h <risingwave> -p 4566 -d dev -U root -v cdc_password=... -f <this file>
-- Notes cite RisingWave behaviours as [ID]: rows of the table in docs/RISINGWAVE.md, each with its source file at v3.0.3.

-- ==== migration 1: base (checksum 6880ec88bac8c0e7, 2 statements)

-- create source outbox_cdc: new
-- Shared postgres-cdc source [CDC1]: one per upstream server; tables attach with CREATE TABLE ... FROM.
-- Shared sources default to transactional = true: an upstream transaction (business row + its
-- events) is applied atomically, up to 4096 rows [CDC4]. Upstream prerequisites [CDC5] are checked
-- by `wavegate doctor`.
-- Slot and publication names are fixed (not the rw_cdc_<uuid> defaults) so a DBA can see them [CDC1].
CREATE SOURCE outbox_cdc WITH (
  connector = 'postgres-cdc',
  hostname = 'postgres',
  port = '5432',
  username = 'rw_cdc',
  password = :'cdc_password',
  database.name = 'rides',
  schema.name = 'public',
  slot.name = 'wavegate_outbox',
  publication.name = 'wavegate_outbox',
  publication.create.enable = 'true'
);

-- create table outbox: new
-- CDC table over Postgres public.outbox, columns generated from migrations/source/postgres/ [CDC3]:
-- JSONB -> JSONB, TIMESTAMPTZ -> TIMESTAMPTZ. Exactly the upstream primary key; no NOT NULL or DEFAULT [CDC2].
-- Do not purge sent outbox rows upstream: DELETEs replicate and retract every view row built from them
-- [CDC7]. The event sinks below drop deletes (force_append_only), the view sinks do not.
-- Payload JSON is read with ->> and then cast (e.g. (payload->>'amount')::numeric): RisingWave casts
-- JSON numbers through f64, so money travels as JSON strings [SQL4]. Cast errors become NULLs, not failures.
CREATE TABLE outbox (
  id VARCHAR,
  aggregate_type VARCHAR,
  aggregate_id VARCHAR,
  event_type VARCHAR,
  payload JSONB,
  occurred_at TIMESTAMPTZ,
  trace_context VARCHAR,
  PRIMARY KEY (id)
) FROM outbox_cdc TABLE 'public.outbox';

-- ==== migration 2: view:driver_earnings_daily (checksum f7a6d6fcb5928661, 3 statements)

-- create materialized view driver_earnings_daily: new
-- schema/driver_earnings_daily.sql, whole statement (RisingWave accepts the non-recursive CTE [SQL1]).
-- Stream key = GROUP BY columns = driver_id, day [SQL3], the sink's primary_key below.
CREATE MATERIALIZED VIEW driver_earnings_daily AS
WITH base AS (
  SELECT
    a.payload->>'driver_id' AS driver_id,
    (e.occurred_at AT TIME ZONE 'UTC')::date AS day,
    sum(CASE WHEN e.event_type = 'RideCompleted' THEN 1 ELSE 0 END) AS trips,
    sum(CASE WHEN e.event_type = 'PaymentCaptured' THEN (e.payload->>'amount')::numeric ELSE 0 END) AS gross_fares,
    sum(CASE WHEN e.event_type = 'TripRated' THEN (e.payload->>'rating')::numeric ELSE 0 END) AS rating_sum,
    sum(CASE WHEN e.event_type = 'TripRated' THEN 1 ELSE 0 END) AS ratings
  FROM outbox a
  JOIN outbox e ON e.aggregate_id = a.aggregate_id
  WHERE a.aggregate_type = 'Ride' AND a.event_type = 'DriverAssigned' AND e.aggregate_type = 'Ride'
    AND (e.event_type IN ('RideCompleted', 'PaymentCaptured')
         OR (e.event_type = 'TripRated' AND e.payload->>'rated_by' = 'rider'))
  GROUP BY a.payload->>'driver_id', (e.occurred_at AT TIME ZONE 'UTC')::date
)
SELECT
  driver_id,
  day,
  trips,
  gross_fares,
  CASE WHEN ratings > 0 THEN round(rating_sum / ratings, 2) END AS avg_rating,
  ratings
FROM base;

-- create index driver_earnings_daily_by_driver: new
-- GraphQL lookups by driver_id, ordered by day [SQL7]: no INCLUDE, so all columns
-- are stored and the lookup needs no join back; DISTRIBUTED BY the lookup column keeps one key together.
CREATE INDEX driver_earnings_daily_by_driver ON driver_earnings_daily (driver_id, day) DISTRIBUTED BY (driver_id);

-- create sink driver_earnings_daily_sink: new
-- Upsert stream of driver_earnings_daily on topic view.driver_earnings_daily.
-- Consumer contract [SINK1] [SINK2]: key = JSON object of the key columns; value = JSON object of all
-- columns, keys in alphabetical order; an update is one message with the new row; a delete is a
-- tombstone (null value). numeric columns arrive as JSON strings ("12.50"); counts as JSON numbers;
-- timestamptz as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (6 digits, UTC).
-- date columns (day) arrive as INTEGER days with 0001-01-01 = 1, in the key too:
-- subtract 719163 for days since 1970-01-01 (2026-10-05 -> 739894).
-- properties.enable.idempotence: a broker retry cannot reorder one key's messages [SINK4];
-- jsonb.handling.mode = dynamic: JSON is embedded, not a string [SINK2]; snapshot (default true): a new
-- sink first emits the current rows [SINK5].
-- primary_key = the stream key: no per-barrier buffering [SINK1].
CREATE SINK driver_earnings_daily_sink FROM driver_earnings_daily
WITH (
  connector = 'kafka',
  properties.bootstrap.server = 'kafka:9092',
  topic = 'view.driver_earnings_daily',
  primary_key = 'driver_id,day',
  properties.enable.idempotence = 'true'
)
FORMAT UPSERT ENCODE JSON (
  timestamptz.handling.mode = 'utc_string',
  jsonb.handling.mode = 'dynamic'
);

-- ==== migration 3: view:driver_stats (checksum 32bf74daabeca719, 2 statements)

-- create materialized view driver_stats: new
-- schema/driver_stats.sql, whole statement (RisingWave accepts the non-recursive CTE [SQL1]).
-- Stream key = GROUP BY columns = driver_id [SQL3], the sink's primary_key below.
CREATE MATERIALIZED VIEW driver_stats AS
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
FROM base;

-- create sink driver_stats_sink: new
-- Upsert stream of driver_stats on topic view.driver_stats.
-- Consumer contract [SINK1] [SINK2]: key = JSON object of the key columns; value = JSON object of all
-- columns, keys in alphabetical order; an update is one message with the new row; a delete is a
-- tombstone (null value). numeric columns arrive as JSON strings ("12.50"); counts as JSON numbers;
-- timestamptz as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (6 digits, UTC).
-- properties.enable.idempotence: a broker retry cannot reorder one key's messages [SINK4];
-- jsonb.handling.mode = dynamic: JSON is embedded, not a string [SINK2]; snapshot (default true): a new
-- sink first emits the current rows [SINK5].
-- primary_key = the stream key: no per-barrier buffering [SINK1].
CREATE SINK driver_stats_sink FROM driver_stats
WITH (
  connector = 'kafka',
  properties.bootstrap.server = 'kafka:9092',
  topic = 'view.driver_stats',
  primary_key = 'driver_id',
  properties.enable.idempotence = 'true'
)
FORMAT UPSERT ENCODE JSON (
  timestamptz.handling.mode = 'utc_string',
  jsonb.handling.mode = 'dynamic'
);

-- ==== migration 4: view:rider_stats (checksum cf3fa0ac1cd268f6, 2 statements)

-- create materialized view rider_stats: new
-- schema/rider_stats.sql, whole statement (RisingWave accepts the non-recursive CTE [SQL1]).
-- Stream key = GROUP BY columns = rider_id [SQL3], the sink's primary_key below.
CREATE MATERIALIZED VIEW rider_stats AS
WITH base AS (
  SELECT
    r.payload->>'rider_id' AS rider_id,
    sum(CASE WHEN e.event_type = 'RideRequested' THEN 1 ELSE 0 END) AS trips,
    sum(CASE WHEN e.event_type = 'RideCompleted' THEN 1 ELSE 0 END) AS completed_trips,
    sum(CASE WHEN e.event_type = 'RideCancelled' THEN 1 ELSE 0 END) AS cancelled_trips,
    sum(CASE WHEN e.event_type = 'PaymentCaptured' THEN (e.payload->>'amount')::numeric ELSE 0 END) AS total_spent,
    sum(CASE WHEN e.event_type = 'TripRated' AND e.payload->>'rated_by' = 'rider' THEN (e.payload->>'rating')::numeric ELSE 0 END) AS rating_sum,
    sum(CASE WHEN e.event_type = 'TripRated' AND e.payload->>'rated_by' = 'rider' THEN 1 ELSE 0 END) AS ratings_given,
    max(e.occurred_at) AS updated_at
  FROM outbox r
  JOIN outbox e ON e.aggregate_id = r.aggregate_id
  WHERE r.aggregate_type = 'Ride' AND r.event_type = 'RideRequested' AND e.aggregate_type = 'Ride'
  GROUP BY r.payload->>'rider_id'
)
SELECT
  rider_id,
  trips,
  completed_trips,
  cancelled_trips,
  total_spent,
  CASE WHEN ratings_given > 0 THEN round(rating_sum / ratings_given, 2) END AS avg_rating_given,
  ratings_given,
  updated_at
FROM base;

-- create sink rider_stats_sink: new
-- Upsert stream of rider_stats on topic view.rider_stats.
-- Consumer contract [SINK1] [SINK2]: key = JSON object of the key columns; value = JSON object of all
-- columns, keys in alphabetical order; an update is one message with the new row; a delete is a
-- tombstone (null value). numeric columns arrive as JSON strings ("12.50"); counts as JSON numbers;
-- timestamptz as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (6 digits, UTC).
-- properties.enable.idempotence: a broker retry cannot reorder one key's messages [SINK4];
-- jsonb.handling.mode = dynamic: JSON is embedded, not a string [SINK2]; snapshot (default true): a new
-- sink first emits the current rows [SINK5].
-- primary_key = the stream key: no per-barrier buffering [SINK1].
CREATE SINK rider_stats_sink FROM rider_stats
WITH (
  connector = 'kafka',
  properties.bootstrap.server = 'kafka:9092',
  topic = 'view.rider_stats',
  primary_key = 'rider_id',
  properties.enable.idempotence = 'true'
)
FORMAT UPSERT ENCODE JSON (
  timestamptz.handling.mode = 'utc_string',
  jsonb.handling.mode = 'dynamic'
);

-- ==== migration 5: view:trip_history (checksum 365d3396472ffe36, 4 statements)

-- create materialized view trip_history: new
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
FROM base;

-- create index trip_history_by_rider: new
-- GraphQL lookups by rider_id, ordered by requested_at [SQL7]: no INCLUDE, so all columns
-- are stored and the lookup needs no join back; DISTRIBUTED BY the lookup column keeps one key together.
CREATE INDEX trip_history_by_rider ON trip_history (rider_id, requested_at) DISTRIBUTED BY (rider_id);

-- create index trip_history_by_driver: new
-- GraphQL lookups by driver_id, ordered by requested_at [SQL7]: no INCLUDE, so all columns
-- are stored and the lookup needs no join back; DISTRIBUTED BY the lookup column keeps one key together.
CREATE INDEX trip_history_by_driver ON trip_history (driver_id, requested_at) DISTRIBUTED BY (driver_id);

-- create sink trip_history_sink: new
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

-- ==== migration 6: event_sinks (checksum 6a9a35ecdfafe20b, 8 statements)

-- create sink events_ride_requested: new
-- RideRequested events on topic events.RideRequested: value = the outbox row as JSON (payload embedded,
-- occurred_at as "...Z" text), key = the ride id (aggregate_id: one ride, one partition, in order, [SINK4]).
-- At-least-once: consumers de-duplicate by the event id in the value [SINK5].
-- force_append_only: the outbox is a CDC table, never append-only [SINK3]; updates become new messages,
-- deletes (an outbox purge) emit nothing [CDC7].
-- properties.enable.idempotence: a broker retry cannot reorder one key's messages [SINK4];
-- jsonb.handling.mode = dynamic: JSON is embedded, not a string [SINK2]; snapshot (default true): a new
-- sink first emits the current rows [SINK5].
CREATE SINK events_ride_requested AS
SELECT id, aggregate_type, aggregate_id, event_type, payload, occurred_at, trace_context
FROM outbox WHERE event_type = 'RideRequested'
WITH (
  connector = 'kafka',
  properties.bootstrap.server = 'kafka:9092',
  topic = 'events.RideRequested',
  primary_key = 'aggregate_id',
  properties.enable.idempotence = 'true'
)
FORMAT PLAIN ENCODE JSON (
  force_append_only = 'true',
  timestamptz.handling.mode = 'utc_string',
  jsonb.handling.mode = 'dynamic'
) KEY ENCODE TEXT;

-- create sink events_driver_assigned: new
-- DriverAssigned events on topic events.DriverAssigned: value = the outbox row as JSON (payload embedded,
-- occurred_at as "...Z" text), key = the ride id (aggregate_id: one ride, one partition, in order, [SINK4]).
-- At-least-once: consumers de-duplicate by the event id in the value [SINK5].
-- force_append_only: the outbox is a CDC table, never append-only [SINK3]; updates become new messages,
-- deletes (an outbox purge) emit nothing [CDC7].
-- properties.enable.idempotence: a broker retry cannot reorder one key's messages [SINK4];
-- jsonb.handling.mode = dynamic: JSON is embedded, not a string [SINK2]; snapshot (default true): a new
-- sink first emits the current rows [SINK5].
CREATE SINK events_driver_assigned AS
SELECT id, aggregate_type, aggregate_id, event_type, payload, occurred_at, trace_context
FROM outbox WHERE event_type = 'DriverAssigned'
WITH (
  connector = 'kafka',
  properties.bootstrap.server = 'kafka:9092',
  topic = 'events.DriverAssigned',
  primary_key = 'aggregate_id',
  properties.enable.idempotence = 'true'
)
FORMAT PLAIN ENCODE JSON (
  force_append_only = 'true',
  timestamptz.handling.mode = 'utc_string',
  jsonb.handling.mode = 'dynamic'
) KEY ENCODE TEXT;

-- create sink events_fare_calculated: new
-- FareCalculated events on topic events.FareCalculated: value = the outbox row as JSON (payload embedded,
-- occurred_at as "...Z" text), key = the ride id (aggregate_id: one ride, one partition, in order, [SINK4]).
-- At-least-once: consumers de-duplicate by the event id in the value [SINK5].
-- force_append_only: the outbox is a CDC table, never append-only [SINK3]; updates become new messages,
-- deletes (an outbox purge) emit nothing [CDC7].
-- properties.enable.idempotence: a broker retry cannot reorder one key's messages [SINK4];
-- jsonb.handling.mode = dynamic: JSON is embedded, not a string [SINK2]; snapshot (default true): a new
-- sink first emits the current rows [SINK5].
CREATE SINK events_fare_calculated AS
SELECT id, aggregate_type, aggregate_id, event_type, payload, occurred_at, trace_context
FROM outbox WHERE event_type = 'FareCalculated'
WITH (
  connector = 'kafka',
  properties.bootstrap.server = 'kafka:9092',
  topic = 'events.FareCalculated',
  primary_key = 'aggregate_id',
  properties.enable.idempotence = 'true'
)
FORMAT PLAIN ENCODE JSON (
  force_append_only = 'true',
  timestamptz.handling.mode = 'utc_string',
  jsonb.handling.mode = 'dynamic'
) KEY ENCODE TEXT;

-- create sink events_ride_started: new
-- RideStarted events on topic events.RideStarted: value = the outbox row as JSON (payload embedded,
-- occurred_at as "...Z" text), key = the ride id (aggregate_id: one ride, one partition, in order, [SINK4]).
-- At-least-once: consumers de-duplicate by the event id in the value [SINK5].
-- force_append_only: the outbox is a CDC table, never append-only [SINK3]; updates become new messages,
-- deletes (an outbox purge) emit nothing [CDC7].
-- properties.enable.idempotence: a broker retry cannot reorder one key's messages [SINK4];
-- jsonb.handling.mode = dynamic: JSON is embedded, not a string [SINK2]; snapshot (default true): a new
-- sink first emits the current rows [SINK5].
CREATE SINK events_ride_started AS
SELECT id, aggregate_type, aggregate_id, event_type, payload, occurred_at, trace_context
FROM outbox WHERE event_type = 'RideStarted'
WITH (
  connector = 'kafka',
  properties.bootstrap.server = 'kafka:9092',
  topic = 'events.RideStarted',
  primary_key = 'aggregate_id',
  properties.enable.idempotence = 'true'
)
FORMAT PLAIN ENCODE JSON (
  force_append_only = 'true',
  timestamptz.handling.mode = 'utc_string',
  jsonb.handling.mode = 'dynamic'
) KEY ENCODE TEXT;

-- create sink events_ride_completed: new
-- RideCompleted events on topic events.RideCompleted: value = the outbox row as JSON (payload embedded,
-- occurred_at as "...Z" text), key = the ride id (aggregate_id: one ride, one partition, in order, [SINK4]).
-- At-least-once: consumers de-duplicate by the event id in the value [SINK5].
-- force_append_only: the outbox is a CDC table, never append-only [SINK3]; updates become new messages,
-- deletes (an outbox purge) emit nothing [CDC7].
-- properties.enable.idempotence: a broker retry cannot reorder one key's messages [SINK4];
-- jsonb.handling.mode = dynamic: JSON is embedded, not a string [SINK2]; snapshot (default true): a new
-- sink first emits the current rows [SINK5].
CREATE SINK events_ride_completed AS
SELECT id, aggregate_type, aggregate_id, event_type, payload, occurred_at, trace_context
FROM outbox WHERE event_type = 'RideCompleted'
WITH (
  connector = 'kafka',
  properties.bootstrap.server = 'kafka:9092',
  topic = 'events.RideCompleted',
  primary_key = 'aggregate_id',
  properties.enable.idempotence = 'true'
)
FORMAT PLAIN ENCODE JSON (
  force_append_only = 'true',
  timestamptz.handling.mode = 'utc_string',
  jsonb.handling.mode = 'dynamic'
) KEY ENCODE TEXT;

-- create sink events_ride_cancelled: new
-- RideCancelled events on topic events.RideCancelled: value = the outbox row as JSON (payload embedded,
-- occurred_at as "...Z" text), key = the ride id (aggregate_id: one ride, one partition, in order, [SINK4]).
-- At-least-once: consumers de-duplicate by the event id in the value [SINK5].
-- force_append_only: the outbox is a CDC table, never append-only [SINK3]; updates become new messages,
-- deletes (an outbox purge) emit nothing [CDC7].
-- properties.enable.idempotence: a broker retry cannot reorder one key's messages [SINK4];
-- jsonb.handling.mode = dynamic: JSON is embedded, not a string [SINK2]; snapshot (default true): a new
-- sink first emits the current rows [SINK5].
CREATE SINK events_ride_cancelled AS
SELECT id, aggregate_type, aggregate_id, event_type, payload, occurred_at, trace_context
FROM outbox WHERE event_type = 'RideCancelled'
WITH (
  connector = 'kafka',
  properties.bootstrap.server = 'kafka:9092',
  topic = 'events.RideCancelled',
  primary_key = 'aggregate_id',
  properties.enable.idempotence = 'true'
)
FORMAT PLAIN ENCODE JSON (
  force_append_only = 'true',
  timestamptz.handling.mode = 'utc_string',
  jsonb.handling.mode = 'dynamic'
) KEY ENCODE TEXT;

-- create sink events_payment_captured: new
-- PaymentCaptured events on topic events.PaymentCaptured: value = the outbox row as JSON (payload embedded,
-- occurred_at as "...Z" text), key = the ride id (aggregate_id: one ride, one partition, in order, [SINK4]).
-- At-least-once: consumers de-duplicate by the event id in the value [SINK5].
-- force_append_only: the outbox is a CDC table, never append-only [SINK3]; updates become new messages,
-- deletes (an outbox purge) emit nothing [CDC7].
-- properties.enable.idempotence: a broker retry cannot reorder one key's messages [SINK4];
-- jsonb.handling.mode = dynamic: JSON is embedded, not a string [SINK2]; snapshot (default true): a new
-- sink first emits the current rows [SINK5].
CREATE SINK events_payment_captured AS
SELECT id, aggregate_type, aggregate_id, event_type, payload, occurred_at, trace_context
FROM outbox WHERE event_type = 'PaymentCaptured'
WITH (
  connector = 'kafka',
  properties.bootstrap.server = 'kafka:9092',
  topic = 'events.PaymentCaptured',
  primary_key = 'aggregate_id',
  properties.enable.idempotence = 'true'
)
FORMAT PLAIN ENCODE JSON (
  force_append_only = 'true',
  timestamptz.handling.mode = 'utc_string',
  jsonb.handling.mode = 'dynamic'
) KEY ENCODE TEXT;

-- create sink events_trip_rated: new
-- TripRated events on topic events.TripRated: value = the outbox row as JSON (payload embedded,
-- occurred_at as "...Z" text), key = the ride id (aggregate_id: one ride, one partition, in order, [SINK4]).
-- At-least-once: consumers de-duplicate by the event id in the value [SINK5].
-- force_append_only: the outbox is a CDC table, never append-only [SINK3]; updates become new messages,
-- deletes (an outbox purge) emit nothing [CDC7].
-- properties.enable.idempotence: a broker retry cannot reorder one key's messages [SINK4];
-- jsonb.handling.mode = dynamic: JSON is embedded, not a string [SINK2]; snapshot (default true): a new
-- sink first emits the current rows [SINK5].
CREATE SINK events_trip_rated AS
SELECT id, aggregate_type, aggregate_id, event_type, payload, occurred_at, trace_context
FROM outbox WHERE event_type = 'TripRated'
WITH (
  connector = 'kafka',
  properties.bootstrap.server = 'kafka:9092',
  topic = 'events.TripRated',
  primary_key = 'aggregate_id',
  properties.enable.idempotence = 'true'
)
FORMAT PLAIN ENCODE JSON (
  force_append_only = 'true',
  timestamptz.handling.mode = 'utc_string',
  jsonb.handling.mode = 'dynamic'
) KEY ENCODE TEXT;
