-- The transactional outbox, MySQL 8 dialect (also runs on MariaDB 10.5+, which the tests use).
-- Same columns as ../postgres/0001_create_outbox.sql; services write it with src/outbox/mysql.ts.
-- RisingWave CDC notes ([ID] = a row of the table of RisingWave behaviours in docs/RISINGWAVE.md):
--   [CDC2] the RisingWave CDC table declares exactly this primary key (id); NOT NULL / DEFAULT stay
--        upstream only (RisingWave rejects them on CDC tables).
--   [CDC3] type mapping: VARCHAR -> VARCHAR, JSON -> JSONB, TIMESTAMP(6) -> TIMESTAMPTZ (a UTC instant,
--        microseconds kept). DATETIME would map to a zone-less TIMESTAMP, so the instant type is used.
--        On MariaDB, JSON is an alias of LONGTEXT with a JSON_VALID check, which RisingWave takes only
--        as VARCHAR: use WAVEGATE_CDC_DIALECT=mariadb there (the CDC table holds text, `outbox` casts it).
--   [CDC5] the server needs log_bin=ON, binlog_format=ROW, binlog_row_image=FULL: `wavegate doctor`
--        (src/doctor/) checks them, and the column types above.
--   [CDC7] do not purge sent rows: upstream DELETEs are replicated and retract the views' rows.
-- MySQL TIMESTAMP covers 1970-01-01 00:00:01 to 2038-01-19 03:14:07 UTC; the writer refuses
-- occurredAt outside that range.
CREATE TABLE IF NOT EXISTS outbox (
  id             VARCHAR(36)  NOT NULL,
  aggregate_type VARCHAR(64)  NOT NULL,
  aggregate_id   VARCHAR(64)  NOT NULL,
  event_type     VARCHAR(64)  NOT NULL,
  payload        JSON         NOT NULL,
  occurred_at    TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  trace_context  VARCHAR(512) NULL,
  PRIMARY KEY (id),
  -- The stats views join a ride's events to its RideRequested / DriverAssigned event by aggregate id.
  KEY outbox_aggregate_idx (aggregate_id, event_type)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
