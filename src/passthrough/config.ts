/**
 * From the `WAVEGATE_SQL_*` settings (read with the rest of the configuration, config/sql.ts) to the
 * listener's options: the one step that needs the passthrough itself, parsing the user list into
 * SCRAM verifiers.
 */
import type { SqlPassthroughSettings } from '../config/types';
import type { Registry } from '../views/model';
import type { SqlPassthroughOptions } from './listener';
import { parseSqlUsers } from './users';

// passthrough/index.ts re-exports these from here; they live in src/config since config stopped
// importing the passthrough.
export { loadSqlPassthroughSettings, SQL_PASSTHROUGH_ENV_VARS } from '../config/sql';
export type { SqlPassthroughSettings } from '../config/types';

/**
 * The listener options for `settings`, but for the engine and logger (they come from `serve`).
 * Parses `WAVEGATE_SQL_USERS` against the registry's roles: call it before opening anything, so a
 * bad entry stops start-up (BAD_CONFIG naming the entry, never its password).
 */
export function sqlPassthroughOptions(settings: SqlPassthroughSettings, registry: Registry): Omit<SqlPassthroughOptions, 'engine' | 'log'> {
  return {
    host: settings.host,
    port: settings.port,
    users: parseSqlUsers(settings.users, registry),
    statementTimeoutMs: settings.statementTimeoutMs,
    maxRows: settings.maxRows,
    maxConnections: settings.maxConnections,
    maxPending: settings.maxPending,
    maxPendingPerAddress: settings.maxPendingPerAddress,
    maxConnectionsPerAddress: settings.maxConnectionsPerAddress,
    authTimeoutMs: settings.authTimeoutMs,
    maxMessageBytes: settings.maxMessageBytes,
    loginBackoffMs: settings.loginBackoffMs,
    loginBackoffMaxMs: settings.loginBackoffMaxMs,
    loginBackoffWindowMs: settings.loginBackoffWindowMs,
    sessionMemoryBytes: settings.sessionMemoryBytes,
    totalMemoryBytes: settings.totalMemoryBytes,
    embeddedMaxPlanCost: settings.embeddedMaxPlanCost,
    ...(settings.tls !== undefined ? { tls: settings.tls } : {}),
  };
}
