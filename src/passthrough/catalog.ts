import type { Registry } from '../views/model';
import { CATALOG_ALIAS, type CatalogRule, withPublishedViews } from './catalogFilters';
import { POSTGRES_INFORMATION_SCHEMA, POSTGRES_PG_CATALOG } from './catalogPostgres';
import {
  RISINGWAVE_INFORMATION_SCHEMA, RISINGWAVE_INFORMATION_SCHEMA_RELATIONS, RISINGWAVE_PG_CATALOG, RISINGWAVE_PG_CATALOG_RELATIONS,
} from './catalogRisingWave';

/**
 * The catalog as a passthrough client sees it: every reference to an allowed pg_catalog or
 * information_schema relation is replaced by a subquery over the same relation that keeps only rows
 * about the published views, the `public`, `pg_catalog` and `information_schema` schemas and the
 * system's own objects. So `\dt`, `\d trip_history`, JDBC's getTables/getColumns and
 * information_schema.columns work unchanged, and the engine's other objects (the outbox, the embedded
 * engine's `*__base` tables and `wavegate`/`pgivm` schemas, other databases) are not there.
 *
 * The rules depend on the engine's catalog ({@link CatalogFlavor}): PostgreSQL's (the embedded
 * engine, PostgreSQL 18 in PGlite; PostgreSQL standing in for RisingWave in tests) or RisingWave's
 * own (catalogRisingWave.ts). Catalog relations the engine has but no rule exposes (pg_authid,
 * pg_roles, pg_stat_*, pg_locks, pg_file_settings, ...) are refused with 42501; on RisingWave, names
 * it does not have at all are 42P01, as for any missing relation.
 */

export { CATALOG_ALIAS, type CatalogColumn, type CatalogRule } from './catalogFilters';

/** Whose catalog the engine has. */
export type CatalogFlavor = 'postgres' | 'risingwave';

/** The two catalog schemas. */
export type CatalogSchema = 'pg_catalog' | 'information_schema';

const RULES: Readonly<Record<CatalogFlavor, Readonly<Record<CatalogSchema, Readonly<Record<string, CatalogRule>>>>>> = {
  postgres: { pg_catalog: POSTGRES_PG_CATALOG, information_schema: POSTGRES_INFORMATION_SCHEMA },
  risingwave: { pg_catalog: RISINGWAVE_PG_CATALOG, information_schema: RISINGWAVE_INFORMATION_SCHEMA },
};

const RISINGWAVE_RELATIONS: Readonly<Record<CatalogSchema, ReadonlySet<string>>> = {
  pg_catalog: new Set(RISINGWAVE_PG_CATALOG_RELATIONS),
  information_schema: new Set(RISINGWAVE_INFORMATION_SCHEMA_RELATIONS),
};

const own = (table: object, name: string): boolean => Object.prototype.hasOwnProperty.call(table, name);

/** The rule for `schema.name` on this flavour of catalog, or undefined when it is not exposed. */
export function catalogRule(flavor: CatalogFlavor, schema: CatalogSchema, name: string): CatalogRule | undefined {
  const table = RULES[flavor][schema];
  return own(table, name) ? table[name] : undefined;
}

/** Names of the relations of `schema` a rule exposes on this flavour. */
export function exposedCatalogRelations(flavor: CatalogFlavor, schema: CatalogSchema): readonly string[] {
  return Object.keys(RULES[flavor][schema]);
}

/**
 * Whether the engine's catalog is known not to have `schema.name` (42P01 rather than 42501).
 * Only RisingWave's list is complete here; on PostgreSQL an unexposed name is refused as such.
 */
export function catalogRelationMissing(flavor: CatalogFlavor, schema: CatalogSchema, name: string): boolean {
  return flavor === 'risingwave' && !RISINGWAVE_RELATIONS[schema].has(name);
}

/** The filtering subquery that replaces a reference to `schema.name` (without alias). */
export function catalogSubquery(schema: CatalogSchema, name: string, rule: CatalogRule, views: Registry): string {
  const cols = rule.columns === undefined ? '*' : rule.columns.map((c) => {
    if (typeof c === 'string') return `${CATALOG_ALIAS}.${c}`;
    return 'nullAs' in c ? `NULL::${c.nullAs} AS ${c.name}` : `${CATALOG_ALIAS}.${c.name}::pg_catalog.oid AS ${c.name}`;
  }).join(', ');
  const where = rule.filter === undefined ? '' : ` WHERE ${withPublishedViews(rule.filter, views)}`;
  return `(SELECT ${cols} FROM ${schema}.${name} AS ${CATALOG_ALIAS}${where})`;
}
