/**
 * The consumer's table in each service's database (MySQL 8 / MariaDB 10.5+), next to the outbox
 * (migrations/source/mysql/0001_create_outbox.sql). Kept as code, not a file under src/, because the
 * runtime image ships dist/ and migrations/ only (Dockerfile).
 *
 * `processed_events` holds one row per event a service handled, written in the handler's
 * transaction: the primary key makes a redelivered event a no-op (docs/CONSUMERS.md, "Exactly one
 * effect per event"). RisingWave does not read it: it is not part of the CDC source, and rows may
 * be pruned.
 */
import type { Pool } from 'mysql2/promise';

/** File-style name of the migration, for migration tools that record what ran. */
export const PROCESSED_EVENTS_MIGRATION = '0001_create_processed_events';

/**
 * `event_id` = the outbox row id (a UUID; up to 64 id characters are accepted). `processed_at` in
 * UTC (TIMESTAMP, like the outbox), indexed for {@link pruneProcessedEvents}.
 */
export const PROCESSED_EVENTS_DDL = `CREATE TABLE IF NOT EXISTS processed_events (
  event_id     VARCHAR(64)  NOT NULL,
  event_type   VARCHAR(64)  NOT NULL,
  processed_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (event_id),
  KEY processed_events_at_idx (processed_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`;

/** Creates `processed_events` when it does not exist (idempotent). */
export async function migrateProcessedEvents(db: Pick<Pool, 'query'>): Promise<void> {
  await db.query(PROCESSED_EVENTS_DDL);
}

/**
 * Deletes up to `limit` records older than `before`. Only safe for events Kafka can no longer
 * redeliver: keep them longer than the event topics' retention plus the longest consumer lag.
 * Returns the number deleted; call again while it equals `limit`.
 */
export async function pruneProcessedEvents(db: Pick<Pool, 'execute'>, before: Date, limit = 10_000): Promise<number> {
  const [result] = await db.execute('DELETE FROM processed_events WHERE processed_at < ? ORDER BY processed_at LIMIT ?', [before, String(limit)]);
  return (result as { affectedRows: number }).affectedRows;
}
