-- wavegate migrate plan: from scratch (no database consulted)
-- source: mysql-cdc mysql:3306, database ride, driver, payment, notification, user rw_cdc; sinks: Kafka kafka:9092
-- Run by hand with: psql -h <risingwave> -p 4566 -d dev -U root -v cdc_password=... -f <this file>
-- Notes cite RisingWave behaviours as [ID]: rows of the table in docs/RISINGWAVE.md, each with its source file at v3.0.3.

-- ==== migration 1: base (checksum b2267ef88e6f272f, 6 statements)

-- create source outbox_cdc: new
-- Shared mysql-cdc source [CDC1]: one per upstream server; tables attach with CREATE TABLE ... FROM.
-- Shared sources default to transactional = true: an upstream transaction (business row + its
-- events) is applied atomically, up to 4096 rows [CDC4]. Upstream prerequisites [CDC5] are checked
-- by `wavegate doctor`.
-- server.id must be unique among all replication clients of that server [CDC1].
CREATE SOURCE outbox_cdc WITH (
  connector = 'mysql-cdc',
  hostname = 'mysql',
  port = '3306',
  username = 'rw_cdc',
  password = :'cdc_password',
  database.name = 'ride,driver,payment,notification',
  server.id = '5701'
);

-- create table outbox_ride: new
-- CDC table over MySQL ride.outbox, columns generated from migrations/source/mysql/ [CDC3]:
-- JSON -> JSONB, TIMESTAMP(6) -> TIMESTAMPTZ. Exactly the upstream primary key; no NOT NULL or DEFAULT [CDC2].
-- Do not purge sent outbox rows upstream: DELETEs replicate and retract every view row built from them
-- [CDC7]. The event sinks below drop deletes (force_append_only), the view sinks do not.
-- Payload JSON is read with ->> and then cast (e.g. (payload->>'amount')::numeric): RisingWave casts
-- JSON numbers through f64, so money travels as JSON strings [SQL4]. Cast errors become NULLs, not failures.
CREATE TABLE outbox_ride (
  id VARCHAR,
  aggregate_type VARCHAR,
  aggregate_id VARCHAR,
  event_type VARCHAR,
  payload JSONB,
  occurred_at TIMESTAMPTZ,
  trace_context VARCHAR,
  PRIMARY KEY (id)
) FROM outbox_cdc TABLE 'ride.outbox';

-- create table outbox_driver: new
-- CDC table over MySQL driver.outbox: the same columns and rules as outbox_ride.
CREATE TABLE outbox_driver (
  id VARCHAR,
  aggregate_type VARCHAR,
  aggregate_id VARCHAR,
  event_type VARCHAR,
  payload JSONB,
  occurred_at TIMESTAMPTZ,
  trace_context VARCHAR,
  PRIMARY KEY (id)
) FROM outbox_cdc TABLE 'driver.outbox';

-- create table outbox_payment: new
-- CDC table over MySQL payment.outbox: the same columns and rules as outbox_ride.
CREATE TABLE outbox_payment (
  id VARCHAR,
  aggregate_type VARCHAR,
  aggregate_id VARCHAR,
  event_type VARCHAR,
  payload JSONB,
  occurred_at TIMESTAMPTZ,
  trace_context VARCHAR,
  PRIMARY KEY (id)
) FROM outbox_cdc TABLE 'payment.outbox';

-- create table outbox_notification: new
-- CDC table over MySQL notification.outbox: the same columns and rules as outbox_ride.
CREATE TABLE outbox_notification (
  id VARCHAR,
  aggregate_type VARCHAR,
  aggregate_id VARCHAR,
  event_type VARCHAR,
  payload JSONB,
  occurred_at TIMESTAMPTZ,
  trace_context VARCHAR,
  PRIMARY KEY (id)
) FROM outbox_cdc TABLE 'notification.outbox';

-- create materialized view outbox: new
-- Every service's outbox in one relation: ride.outbox, driver.outbox, payment.outbox, notification.outbox. UNION ALL is streaming SQL;
-- event ids are UUIDs, unique across services. The stream key is each branch's primary key plus a hidden
-- $src branch column [SQL2]; hidden columns reach no sink [SQL3]. A database added later changes this base
-- object: migrate refuses it as drift (recreating it would rebuild every view).
CREATE MATERIALIZED VIEW outbox AS
SELECT id, aggregate_type, aggregate_id, event_type, payload, occurred_at, trace_context FROM outbox_ride
UNION ALL
SELECT id, aggregate_type, aggregate_id, event_type, payload, occurred_at, trace_context FROM outbox_driver
UNION ALL
SELECT id, aggregate_type, aggregate_id, event_type, payload, occurred_at, trace_context FROM outbox_payment
UNION ALL
SELECT id, aggregate_type, aggregate_id, event_type, payload, occurred_at, trace_context FROM outbox_notification;

