import pg from 'pg';
import { wholeOption } from '../../config/env';
import type { SqlExecutor } from '../../db/types';

/**
 * The one place Wavegate imports `pg` (each third-party library in one place). RisingWave speaks
 * the Postgres wire protocol (https://github.com/risingwavelabs/risingwave/tree/v3.0.3/src/utils/pgwire);
 * the doctor and the test stand-in use the same helpers.
 */

/** OIDs whose values stay raw text so normalizeRow decides their form (exact decimals, ISO times). */
const RAW_TEXT_OIDS: ReadonlySet<number> = new Set([
  20, // int8: counts (JavaScript numbers lose precision beyond 2^53)
  1700, // numeric: exact decimal strings ("12.50")
  1114, // timestamp: the pg default would read it in the gateway's local zone
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
   * Per-statement timeout, in milliseconds, sent as the startup `options`
   * (`-c statement_timeout=<n>ms`, with its unit: a bare number means ms since RisingWave 3.0 and
   * seconds before, https://github.com/risingwavelabs/risingwave/blob/v3.0.3/e2e_test/batch/config.slt).
   * RisingWave reads only `database`, `user`, `options` and `application_name` from the startup
   * message (https://github.com/risingwavelabs/risingwave/blob/v3.0.3/src/utils/pgwire/src/pg_protocol.rs,
   * `process_startup_msg`), so pg's own `statement_timeout` parameter would be ignored; versions
   * before 3.0 ignore `options` too (server.ts refuses them). 0 = none. @default 5_000
   */
  statementTimeoutMs?: number;
  /** Most connections open at once. @default 10 */
  max?: number;
  /** Give up connecting after this many milliseconds. @default 5_000 */
  connectTimeoutMs?: number;
  /** Close a connection idle this long, in milliseconds. @default 30_000 */
  idleTimeoutMs?: number;
  /** `application_name` (RisingWave reads it from the startup message). @default 'wavegate' */
  applicationName?: string;
}

function clientConfig(o: PoolOptions): pg.ClientConfig {
  const timeout = wholeOption('statementTimeoutMs', o.statementTimeoutMs, 5_000);
  return {
    connectionString: o.url,
    types: rawTypes,
    connectionTimeoutMillis: o.connectTimeoutMs ?? 5_000,
    application_name: o.applicationName ?? 'wavegate',
    ...(timeout > 0 ? { options: `-c statement_timeout=${timeout}ms` } : {}),
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
