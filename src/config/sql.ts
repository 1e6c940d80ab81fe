/**
 * `WAVEGATE_SQL_*`: the SQL passthrough's settings (docs/SQL.md), read and checked with the rest of
 * the configuration. The user list stays text here: the passthrough parses it into SCRAM verifiers
 * when `serve` wires it (passthrough/config.ts), before anything is opened.
 */
import { errors } from '../errors';
import { envInt, envString, type Env, type EnvVarDoc } from './env';
import type { SqlPassthroughSettings } from './types';

/** The variables {@link loadSqlPassthroughSettings} reads (rows of the README's table). */
export const SQL_PASSTHROUGH_ENV_VARS: readonly EnvVarDoc[] = [
  { name: 'WAVEGATE_SQL_USERS', default: '-', description: 'SQL passthrough users, `name:password[:role[:sub[:claims]]]` or `name:SCRAM-SHA-256$...[:role[:sub[:claims]]]`, comma-separated; the listener starts only when set (docs/SQL.md)' },
  { name: 'WAVEGATE_SQL_PORT', default: '5433', description: 'Postgres wire-protocol port of the SQL passthrough; 0 = any free port' },
  { name: 'WAVEGATE_SQL_HOST', default: '(WAVEGATE_HOST)', description: 'Address the SQL passthrough binds' },
  { name: 'WAVEGATE_SQL_STATEMENT_TIMEOUT_MS', default: '30000', description: 'Longest a passthrough statement may run (57014 after)' },
  { name: 'WAVEGATE_SQL_MAX_ROWS', default: '10000', description: 'Most rows a passthrough result may have (54000 beyond)' },
  { name: 'WAVEGATE_SQL_MAX_CONNECTIONS', default: '100', description: 'Most authenticated passthrough sessions (53300 beyond); connections still logging in are counted apart' },
  { name: 'WAVEGATE_SQL_MAX_PENDING', default: '16', description: 'Most passthrough connections not yet authenticated; beyond, the oldest of them is closed (53300)' },
  { name: 'WAVEGATE_SQL_MAX_PENDING_PER_ADDRESS', default: '8', description: 'Most passthrough connections not yet authenticated from one client address (IPv6: one /64) (53300 beyond)' },
  { name: 'WAVEGATE_SQL_MAX_CONNECTIONS_PER_ADDRESS', default: '50', description: 'Most passthrough connections from one client address (IPv6: one /64), logging in or authenticated (53300 beyond)' },
  { name: 'WAVEGATE_SQL_AUTH_TIMEOUT_MS', default: '5000', description: 'Time from connect to authenticated on the passthrough (08P01 after)' },
  { name: 'WAVEGATE_SQL_MAX_MESSAGE_BYTES', default: '8388608', description: 'Largest passthrough message after login (08P01 beyond; 65535 before login)' },
  { name: 'WAVEGATE_SQL_LOGIN_BACKOFF_MS', default: '100', description: 'Passthrough login back-off: delay after one wrong password of a user or address, doubling per failure; 0 = off' },
  { name: 'WAVEGATE_SQL_LOGIN_BACKOFF_MAX_MS', default: '3000', description: 'Longest passthrough login back-off (below WAVEGATE_SQL_AUTH_TIMEOUT_MS)' },
  { name: 'WAVEGATE_SQL_LOGIN_BACKOFF_WINDOW_MS', default: '300000', description: 'Wrong passwords are forgotten this long after the last one' },
  { name: 'WAVEGATE_SQL_SESSION_MEMORY_BYTES', default: '33554432', description: 'Estimated bytes one passthrough session\'s prepared statements and portals may hold (54000 beyond)' },
  { name: 'WAVEGATE_SQL_TOTAL_MEMORY_BYTES', default: '268435456', description: 'Estimated bytes all passthrough sessions\' prepared statements and portals may hold together (53200 beyond)' },
  { name: 'WAVEGATE_SQL_EMBEDDED_MAX_COST', default: '1000000', description: 'Embedded engine: largest planner cost a passthrough statement may have (54000 beyond)' },
  { name: 'WAVEGATE_SQL_EMBEDDED_WORKER_HEAP_MB', default: '256', description: 'Embedded engine: JS heap of the passthrough worker, in MiB (a statement over it is stopped, 53200)' },
  { name: 'WAVEGATE_SQL_EMBEDDED_WORKER_MEMORY_MB', default: '512', description: 'Embedded engine: how much a running passthrough statement may grow the process (RSS), in MiB; beyond, the worker is terminated (53200)' },
  { name: 'WAVEGATE_SQL_EMBEDDED_MAX_RESULT_MB', default: '32', description: 'Embedded engine: largest passthrough result the worker hands back, in MiB (54000 beyond)' },
  { name: 'WAVEGATE_SQL_TLS_CERT', default: '-', description: 'PEM certificate for TLS on the passthrough (with WAVEGATE_SQL_TLS_KEY); without it SSLRequest is refused' },
  { name: 'WAVEGATE_SQL_TLS_KEY', default: '-', description: 'PEM private key for WAVEGATE_SQL_TLS_CERT' },
];

/** Reads and checks the passthrough settings once (BAD_CONFIG with what to change). */
export function loadSqlPassthroughSettings(env: Env): SqlPassthroughSettings {
  const users = envString(env, 'WAVEGATE_SQL_USERS');
  const cert = envString(env, 'WAVEGATE_SQL_TLS_CERT');
  const key = envString(env, 'WAVEGATE_SQL_TLS_KEY');
  if ((cert === undefined) !== (key === undefined)) {
    throw errors.badConfig('Set both WAVEGATE_SQL_TLS_CERT and WAVEGATE_SQL_TLS_KEY (PEM file paths), or neither');
  }
  const authTimeoutMs = envInt(env, 'WAVEGATE_SQL_AUTH_TIMEOUT_MS', 5_000, 100, 600_000);
  const loginBackoffMaxMs = envInt(env, 'WAVEGATE_SQL_LOGIN_BACKOFF_MAX_MS', 3_000, 0, 600_000);
  if (loginBackoffMaxMs >= authTimeoutMs) {
    throw errors.badConfig(`WAVEGATE_SQL_LOGIN_BACKOFF_MAX_MS=${loginBackoffMaxMs} must be below WAVEGATE_SQL_AUTH_TIMEOUT_MS=${authTimeoutMs}: a login held back longer would time out. Lower the back-off or raise the timeout`);
  }
  const maxPending = envInt(env, 'WAVEGATE_SQL_MAX_PENDING', 16, 1, 100_000);
  const maxPendingPerAddress = envInt(env, 'WAVEGATE_SQL_MAX_PENDING_PER_ADDRESS', 8, 1, 100_000);
  if (maxPendingPerAddress > maxPending) {
    throw errors.badConfig(`WAVEGATE_SQL_MAX_PENDING_PER_ADDRESS=${maxPendingPerAddress} is above WAVEGATE_SQL_MAX_PENDING=${maxPending}: lower it, or raise WAVEGATE_SQL_MAX_PENDING`);
  }
  const sessionMemoryBytes = envInt(env, 'WAVEGATE_SQL_SESSION_MEMORY_BYTES', 32 * 1024 * 1024, 1024, Number.MAX_SAFE_INTEGER);
  const totalMemoryBytes = envInt(env, 'WAVEGATE_SQL_TOTAL_MEMORY_BYTES', 256 * 1024 * 1024, 1024, Number.MAX_SAFE_INTEGER);
  if (sessionMemoryBytes > totalMemoryBytes) {
    throw errors.badConfig(`WAVEGATE_SQL_SESSION_MEMORY_BYTES=${sessionMemoryBytes} is above WAVEGATE_SQL_TOTAL_MEMORY_BYTES=${totalMemoryBytes}: lower it, or raise the total`);
  }
  return {
    enabled: users !== undefined,
    host: envString(env, 'WAVEGATE_SQL_HOST') ?? envString(env, 'WAVEGATE_HOST') ?? '127.0.0.1',
    port: envInt(env, 'WAVEGATE_SQL_PORT', 5433, 0, 65_535),
    users: users ?? '',
    statementTimeoutMs: envInt(env, 'WAVEGATE_SQL_STATEMENT_TIMEOUT_MS', 30_000, 100, 86_400_000),
    maxRows: envInt(env, 'WAVEGATE_SQL_MAX_ROWS', 10_000, 1, 10_000_000),
    maxConnections: envInt(env, 'WAVEGATE_SQL_MAX_CONNECTIONS', 100, 1, 100_000),
    maxPending,
    maxPendingPerAddress,
    maxConnectionsPerAddress: envInt(env, 'WAVEGATE_SQL_MAX_CONNECTIONS_PER_ADDRESS', 50, 1, 100_000),
    authTimeoutMs,
    maxMessageBytes: envInt(env, 'WAVEGATE_SQL_MAX_MESSAGE_BYTES', 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    loginBackoffMs: envInt(env, 'WAVEGATE_SQL_LOGIN_BACKOFF_MS', 100, 0, 600_000),
    loginBackoffMaxMs,
    loginBackoffWindowMs: envInt(env, 'WAVEGATE_SQL_LOGIN_BACKOFF_WINDOW_MS', 300_000, 1_000, 86_400_000),
    sessionMemoryBytes,
    totalMemoryBytes,
    embeddedMaxPlanCost: envInt(env, 'WAVEGATE_SQL_EMBEDDED_MAX_COST', 1_000_000, 1, Number.MAX_SAFE_INTEGER),
    embeddedWorkerHeapMb: envInt(env, 'WAVEGATE_SQL_EMBEDDED_WORKER_HEAP_MB', 256, 64, 16_384),
    embeddedWorkerMemoryMb: envInt(env, 'WAVEGATE_SQL_EMBEDDED_WORKER_MEMORY_MB', 512, 64, 65_536),
    embeddedMaxResultMb: envInt(env, 'WAVEGATE_SQL_EMBEDDED_MAX_RESULT_MB', 32, 1, 1_024),
    ...(cert !== undefined && key !== undefined ? { tls: { certPath: cert, keyPath: key } } : {}),
  };
}
