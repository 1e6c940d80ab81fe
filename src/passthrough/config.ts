import { errors } from '../errors';
import type { SqlPassthroughOptions } from './listener';
import { parseSqlUsers, type SqlUser } from './users';

/**
 * `WAVEGATE_SQL_*` settings of the SQL passthrough (docs/SQL.md). Kept here rather than in
 * src/config so the passthrough can be wired into `wavegate serve` by spreading the result into
 * {@link SqlPassthroughOptions}.
 */
export interface SqlPassthroughSettings {
  /** True when `WAVEGATE_SQL_USERS` names at least one user; the listener runs only then. */
  readonly enabled: boolean;
  /** `WAVEGATE_SQL_HOST`. @default WAVEGATE_HOST, else '127.0.0.1' */
  readonly host: string;
  /** `WAVEGATE_SQL_PORT`; 0 = any free port. @default 5433 */
  readonly port: number;
  /** `WAVEGATE_SQL_USERS`, parsed (verifiers only, never passwords). */
  readonly users: readonly SqlUser[];
  /** `WAVEGATE_SQL_STATEMENT_TIMEOUT_MS`, milliseconds. @default 30_000 */
  readonly statementTimeoutMs: number;
  /** `WAVEGATE_SQL_MAX_ROWS`: larger results are refused with 54000. @default 10_000 */
  readonly maxRows: number;
  /** `WAVEGATE_SQL_MAX_CONNECTIONS`. @default 100 */
  readonly maxConnections: number;
  /** `WAVEGATE_SQL_EMBEDDED_MAX_COST`: embedded engine plan-cost cap. @default 1_000_000 */
  readonly embeddedMaxPlanCost: number;
  /** `WAVEGATE_SQL_TLS_CERT` + `WAVEGATE_SQL_TLS_KEY` (PEM file paths): both or neither. */
  readonly tls?: { readonly certPath: string; readonly keyPath: string };
}

/** One documented variable. */
export interface SqlSettingDoc {
  readonly name: string;
  readonly default: string;
  readonly description: string;
}

/** The variables {@link loadSqlPassthroughSettings} reads (for README/docs tables). */
export const SQL_PASSTHROUGH_ENV_VARS: readonly SqlSettingDoc[] = [
  { name: 'WAVEGATE_SQL_USERS', default: '-', description: 'SQL passthrough users, `name:password[:role[:id]]` or `name:SCRAM-SHA-256$...[:role[:id]]`, comma-separated; the listener starts only when set (docs/SQL.md)' },
  { name: 'WAVEGATE_SQL_PORT', default: '5433', description: 'Postgres wire-protocol port of the SQL passthrough; 0 = any free port' },
  { name: 'WAVEGATE_SQL_HOST', default: '(WAVEGATE_HOST)', description: 'Address the SQL passthrough binds' },
  { name: 'WAVEGATE_SQL_STATEMENT_TIMEOUT_MS', default: '30000', description: 'Longest a passthrough statement may run (57014 after)' },
  { name: 'WAVEGATE_SQL_MAX_ROWS', default: '10000', description: 'Most rows a passthrough result may have (54000 beyond)' },
  { name: 'WAVEGATE_SQL_MAX_CONNECTIONS', default: '100', description: 'Most open passthrough connections (53300 beyond)' },
  { name: 'WAVEGATE_SQL_EMBEDDED_MAX_COST', default: '1000000', description: 'Embedded engine: largest planner cost a passthrough statement may have (54000 beyond)' },
  { name: 'WAVEGATE_SQL_TLS_CERT', default: '-', description: 'PEM certificate for TLS on the passthrough (with WAVEGATE_SQL_TLS_KEY); without it SSLRequest is refused' },
  { name: 'WAVEGATE_SQL_TLS_KEY', default: '-', description: 'PEM private key for WAVEGATE_SQL_TLS_CERT' },
];

type Env = Readonly<Record<string, string | undefined>>;

function get(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function whole(env: Env, name: string, dflt: number, min: number, max: number): number {
  const raw = get(env, name);
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw errors.badConfig(`${name}=${raw} is not valid: use a whole number from ${min} to ${max}`);
  return n;
}

/** Reads and checks the passthrough settings once (BAD_CONFIG with what to change). */
export function loadSqlPassthroughSettings(env: Env): SqlPassthroughSettings {
  const users = parseSqlUsers(get(env, 'WAVEGATE_SQL_USERS') ?? '');
  const cert = get(env, 'WAVEGATE_SQL_TLS_CERT');
  const key = get(env, 'WAVEGATE_SQL_TLS_KEY');
  if ((cert === undefined) !== (key === undefined)) {
    throw errors.badConfig('Set both WAVEGATE_SQL_TLS_CERT and WAVEGATE_SQL_TLS_KEY (PEM file paths), or neither');
  }
  return {
    enabled: users.length > 0,
    host: get(env, 'WAVEGATE_SQL_HOST') ?? get(env, 'WAVEGATE_HOST') ?? '127.0.0.1',
    port: whole(env, 'WAVEGATE_SQL_PORT', 5433, 0, 65_535),
    users,
    statementTimeoutMs: whole(env, 'WAVEGATE_SQL_STATEMENT_TIMEOUT_MS', 30_000, 100, 86_400_000),
    maxRows: whole(env, 'WAVEGATE_SQL_MAX_ROWS', 10_000, 1, 10_000_000),
    maxConnections: whole(env, 'WAVEGATE_SQL_MAX_CONNECTIONS', 100, 1, 100_000),
    embeddedMaxPlanCost: whole(env, 'WAVEGATE_SQL_EMBEDDED_MAX_COST', 1_000_000, 1, Number.MAX_SAFE_INTEGER),
    ...(cert !== undefined && key !== undefined ? { tls: { certPath: cert, keyPath: key } } : {}),
  };
}

/** The listener options for `settings` (engine and logger come from the gateway). */
export function sqlPassthroughOptions(settings: SqlPassthroughSettings, deps: Pick<SqlPassthroughOptions, 'engine' | 'log'>): SqlPassthroughOptions {
  return {
    host: settings.host,
    port: settings.port,
    users: settings.users,
    statementTimeoutMs: settings.statementTimeoutMs,
    maxRows: settings.maxRows,
    maxConnections: settings.maxConnections,
    embeddedMaxPlanCost: settings.embeddedMaxPlanCost,
    ...(settings.tls !== undefined ? { tls: settings.tls } : {}),
    ...deps,
  };
}
