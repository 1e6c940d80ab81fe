import {
  type CatalogColumn, type CatalogRule, r, SETTINGS_FILTER, SYS_NAMES, SYS_NS, sysOrViews, tablePair, viewsOnly, VIS_CLASS, VIS_NS,
} from './catalogFilters';

/**
 * The catalog rules on a PostgreSQL catalog: the embedded engine (PostgreSQL 18 in PGlite) and
 * PostgreSQL standing in for RisingWave in tests. Relations with `regproc` columns list their
 * columns (the same in PostgreSQL 15 to 18) so those columns can be exposed as plain OIDs
 * (catalogFilters.ts, `asOid`).
 */

/** `names`, with the ones in `regproc` exposed as plain OIDs. */
const withOids = (names: string, regproc: string): CatalogColumn[] => {
  const asOid = new Set(regproc.split(' '));
  return names.split(' ').map((name) => (asOid.has(name) ? { name, asOid: true } : name));
};

const SYS_PROCS = `SELECT oid FROM pg_catalog.pg_proc WHERE pronamespace IN (${SYS_NS})`;

/** PostgreSQL's pg_catalog relations as passthrough clients see them. */
export const POSTGRES_PG_CATALOG: Readonly<Record<string, CatalogRule>> = {
  pg_namespace: { filter: `${r('nspname')} IN ('public', ${SYS_NAMES})` },
  pg_class: { filter: `${r('oid')} IN (${VIS_CLASS})` },
  pg_attribute: { filter: `${r('attrelid')} IN (${VIS_CLASS})` },
  pg_attrdef: { filter: `${r('adrelid')} IN (${VIS_CLASS})` },
  pg_type: {
    filter: `${r('typnamespace')} IN (${SYS_NS}) OR ${r('typrelid')} IN (${VIS_CLASS})`,
    columns: withOids('oid typname typnamespace typowner typlen typbyval typtype typcategory typispreferred typisdefined typdelim '
      + 'typrelid typsubscript typelem typarray typinput typoutput typreceive typsend typmodin typmodout typanalyze typalign '
      + 'typstorage typnotnull typbasetype typtypmod typndims typcollation typdefaultbin typdefault typacl',
    'typsubscript typinput typoutput typreceive typsend typmodin typmodout typanalyze'),
  },
  pg_proc: {
    filter: `${r('pronamespace')} IN (${SYS_NS})`,
    columns: withOids('oid proname pronamespace proowner prolang procost prorows provariadic prosupport prokind prosecdef '
      + 'proleakproof proisstrict proretset provolatile proparallel pronargs pronargdefaults prorettype proargtypes '
      + 'proallargtypes proargmodes proargnames proargdefaults protrftypes prosrc probin prosqlbody proconfig proacl', 'prosupport'),
  },
  pg_aggregate: {
    filter: `${r('aggfnoid')} IN (${SYS_PROCS})`,
    columns: withOids('aggfnoid aggkind aggnumdirectargs aggtransfn aggfinalfn aggcombinefn aggserialfn aggdeserialfn aggmtransfn '
      + 'aggminvtransfn aggmfinalfn aggfinalextra aggmfinalextra aggfinalmodify aggmfinalmodify aggsortop aggtranstype '
      + 'aggtransspace aggmtranstype aggmtransspace agginitval aggminitval',
    'aggfnoid aggtransfn aggfinalfn aggcombinefn aggserialfn aggdeserialfn aggmtransfn aggminvtransfn aggmfinalfn'),
  },
  pg_index: { filter: `${r('indrelid')} IN (${VIS_CLASS})` },
  pg_constraint: { filter: `${r('conrelid')} IN (${VIS_CLASS}) OR (${r('conrelid')} = 0 AND ${r('connamespace')} IN (${SYS_NS}))` },
  pg_description: {
    filter: `${r('objoid')} IN (${VIS_CLASS}) OR ${r('objoid')} IN (${VIS_NS})
 OR ${r('objoid')} IN (${SYS_PROCS})
 OR ${r('objoid')} IN (SELECT oid FROM pg_catalog.pg_type WHERE typnamespace IN (${SYS_NS}))`,
  },
  pg_inherits: { filter: `${r('inhrelid')} IN (${VIS_CLASS}) AND ${r('inhparent')} IN (${VIS_CLASS})` },
  pg_trigger: { filter: `${r('tgrelid')} IN (${VIS_CLASS})` },
  pg_rewrite: { filter: `${r('ev_class')} IN (${VIS_CLASS}) AND ${r('rulename')} <> '_RETURN'` },
  pg_depend: { filter: `${r('objid')} IN (${VIS_CLASS}) AND ${r('refobjid')} IN (${VIS_CLASS})` },
  pg_am: { columns: withOids('oid amname amhandler amtype', 'amhandler') },
  pg_collation: { filter: `${r('collnamespace')} IN (${SYS_NS})` },
  pg_tablespace: {},
  pg_language: {},
  pg_cast: {},
  pg_operator: {
    filter: `${r('oprnamespace')} IN (${SYS_NS})`,
    columns: withOids('oid oprname oprnamespace oprowner oprkind oprcanmerge oprcanhash oprleft oprright oprresult oprcom '
      + 'oprnegate oprcode oprrest oprjoin', 'oprcode oprrest oprjoin'),
  },
  pg_opclass: { filter: `${r('opcnamespace')} IN (${SYS_NS})` },
  pg_opfamily: { filter: `${r('opfnamespace')} IN (${SYS_NS})` },
  pg_range: { columns: withOids('rngtypid rngsubtype rngmultitypid rngcollation rngsubopc rngcanonical rngsubdiff', 'rngcanonical rngsubdiff') },
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
  pg_settings: {
    filter: SETTINGS_FILTER,
    columns: ['name', 'setting', 'unit', 'category', 'short_desc', 'extra_desc', 'context', 'vartype', 'source', 'min_val', 'max_val',
      'enumvals', 'boot_val', 'reset_val', { name: 'sourcefile', nullAs: 'text' }, { name: 'sourceline', nullAs: 'int4' }, 'pending_restart'],
  },
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

/** PostgreSQL's information_schema views as passthrough clients see them. */
export const POSTGRES_INFORMATION_SCHEMA: Readonly<Record<string, CatalogRule>> = {
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
