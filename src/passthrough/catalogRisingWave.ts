import { type CatalogRule, r, SETTINGS_FILTER, SYS_NAMES, SYS_NS, sysOrViews, tablePair, viewsOnly, VIS_CLASS, VIS_NS } from './catalogFilters';

/**
 * The catalog rules on RisingWave (v3.0.3). RisingWave's pg_catalog and information_schema are its
 * own re-creations, with fewer relations and columns than PostgreSQL's
 * (https://github.com/risingwavelabs/risingwave/tree/v3.0.3/src/frontend/src/catalog/system_catalog):
 * a rule may name only what exists there, or every statement reading that relation would fail.
 * Differences from the PostgreSQL rules (catalogPostgres.ts):
 * - no rules for relations RisingWave does not have (pg_aggregate, pg_opfamily, pg_policy,
 *   pg_statistic_ext, pg_foreign_table, pg_publication*, and all information_schema views but six):
 *   the guard answers 42P01 for them, as for any missing relation;
 * - `information_schema.views` has 4 columns (information_schema/views.rs) and RisingWave has no
 *   `information_schema.character_data` type, so the definition is masked as `varchar`;
 * - RisingWave has no `regproc`-typed columns (`pg_type.typinput` is varchar, pg_type.rs), so no
 *   column needs exposing as an OID;
 * - the published views are materialized views there: psql's `\dm`, `pg_matviews` and
 *   `information_schema.tables` ('MATERIALIZED VIEW') list them, `pg_views` and
 *   `information_schema.views` (plain views only) do not.
 */

/**
 * Every pg_catalog relation of RisingWave v3.0.3 (the `#[system_catalog(...)]` declarations under
 * src/frontend/src/catalog/system_catalog/pg_catalog/). Names outside this list do not exist there.
 */
export const RISINGWAVE_PG_CATALOG_RELATIONS: readonly string[] = [
  'pg_am', 'pg_attrdef', 'pg_attribute', 'pg_auth_members', 'pg_cast', 'pg_class', 'pg_collation', 'pg_constraint',
  'pg_conversion', 'pg_database', 'pg_depend', 'pg_description', 'pg_enum', 'pg_extension', 'pg_index', 'pg_indexes',
  'pg_inherits', 'pg_language', 'pg_locks', 'pg_matviews', 'pg_namespace', 'pg_opclass', 'pg_operator',
  'pg_partitioned_table', 'pg_proc', 'pg_range', 'pg_rewrite', 'pg_roles', 'pg_sequence', 'pg_sequences', 'pg_settings',
  'pg_shadow', 'pg_shdescription', 'pg_stat_activity', 'pg_stat_user_tables', 'pg_tables', 'pg_tablespace', 'pg_trigger',
  'pg_type', 'pg_user', 'pg_views',
];

/** Every information_schema relation of RisingWave v3.0.3 (system_catalog/information_schema/). */
export const RISINGWAVE_INFORMATION_SCHEMA_RELATIONS: readonly string[] = [
  'columns', 'key_column_usage', 'schemata', 'table_constraints', 'tables', 'views',
];

/** RisingWave's pg_catalog relations as passthrough clients see them. */
export const RISINGWAVE_PG_CATALOG: Readonly<Record<string, CatalogRule>> = {
  pg_namespace: { filter: `${r('nspname')} IN ('public', ${SYS_NAMES})` },
  pg_class: { filter: `${r('oid')} IN (${VIS_CLASS})` },
  pg_attribute: { filter: `${r('attrelid')} IN (${VIS_CLASS})` },
  pg_attrdef: { filter: `${r('adrelid')} IN (${VIS_CLASS})` },
  pg_type: { filter: `${r('typnamespace')} IN (${SYS_NS}) OR ${r('typrelid')} IN (${VIS_CLASS})` },
  pg_proc: { filter: `${r('pronamespace')} IN (${SYS_NS})` },
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
  pg_range: {},
  pg_enum: { filter: `${r('enumtypid')} IN (SELECT oid FROM pg_catalog.pg_type WHERE typnamespace IN (${SYS_NS}))` },
  pg_database: { filter: `${r('datname')} = pg_catalog.current_database()` },
  pg_extension: { filter: `${r('extname')} = 'plpgsql'` },
  pg_partitioned_table: { filter: `${r('partrelid')} IN (${VIS_CLASS})` },
  pg_sequence: { filter: 'false' },
  pg_settings: { filter: SETTINGS_FILTER },
  pg_tables: { filter: sysOrViews('schemaname', 'tablename') },
  pg_indexes: { filter: sysOrViews('schemaname', 'tablename') },
  pg_views: {
    filter: sysOrViews('schemaname', 'viewname'),
    columns: ['schemaname', 'viewname', 'viewowner', { name: 'definition', nullAs: 'varchar' }],
  },
  pg_matviews: {
    filter: viewsOnly('schemaname', 'matviewname'),
    columns: ['schemaname', 'matviewname', 'matviewowner', 'tablespace', 'hasindexes', 'ispopulated', { name: 'definition', nullAs: 'varchar' }],
  },
};

/** RisingWave's information_schema views as passthrough clients see them. */
export const RISINGWAVE_INFORMATION_SCHEMA: Readonly<Record<string, CatalogRule>> = {
  tables: tablePair(),
  columns: tablePair(),
  views: {
    filter: sysOrViews('table_schema', 'table_name'),
    columns: ['table_catalog', 'table_schema', 'table_name', { name: 'view_definition', nullAs: 'varchar' }],
  },
  schemata: { filter: `${r('schema_name')} IN ('public', ${SYS_NAMES})` },
  table_constraints: tablePair(),
  key_column_usage: tablePair(),
};
