import pg from 'pg';
import { wholeOption } from '../../config/env';
import type { SqlExecutor } from '../../db/types';

/**
 * The one place Wavegate imports `pg` (STYLE.md: each third-party library in one place). RisingWave
 * speaks the Postgres wire protocol (§2.4); the doctor and the test stand-in use the same helpers.
 */

/** OIDs whose values stay raw text so normalizeRow decides their form (exact decimals, ISO times). */
const RAW_TEXT_OIDS: ReadonlySet<number> = new Set([
  20, // int8: counts, rw_timestamp (§2.4: bigint arrives as text by default too)
  1700, // numeric: exact decimal strings ("12.50")
  1114, // timestamp: the pg default would read it in the gateway's local zone (§2.4)
  1184, // timestamptz
  1082, // date: pg would make a local-midnight Date
  1186, // interval: pg's object prints "30 seconds 19 minutes"; the SQL passthrough sends the engine's text
]);

/**
 * Type parsers for one pool: raw text for {@link RAW_TEXT_OIDS}, pg's defaults otherwise. Passed as
 * the `types` option, so the process-wide `pg.types` registry is never modified.
 */
export const rawTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (RAW_TEXT_OIDS.has(oid) && format !== 'binary') return (v: string) => v;
    return pg.types.getTypeParser(oid, format ?? 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** Options for {@link createPool}. */
export interface PoolOptions {
  /** postgres:// URL of the RisingWave frontend (or a Postgres standing in for it). */
  url: string;
  /**
   * Per-statement timeout, in milliseconds, sent as the startup `options` (`-c statement_timeout=`),
   * the only way RisingWave honours it at connect time (§2.4: pg's `statement_timeout` option is a
   * top-level startup parameter RisingWave ignores). 0 = none. @default 5_000
   */
  statementTimeoutMs?: number;
  /** Most connections open at once. @default 10 */
  max?: number;
  /** Give up connecting after this many milliseconds. @default 5_000 */
  connectTimeoutMs?: number;
  /** Close a connection idle this long, in milliseconds. @default 30_000 */
  idleTimeoutMs?: number;
  /** `application_name` (RisingWave reads it from the startup message, §2.4). @default 'wavegate' */
  applicationName?: string;
}

function clientConfig(o: PoolOptions): pg.ClientConfig {
  const timeout = wholeOption('statementTimeoutMs', o.statementTimeoutMs, 5_000);
  return {
    connectionString: o.url,
    types: rawTypes,
    connectionTimeoutMillis: o.connectTimeoutMs ?? 5_000,
    application_name: o.applicationName ?? 'wavegate',
    ...(timeout > 0 ? { options: `-c statement_timeout=${timeout}` } : {}),
  };
}

/** A pg Pool with {@link rawTypes}, the statement timeout in startup options, and limits. */
export function createPool(o: PoolOptions): pg.Pool {
  return new pg.Pool({ ...clientConfig(o), max: o.max ?? 10, idleTimeoutMillis: o.idleTimeoutMs ?? 30_000 });
}

/** A connected single client (for one-shot commands: migrate, doctor) and its executor. */
export interface OneClient extends SqlExecutor {
  close(): Promise<void>;
}

/** Connects one client with {@link rawTypes}. Errors on connect are thrown as pg reports them. */
export async function connectClient(o: PoolOptions): Promise<OneClient> {
  const client = new pg.Client(clientConfig(o));
  // A broken connection emits 'error' on the client; the next query rejects, which is what callers see.
  client.on('error', () => undefined);
  await client.connect();
  return {
    query: async <R>(sql: string, params: readonly unknown[] = []) => {
      const res = await client.query(sql, params as unknown[]);
      return { rows: res.rows as R[] };
    },
    close: () => client.end().catch(() => undefined),
  };
}

/** An executor over a pool (each query on any free connection). */
export function poolExecutor(pool: pg.Pool): SqlExecutor {
  return {
    query: async <R>(sql: string, params: readonly unknown[] = []) => {
      const res = await pool.query(sql, params as unknown[]);
      return { rows: res.rows as R[] };
    },
  };
}

/** pg internals the cancel path needs: the query a client is running, and Client.cancel. */
interface CancellableClient {
  activeQuery?: unknown;
}
interface Canceller {
  readonly connection: { on(event: 'error', listener: () => void): unknown };
  cancel(client: pg.PoolClient, query: unknown): void;
}

/**
 * Runs one statement on a connection of `pool`; when `signal` aborts while it runs, asks the server
 * to cancel it with the protocol's CancelRequest on a new connection (pg's own Client.cancel, so the
 * pool's host, port and TLS settings apply; PostgreSQL: https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-CANCELING-REQUESTS,
 * RisingWave cancels the session's queries: https://risingwavelabs.github.io/risingwave/rustdoc/risingwave_frontend/session/fn.cancel_queries_in_session.html).
 * The statement then fails with 57014; the caller tells that from a statement timeout by its signal.
 */
export async function queryCancellable<R>(pool: pg.Pool, sql: string, params: readonly unknown[], signal: AbortSignal): Promise<R[]> {
  const client = await pool.connect();
  if (signal.aborted) {
    client.release();
    signal.throwIfAborted();
  }
  const onAbort = () => {
    const active = (client as unknown as CancellableClient).activeQuery;
    if (active === undefined || active === null) return;
    const canceller = new pg.Client(pool.options) as unknown as Canceller;
    // The cancel connection is fire-and-forget: the server answers nothing and closes it.
    canceller.connection.on('error', () => undefined);
    canceller.cancel(client, active);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await client.query(sql, params as unknown[]);
    client.release();
    return res.rows as R[];
  } catch (err) {
    // As pg-pool's own query(): a connection that saw an error is not reused.
    client.release(err instanceof Error ? err : true);
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** SQLSTATE of a pg error, if any. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

const NODE_NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/**
 * Is `err` a transient connection problem worth a retry: refused/reset sockets, a connection the
 * server closed (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, class 08),
 * or pg's own "connection terminated" / connect timeout?
 */
export function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NODE_NET_CODES.has(code)) return true;
  const state = sqlState(err);
  if (state !== undefined) return state.startsWith('08') || state === '57P01' || state === '57P02' || state === '57P03';
  const msg = err instanceof Error ? err.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(msg);
}

/** Did the statement hit the statement timeout (SQLSTATE 57014, query_canceled)? */
export function isStatementTimeout(err: unknown): boolean {
  return sqlState(err) === '57014';
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}
