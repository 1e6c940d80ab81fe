/**
 * The SQL passthrough: a Postgres wire-protocol listener that lets BI tools (Metabase, Superset,
 * Grafana, psql) read the published views under the same row policy as the GraphQL API.
 * docs/SQL.md is the user guide; the layers are
 *   protocol.ts (bytes ↔ messages) → session/ (state machine) → listener.ts (sockets, TLS, cancel)
 *   guard/ (parse, allow, rewrite) → executor.ts (engine, timeout, cancel, limits) → describe/ / values.ts.
 */
export { startSqlPassthrough, type SqlPassthrough, type SqlPassthroughOptions, type SqlTlsOptions } from './listener';
export { parseSqlUsers, type SqlRole, type SqlUser } from './users';
export {
  loadSqlPassthroughSettings, sqlPassthroughOptions, SQL_PASSTHROUGH_ENV_VARS, type SqlPassthroughSettings,
} from './config';
export { SqlState } from './sqlstate';
export { formatVerifier, makeVerifier } from './scram';
