import { VIEW_LIST } from '../views/registry';

/**
 * The catalog as a passthrough client sees it: every reference to an allowed pg_catalog or
 * information_schema relation is replaced by a subquery over the same relation that keeps only rows
 * about the published views, the `public`, `pg_catalog` and `information_schema` schemas and the
 * system's own objects. So `\dt`, `\d trip_history`, JDBC's getTables/getColumns and
 * information_schema.columns work unchanged, and the engine's other objects (the outbox, the embedded
 * engine's `*__base` tables and `wavegate`/`pgivm` schemas, other databases) are not there.
 *
 * Catalog relations not listed here (pg_authid, pg_roles, pg_settings, pg_stat_*, pg_locks,
 * pg_largeobject, pg_file_settings, ...) are refused with 42501.
 */

/** Alias of the relation inside the filtering subquery; filters refer to its columns through it. */
export const CATALOG_ALIAS = '__wg_r';

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
const VIEW_NAMES = VIEW_LIST.map((v) => quote(v.name)).join(', ');
const SYS_NAMES = `'pg_catalog', 'information_schema'`;
const SYS_NS = `SELECT oid FROM pg_catalog.pg_namespace WHERE nspname IN (${SYS_NAMES})`;
const VIS_NS = `SELECT oid FROM pg_catalog.pg_namespace WHERE nspname IN ('public', ${SYS_NAMES})`;
/** OIDs of the relations a client may see: system relations and the published views. */
const VIS_CLASS = `SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN (${SYS_NAMES}) OR (n.nspname = 'public' AND c.relname IN (${VIEW_NAMES}))`;

const r = (col: string) => `${CATALOG_ALIAS}.${col}`;
const sysOrViews = (schemaCol: string, nameCol: string) =>
  `${r(schemaCol)} IN (${SYS_NAMES}) OR (${r(schemaCol)} = 'public' AND ${r(nameCol)} IN (${VIEW_NAMES}))`;
const viewsOnly = (schemaCol: string, nameCol: string) => `${r(schemaCol)} = 'public' AND ${r(nameCol)} IN (${VIEW_NAMES})`;

/** How one catalog relation is exposed. */
export interface CatalogRule {
  /** SQL condition on the relation's columns (through {@link CATALOG_ALIAS}); undefined = all rows. */
  readonly filter?: string;
  /**
   * When set, the subquery lists these columns instead of `*`, with the masked ones as typed NULLs:
   * used where a column would print the SQL of a view (and with it the hidden tables' names).
   */
  readonly columns?: ReadonlyArray<string | { readonly name: string; readonly nullAs: string }>;
}

const PG_CATALOG: Record<string, CatalogRule> = {
  pg_namespace: { filter: `${r('nspname')} IN ('public', ${SYS_NAMES})` },
  pg_class: { filter: `${r('oid')} IN (${VIS_CLASS})` },
  pg_attribute: { filter: `${r('attrelid')} IN (${VIS_CLASS})` },
  pg_attrdef: { filter: `${r('adrelid')} IN (${VIS_CLASS})` },
  pg_type: { filter: `${r('typnamespace')} IN (${SYS_NS}) OR ${r('typrelid')} IN (${VIS_CLASS})` },
  pg_proc: { filter: `${r('pronamespace')} IN (${SYS_NS})` },
  pg_aggregate: {},
  pg_index: { filter: `${r('indrelid')} IN (${VIS_CLASS})` },
  pg_constraint: { filter: `${r('conrelid')} IN (${VIS_CLASS}) OR (${r('conrelid')} = 0 AND ${r('connamespace')} IN (${SYS_NS}))` },
  pg_description: {
    filter: `${r('objoid')} IN (${VIS_CLASS}) OR ${r('objoid')} IN (${VIS_NS})
 OR ${r('objoid')} IN (SELECT oid FROM pg_catalog.pg_proc WHERE pronamespace IN (${SYS_NS}))
 OR ${r('objoid')} IN (SELECT oid FROM pg_catalog.pg_type WHERE typnamespace IN (${SYS_NS}))`,
  },
  pg_inherits: { filter: `${r('inhrelid')} IN (${VIS_CLASS}) AND ${r('inhparent')} IN (${VIS_CLASS})` },
  pg_trigger: { filter: `${r('tgrelid')} IN (${VIS_CLASS})` },
  pg_rewrite: { filter: `${r('ev_class')} IN (${VIS_CLASS}) AND ${r('rulename')} <> '_RETURN'` },
  pg_depend: { filter: `${r('objid')} IN (${VIS_CLASS}) AND ${r('refobjid')} IN (${VIS_CLASS})` },
  pg_am: {},
  pg_collation: { filter: `${r('collnamespace')} IN (${SYS_NS})` },
  pg_tablespace: {},
  pg_language: {},
  pg_cast: {},
  pg_operator: { filter: `${r('oprnamespace')} IN (${SYS_NS})` },
  pg_opclass: { filter: `${r('opcnamespace')} IN (${SYS_NS})` },
  pg_opfamily: { filter: `${r('opfnamespace')} IN (${SYS_NS})` },
  pg_range: {},
  pg_enum: { filter: `${r('enumtypid')} IN (SELECT oid FROM pg_catalog.pg_type WHERE typnamespace IN (${SYS_NS}))` },
  pg_database: { filter: `${r('datname')} = pg_catalog.current_database()` },
  pg_extension: { filter: `${r('extname')} = 'plpgsql'` },
  pg_policy: { filter: `${r('polrelid')} IN (${VIS_CLASS})` },
  pg_statistic_ext: { filter: `${r('stxrelid')} IN (${VIS_CLASS})` },
  pg_partitioned_table: { filter: `${r('partrelid')} IN (${VIS_CLASS})` },
  pg_foreign_table: { filter: `${r('ftrelid')} IN (${VIS_CLASS})` },
  pg_publication: { filter: 'false' },
  pg_publication_rel: { filter: 'false' },
  pg_publication_namespace: { filter: 'false' },
  pg_sequence: { filter: 'false' },
  pg_tables: { filter: sysOrViews('schemaname', 'tablename') },
  pg_indexes: { filter: sysOrViews('schemaname', 'tablename') },
  pg_views: {
    filter: sysOrViews('schemaname', 'viewname'),
    columns: ['schemaname', 'viewname', 'viewowner', { name: 'definition', nullAs: 'text' }],
  },
  pg_matviews: {
    filter: viewsOnly('schemaname', 'matviewname'),
    columns: ['schemaname', 'matviewname', 'matviewowner', 'tablespace', 'hasindexes', 'ispopulated', { name: 'definition', nullAs: 'text' }],
  },
};

const tablePair = (schemaCol = 'table_schema', nameCol = 'table_name') => ({ filter: sysOrViews(schemaCol, nameCol) });

const INFORMATION_SCHEMA: Record<string, CatalogRule> = {
  tables: tablePair(),
  columns: tablePair(),
  views: {
    filter: sysOrViews('table_schema', 'table_name'),
    columns: ['table_catalog', 'table_schema', 'table_name', { name: 'view_definition', nullAs: 'information_schema.character_data' },
      'check_option', 'is_updatable', 'is_insertable_into', 'is_trigger_updatable', 'is_trigger_deletable', 'is_trigger_insertable_into'],
  },
  schemata: { filter: `${r('schema_name')} IN ('public', ${SYS_NAMES})` },
  table_constraints: tablePair(),
  key_column_usage: tablePair(),
  constraint_column_usage: tablePair(),
  table_privileges: tablePair(),
  column_privileges: tablePair(),
  role_table_grants: tablePair(),
  referential_constraints: { filter: `${r('constraint_schema')} IN (${SYS_NAMES})` },
  check_constraints: { filter: `${r('constraint_schema')} IN (${SYS_NAMES})` },
  routines: { filter: `${r('routine_schema')} IN (${SYS_NAMES})` },
  parameters: { filter: `${r('specific_schema')} IN (${SYS_NAMES})` },
  domains: { filter: `${r('domain_schema')} IN (${SYS_NAMES})` },
  triggers: { filter: viewsOnly('event_object_schema', 'event_object_table') },
  sequences: { filter: 'false' },
  character_sets: {},
  collations: {},
  information_schema_catalog_name: {},
};

/** The rule for `schema.name`, or undefined when that catalog relation is not exposed. */
export function catalogRule(schema: 'pg_catalog' | 'information_schema', name: string): CatalogRule | undefined {
  const table = schema === 'pg_catalog' ? PG_CATALOG : INFORMATION_SCHEMA;
  return Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
}

/** The filtering subquery that replaces a reference to `schema.name` (without alias). */
export function catalogSubquery(schema: 'pg_catalog' | 'information_schema', name: string, rule: CatalogRule): string {
  const cols = rule.columns === undefined
    ? '*'
    : rule.columns.map((c) => (typeof c === 'string' ? `${CATALOG_ALIAS}.${c}` : `NULL::${c.nullAs} AS ${c.name}`)).join(', ');
  const where = rule.filter === undefined ? '' : ` WHERE ${rule.filter}`;
  return `(SELECT ${cols} FROM ${schema}.${name} AS ${CATALOG_ALIAS}${where})`;
}
