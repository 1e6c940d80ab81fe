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
  { name: 'WAVEGATE_SQL_MAX_CONNECTIONS', default: '100', description: 'Most open passthrough connections (53300 beyond)' },
  { name: 'WAVEGATE_SQL_EMBEDDED_MAX_COST', default: '1000000', description: 'Embedded engine: largest planner cost a passthrough statement may have (54000 beyond)' },
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
  return {
    enabled: users !== undefined,
    host: envString(env, 'WAVEGATE_SQL_HOST') ?? envString(env, 'WAVEGATE_HOST') ?? '127.0.0.1',
    port: envInt(env, 'WAVEGATE_SQL_PORT', 5433, 0, 65_535),
    users: users ?? '',
    statementTimeoutMs: envInt(env, 'WAVEGATE_SQL_STATEMENT_TIMEOUT_MS', 30_000, 100, 86_400_000),
    maxRows: envInt(env, 'WAVEGATE_SQL_MAX_ROWS', 10_000, 1, 10_000_000),
    maxConnections: envInt(env, 'WAVEGATE_SQL_MAX_CONNECTIONS', 100, 1, 100_000),
    embeddedMaxPlanCost: envInt(env, 'WAVEGATE_SQL_EMBEDDED_MAX_COST', 1_000_000, 1, Number.MAX_SAFE_INTEGER),
    ...(cert !== undefined && key !== undefined ? { tls: { certPath: cert, keyPath: key } } : {}),
  };
}
