-- The transactional outbox every service writes in the same transaction as its business rows.
-- Postgres dialect; the embedded engine (PGlite) applies this file too.
-- RisingWave CDC notes ([ID] = a row of the table of RisingWave behaviours in docs/RISINGWAVE.md):
--   [CDC2] id is the event id (UUID text): RisingWave's CDC table declares exactly this primary key;
--        NOT NULL / DEFAULT stay upstream only (RisingWave rejects them on CDC tables).
--   payload JSONB maps to JSONB; occurred_at TIMESTAMPTZ maps to TIMESTAMPTZ.
CREATE TABLE IF NOT EXISTS outbox (
  id             VARCHAR(36)  PRIMARY KEY,
  aggregate_type VARCHAR(64)  NOT NULL,
  aggregate_id   VARCHAR(64)  NOT NULL,
  event_type     VARCHAR(64)  NOT NULL,
  payload        JSONB        NOT NULL,
  occurred_at    TIMESTAMPTZ  NOT NULL DEFAULT now(),
  trace_context  VARCHAR(512)
);
-- The stats views join a ride's events to its RideRequested / DriverAssigned event by aggregate id.
CREATE INDEX IF NOT EXISTS outbox_aggregate_idx ON outbox (aggregate_id, event_type);
