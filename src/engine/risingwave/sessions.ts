import type pg from 'pg';

/**
 * Which RisingWave session a pooled connection is, so a running statement can be cancelled with
 * `KILL` and a FLUSH can be shared by the reads of one frontend (RisingWave v3.0.3):
 *
 * - The BackendKeyData a session gets at startup is `(id, id)`, a counter per frontend
 *   (https://github.com/risingwavelabs/risingwave/blob/v3.0.3/src/frontend/src/session.rs,
 *   "process_id and secret_key are equal"): node-postgres keeps it as `client.processID`.
 * - `SHOW PROCESSLIST` lists every session of every frontend with the columns `Worker Id`, `Id`
 *   (`<worker>:<pid>`), `User`, `Host` (the client's ip:port as the frontend sees it), `Database`,
 *   `Time`, `Info` (https://github.com/risingwavelabs/risingwave/blob/v3.0.3/src/frontend/src/handler/show.rs,
 *   `ShowProcessListRow`, Title Case). `Info` is the statement re-printed from its parse tree, so
 *   comments never survive (https://github.com/risingwavelabs/risingwave/blob/v3.0.3/src/utils/pgwire/src/pg_protocol.rs,
 *   `redact_sql`); the session running `SHOW PROCESSLIST` shows exactly `SHOW PROCESSLIST`.
 * - `KILL '<worker>:<pid>'` cancels that session's queries on whichever frontend holds it
 *   (https://github.com/risingwavelabs/risingwave/blob/v3.0.3/src/frontend/src/handler/kill_process.rs).
 *
 * Pids repeat across frontends, so the worker id is what makes a session unique. It is learnt once
 * per connection: the connection runs `SHOW PROCESSLIST` and finds its own row (its pid, running
 * `SHOW PROCESSLIST`; the client address settles a tie between frontends).
 */

/** A connection's session on the engine. */
export interface Backend {
  /** BackendKeyData process id. */
  readonly pid: number;
  /** RisingWave frontend worker id; undefined on PostgreSQL, or when it could not be told. */
  readonly worker: string | undefined;
}

/** BackendKeyData process id node-postgres kept for this connection (pg does not type it). */
export function backendPid(client: pg.ClientBase): number | undefined {
  const pid = (client as unknown as { processID?: unknown }).processID;
  return typeof pid === 'number' ? pid : undefined;
}

/** `ip:port` of this end of the connection, as the server sees the client (without NAT). */
function localAddress(client: pg.ClientBase): string | undefined {
  const stream = (client as unknown as { connection?: { stream?: { localAddress?: string; localPort?: number } } }).connection?.stream;
  if (stream?.localAddress === undefined || stream.localPort === undefined) return undefined;
  const host = stream.localAddress.replace(/^::ffff:/, '');
  return `${host.includes(':') ? `[${host}]` : host}:${stream.localPort}`;
}

/** One row of RisingWave's SHOW PROCESSLIST, as pg returns it. */
export interface ProcessListRow {
  readonly 'Worker Id'?: unknown;
  readonly Id?: unknown;
  readonly Host?: unknown;
  readonly Info?: unknown;
}

/** Picks the row of the session with `pid` that is running SHOW PROCESSLIST itself; `host` breaks a tie. */
export function ownProcessListRow(rows: readonly ProcessListRow[], pid: number, host: string | undefined): ProcessListRow | undefined {
  const mine = rows.filter((r) => String(r.Id ?? '').endsWith(`:${pid}`) && r.Info === 'SHOW PROCESSLIST');
  if (mine.length <= 1) return mine[0];
  const byHost = mine.filter((r) => host !== undefined && r.Host === host);
  return byHost.length === 1 ? byHost[0] : undefined;
}

/** Learns `client`'s session on RisingWave (runs SHOW PROCESSLIST on it). */
export async function identifyRisingWaveSession(client: pg.ClientBase): Promise<Backend | undefined> {
  const pid = backendPid(client);
  if (pid === undefined) return undefined;
  const { rows } = await client.query<ProcessListRow>('SHOW PROCESSLIST');
  const row = ownProcessListRow(rows, pid, localAddress(client));
  const worker = row?.['Worker Id'];
  return { pid, worker: worker === undefined || worker === null ? undefined : String(worker) };
}

/** The statement that stops `backend`'s running statement: KILL on RisingWave, pg_cancel_backend on PostgreSQL. */
export function cancelStatement(kind: 'risingwave' | 'postgres', backend: Backend): { sql: string; params: unknown[] } | undefined {
  if (kind === 'postgres') return { sql: 'SELECT pg_catalog.pg_cancel_backend($1)', params: [backend.pid] };
  if (backend.worker === undefined || !/^\d+$/.test(backend.worker)) return undefined;
  // KILL takes a string literal only (src/sqlparser/src/parser.rs, parse_literal_string), so no parameter.
  return { sql: `KILL '${backend.worker}:${backend.pid}'`, params: [] };
}
