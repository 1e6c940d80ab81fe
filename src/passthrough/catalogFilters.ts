import type { Registry } from '../views/model';

/**
 * The building blocks of the catalog rules (catalog.ts has the overview): what a rule is, and the
 * SQL conditions that keep a catalog row only when it describes something a passthrough client may
 * see — the published views, the `public`, `pg_catalog` and `information_schema` schemas and the
 * system's own objects. Both rule sets (catalogPostgres.ts, catalogRisingWave.ts) use them; every
 * relation and column named here exists in PostgreSQL 15-18 and in RisingWave v3.0.3.
 */

/** Alias of the relation inside the filtering subquery; filters refer to its columns through it. */
export const CATALOG_ALIAS = '__wg_r';

/** A column of a rule that lists its columns. */
export type CatalogColumn =
  /** The relation's column as it is. */
  | string
  /** Always NULL, typed: a column that would print the SQL of a view (and the hidden tables' names). */
  | { readonly name: string; readonly nullAs: string }
  /**
   * The column as a plain `oid`: for `regproc` columns, which would otherwise turn a compared
   * literal into a function lookup by name (`typinput = 'some_hidden_function'` fails only when
   * the function is missing), an existence oracle.
   */
  | { readonly name: string; readonly asOid: true };

/** How one catalog relation is exposed. */
export interface CatalogRule {
  /** SQL condition on the relation's columns (through {@link CATALOG_ALIAS}); undefined = all rows. */
  readonly filter?: string;
  /** When set, the subquery lists these columns instead of `*`. */
  readonly columns?: readonly CatalogColumn[];
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
/**
 * Stands for the published views' names as a SQL list in the rules: the rules are tables built once,
 * the views come from the schema directory, so {@link withPublishedViews} fills it in when a rule
 * is rendered. A comment, so a rule rendered without it fails to parse rather than showing anything.
 */
export const VIEW_NAMES = '/*wavegate:published-views*/';

/** `sql` with the {@link VIEW_NAMES} placeholder replaced by the quoted names of `views`' views. */
export function withPublishedViews(sql: string, views: Registry): string {
  const names = views.views.map((v) => quote(v.name)).join(', ');
  return sql.split(VIEW_NAMES).join(names);
}
/** The system schemas' names as a SQL list. */
export const SYS_NAMES = `'pg_catalog', 'information_schema'`;
/** OIDs of the system schemas. */
export const SYS_NS = `SELECT oid FROM pg_catalog.pg_namespace WHERE nspname IN (${SYS_NAMES})`;
/** OIDs of the schemas a client may see. */
export const VIS_NS = `SELECT oid FROM pg_catalog.pg_namespace WHERE nspname IN ('public', ${SYS_NAMES})`;
/** OIDs of the relations a client may see: system relations and the published views. */
export const VIS_CLASS = `SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN (${SYS_NAMES}) OR (n.nspname = 'public' AND c.relname IN (${VIEW_NAMES}))`;

/** `col` of the filtered relation. */
export const r = (col: string): string => `${CATALOG_ALIAS}.${col}`;
/** Rows about system relations or the published views, by schema and relation name columns. */
export const sysOrViews = (schemaCol: string, nameCol: string): string =>
  `${r(schemaCol)} IN (${SYS_NAMES}) OR (${r(schemaCol)} = 'public' AND ${r(nameCol)} IN (${VIEW_NAMES}))`;
/** Rows about the published views only. */
export const viewsOnly = (schemaCol: string, nameCol: string): string => `${r(schemaCol)} = 'public' AND ${r(nameCol)} IN (${VIEW_NAMES})`;
/** information_schema's usual `table_schema`/`table_name` pair. */
export const tablePair = (schemaCol = 'table_schema', nameCol = 'table_name'): CatalogRule => ({ filter: sysOrViews(schemaCol, nameCol) });

/**
 * Settings `pg_settings` shows: fixed properties of the server that drivers read there (pgjdbc's
 * `max_index_keys` for getImportedKeys, `default_transaction_isolation`), nothing that names a path,
 * an address or a role, and nothing the session answers differently itself (statement_timeout,
 * transaction_read_only: session/settings.ts).
 */
export const CATALOG_SETTINGS: readonly string[] = [
  'max_index_keys', 'max_identifier_length', 'max_function_args', 'block_size', 'integer_datetimes', 'server_version',
  'server_version_num', 'server_encoding', 'lc_collate', 'lc_ctype', 'standard_conforming_strings',
  'default_transaction_isolation',
];
/** The {@link CATALOG_SETTINGS} condition on `pg_settings.name`. */
export const SETTINGS_FILTER = `${r('name')} IN (${CATALOG_SETTINGS.map(quote).join(', ')})`;
