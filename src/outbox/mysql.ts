import mysql from 'mysql2/promise';
import { GatewayError, GatewayErrorCode } from '../errors';
import type { OutboxEvent } from './events';
import { createOutboxWriter, type OutboxWriter, type WrittenEvent } from './writer';

/**
 * What the MySQL writer needs from the caller's transaction: a mysql2/promise `Connection` or
 * `PoolConnection` on which the caller ran `beginTransaction()` (or `START TRANSACTION`).
 */
export interface MysqlExecutor {
  execute(sql: string, values: unknown[]): Promise<unknown>;
}

// occurred_at: FROM_UNIXTIME turns the epoch seconds into the session time zone and the TIMESTAMP
// column turns that back into UTC, so any session zone stores the right instant, except within the
// hour a DST zone repeats when clocks go back (use UTC sessions: createMysqlPool does).
// CONVERT_TZ was avoided because it returns NULL for named zones when the zone tables are not loaded.
const INSERT = `INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, occurred_at, trace_context)
VALUES (?, ?, ?, ?, ?, IFNULL(FROM_UNIXTIME(CAST(? AS DECIMAL(20,6))), CURRENT_TIMESTAMP(6)), ?)`;

/** MySQL TIMESTAMP range (UTC), in ms since the epoch. */
const TIMESTAMP_MIN_MS = Date.UTC(1970, 0, 1, 0, 0, 1);
const TIMESTAMP_MAX_MS = Date.UTC(2038, 0, 19, 3, 14, 7);

/** The MySQL-only rule on top of validateEvent: occurredAt must fit a TIMESTAMP column. */
function checkTimestampRange(event: OutboxEvent): void {
  const at = event.occurredAt?.getTime();
  if (at !== undefined && (at < TIMESTAMP_MIN_MS || at > TIMESTAMP_MAX_MS)) {
    throw new GatewayError(GatewayErrorCode.BAD_OUTBOX_PAYLOAD,
      'occurredAt must be between 1970-01-01T00:00:01Z and 2038-01-19T03:14:07Z (MySQL TIMESTAMP range)',
      { details: { path: 'occurredAt' } });
  }
}

/** Epoch seconds with millisecond decimals, as text (exact: no float rounding on the way). */
function epochSeconds(d: Date): string {
  const ms = d.getTime();
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  return `${sign}${Math.floor(abs / 1000)}.${String(abs % 1000).padStart(3, '0')}`;
}

/** The MySQL (and MariaDB) outbox writer: the same contract as writer.ts's Postgres one. */
export const mysqlOutbox: OutboxWriter<MysqlExecutor> = createOutboxWriter<MysqlExecutor>({
  check: checkTimestampRange,
  insert: (tx, r) => tx.execute(INSERT, [r.id, r.aggregateType, r.aggregateId, r.eventType, r.payload,
    r.occurredAt === undefined ? null : epochSeconds(r.occurredAt), r.traceContext]),
});

/** {@link OutboxWriter.writeEvent} on MySQL ({@link mysqlOutbox}). */
export function writeEvent(tx: MysqlExecutor, event: OutboxEvent): Promise<WrittenEvent> {
  return mysqlOutbox.writeEvent(tx, event);
}

/** {@link OutboxWriter.writeEvents} on MySQL ({@link mysqlOutbox}). */
export function writeEvents(tx: MysqlExecutor, events: readonly OutboxEvent[]): Promise<WrittenEvent[]> {
  return mysqlOutbox.writeEvents(tx, events);
}

/** Options for {@link createMysqlPool}. */
/**
 * Runs `fn` in a transaction on a connection of `pool`: commit when it resolves, rollback (and
 * rethrow) when it throws; the connection goes back to the pool either way (mysql2's pool drops
 * one the server closed: test/integration/mysql-outbox.test.ts kills one mid-transaction).
 */
export async function inTransaction<T>(pool: mysql.Pool, fn: (conn: mysql.PoolConnection) => Promise<T>): Promise<T> {
  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    const out = await fn(conn);
    await conn.commit();
    return out;
  } catch (err) {
    await conn.rollback().catch(() => undefined);
    throw err;
  } finally {
    conn.release();
  }
}

export interface MysqlPoolOptions {
  /** `mysql://user:password@host:port/database`. */
  url: string;
  /** Connections in the pool. @default 5 */
  connectionLimit?: number;
  /** Connect timeout, in milliseconds. @default 5_000 */
  connectTimeoutMs?: number;
}

/**
 * A mysql2 pool whose sessions run in UTC (`time_zone = '+00:00'`, set on every new connection),
 * so TIMESTAMP values are written and read as UTC instants. The only mysql2 importer besides the
 * writer's types; the doctor uses it too.
 */
export function createMysqlPool(options: MysqlPoolOptions): mysql.Pool {
  const pool = mysql.createPool({
    uri: options.url,
    connectionLimit: options.connectionLimit ?? 5,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    timezone: 'Z',
    dateStrings: false,
  });
  // The underlying callback pool emits 'connection' once per new connection, before it is handed out;
  // commands on one connection run in order, so this SET precedes the caller's first statement.
  pool.pool.on('connection', (conn) => {
    // A failure here surfaces on the caller's first statement on this (broken) connection.
    conn.query("SET time_zone = '+00:00'", () => undefined);
  });
  return pool;
}

/** Opens one mysql2 connection (UTC session). For the doctor and tests; services should use a pool. */
export async function openMysqlConnection(options: MysqlPoolOptions): Promise<mysql.Connection> {
  const conn = await mysql.createConnection({
    uri: options.url,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    timezone: 'Z',
  });
  await conn.query("SET time_zone = '+00:00'");
  return conn;
}
