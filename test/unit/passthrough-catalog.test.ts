import { bundledRegistry } from '../../src/views/load';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSync } from 'libpg-query';
import {
  catalogRelationMissing, catalogRule, catalogSubquery, exposedCatalogRelations, type CatalogFlavor, type CatalogSchema,
} from '../../src/passthrough/catalog';
import { checkSql, loadSqlParser } from '../../src/passthrough/guard/guard';
import type { SelectStatement } from '../../src/passthrough/guard/statements';
import { makeVerifier } from '../../src/passthrough/scram';
import { SqlRefusal } from '../../src/passthrough/sqlstate';
import type { SqlUser } from '../../src/passthrough/users';
import { sqlUser } from '../helpers/sqlUsers';

// The catalog rules per engine. RisingWave cannot run here, so its rules are checked against the
// relations and columns RisingWave v3.0.3 declares (test/fixtures/risingwave/system-catalog-v3.0.3.json,
// read from its source); PostgreSQL executes them in test/integration/passthrough-catalog.test.ts.

const RW: Record<string, { source: string; columns: string[] }> = (JSON.parse(
  readFileSync(join(__dirname, '../fixtures/risingwave/system-catalog-v3.0.3.json'), 'utf8')) as { relations: Record<string, { source: string; columns: string[] }> }).relations;

const OPS: SqlUser = sqlUser('olga', 'ops');

beforeAll(async () => loadSqlParser());

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);
const sval = (v: unknown): string | undefined => (isNode(v) && isNode(v['String']) ? String(v['String']['sval']) : undefined);

/**
 * Every relation and column the SQL names, checked against RisingWave's catalog: relations must
 * exist, `alias.column` must be a column of the aliased relation, an unqualified column a column of
 * a relation of its query level (or an outer one). Returns the problems found.
 */
function rwProblems(sql: string): string[] {
  const problems: string[] = [];
  const walkSelect = (s: Node, outer: Array<Map<string, string>>): void => {
    const level = new Map<string, string>();
    const stack = [level, ...outer];
    const from = (item: unknown): void => {
      if (!isNode(item)) return;
      const rv = item['RangeVar'];
      if (isNode(rv)) {
        const key = `${String(rv['schemaname'] ?? 'pg_catalog')}.${String(rv['relname'])}`;
        if (RW[key] === undefined) problems.push(`relation ${key}`);
        level.set(isNode(rv['alias']) ? String(rv['alias']['aliasname']) : String(rv['relname']), key);
      } else if (isNode(item['JoinExpr'])) {
        from(item['JoinExpr']['larg']);
        from(item['JoinExpr']['rarg']);
        walk(item['JoinExpr']['quals'], stack);
      } else {
        walk(item, outer);
      }
    };
    ((s['fromClause'] as unknown[] | undefined) ?? []).forEach(from);
    for (const [k, v] of Object.entries(s)) if (k !== 'fromClause') walk(v, stack);
  };
  const columnOk = (fields: Array<string | undefined>, stack: Array<Map<string, string>>): boolean => {
    const col = fields[fields.length - 1];
    if (col === undefined) return true; // `*`
    if (fields.length === 1) return stack.some((level) => [...level.values()].some((rel) => RW[rel]?.columns.includes(col)));
    const rel = stack.map((level) => level.get(fields[fields.length - 2]!)).find((r) => r !== undefined);
    return rel !== undefined && (RW[rel]?.columns.includes(col) ?? false);
  };
  const walk = (v: unknown, stack: Array<Map<string, string>>): void => {
    if (Array.isArray(v)) return v.forEach((x) => walk(x, stack));
    if (!isNode(v)) return;
    if (isNode(v['SelectStmt'])) return walkSelect(v['SelectStmt'], stack);
    const ref = v['ColumnRef'];
    if (isNode(ref)) {
      const fields = (ref['fields'] as unknown[]).map(sval);
      if (!columnOk(fields, stack)) problems.push(`column ${fields.join('.')}`);
      return;
    }
    Object.values(v).forEach((x) => walk(x, stack));
  };
  walk(parseSync(sql), []);
  return problems;
}

describe('catalog rules on RisingWave v3.0.3', () => {
  const schemas: CatalogSchema[] = ['pg_catalog', 'information_schema'];

  it.each(schemas.flatMap((s) => exposedCatalogRelations('risingwave', s).map((n) => [s, n] as const)))(
    '%s.%s names only relations and columns RisingWave has', (schema, name) => {
      const rule = catalogRule('risingwave', schema, name)!;
      expect(rwProblems(`SELECT * FROM ${catalogSubquery(schema, name, rule, bundledRegistry())} AS x`)).toEqual([]);
    });

  it('catches what RisingWave lacks: PostgreSQL\'s rules fail the same check', () => {
    const pg = (schema: CatalogSchema, name: string) => rwProblems(`SELECT * FROM ${catalogSubquery(schema, name, catalogRule('postgres', schema, name)!, bundledRegistry())} AS x`);
    expect(pg('information_schema', 'views')).toEqual(expect.arrayContaining(['column __wg_r.check_option']));
    expect(pg('pg_catalog', 'pg_policy')).toEqual(['relation pg_catalog.pg_policy', 'column __wg_r.polrelid']);
    expect(pg('pg_catalog', 'pg_type')).toEqual(expect.arrayContaining(['column __wg_r.typowner', 'column __wg_r.typsubscript']));
  });

  it('leaves out what RisingWave lacks, and answers 42P01 for it', () => {
    for (const missing of ['pg_aggregate', 'pg_opfamily', 'pg_policy', 'pg_statistic_ext', 'pg_foreign_table', 'pg_publication',
      'pg_publication_rel', 'pg_publication_namespace']) {
      expect([missing, catalogRule('risingwave', 'pg_catalog', missing), catalogRelationMissing('risingwave', 'pg_catalog', missing)])
        .toEqual([missing, undefined, true]);
      expect(catalogRule('postgres', 'pg_catalog', missing)).toBeDefined();
    }
    expect([...exposedCatalogRelations('risingwave', 'information_schema')].sort())
      .toEqual(['columns', 'key_column_usage', 'schemata', 'table_constraints', 'tables', 'views']);
    // Relations RisingWave has but the passthrough does not expose are refused, not missing.
    expect(catalogRelationMissing('risingwave', 'pg_catalog', 'pg_roles')).toBe(false);
    expect(catalogRelationMissing('postgres', 'pg_catalog', 'pg_aggregate')).toBe(false);
  });

  it('lists information_schema.views with its 4 columns and masks the definition as varchar', () => {
    const views = catalogRule('risingwave', 'information_schema', 'views')!;
    expect(views.columns).toEqual(['table_catalog', 'table_schema', 'table_name', { name: 'view_definition', nullAs: 'varchar' }]);
    expect(RW['information_schema.views']!.columns).toEqual(['table_catalog', 'table_schema', 'table_name', 'view_definition']);
    expect(catalogRule('postgres', 'information_schema', 'views')!.columns).toHaveLength(10);
  });
});

describe('the guard rewrites for the engine it runs on', () => {
  const rewrite = (sql: string, flavor: CatalogFlavor): string => {
    const [s] = checkSql(sql, { user: OPS, maxRows: 100, views: bundledRegistry() });
    return (s as SelectStatement).sqlFor(flavor);
  };
  const refusal = (sql: string, flavor: CatalogFlavor): SqlRefusal | undefined => {
    try {
      checkSql(sql, { user: OPS, maxRows: 100, catalog: flavor, views: bundledRegistry() });
      return undefined;
    } catch (err) {
      return err instanceof SqlRefusal ? err : undefined;
    }
  };

  it('uses each flavour\'s rules', () => {
    const sql = 'SELECT table_name, view_definition FROM information_schema.views';
    expect(rewrite(sql, 'postgres')).toContain('NULL::information_schema.character_data AS view_definition');
    expect(rewrite(sql, 'risingwave')).toContain('NULL::varchar AS view_definition');
    expect(rewrite(sql, 'risingwave')).not.toContain('check_option');
    // PostgreSQL's regproc columns are plain OIDs; RisingWave's typinput is varchar and stays.
    expect(rewrite('SELECT typinput FROM pg_type', 'postgres')).toContain('__wg_r.typinput::pg_catalog.oid AS typinput');
    expect(rewrite('SELECT typinput FROM pg_type', 'risingwave')).toContain('(SELECT * FROM pg_catalog.pg_type AS __wg_r');
  });

  it('refuses relations RisingWave lacks with 42P01 there, and runs them on PostgreSQL', () => {
    expect(refusal('SELECT * FROM pg_aggregate', 'risingwave')?.sqlState).toBe('42P01');
    expect(refusal('SELECT * FROM information_schema.routines', 'risingwave')?.message).toBe('relation "information_schema.routines" does not exist');
    expect(refusal('SELECT * FROM pg_aggregate', 'postgres')).toBeUndefined();
    expect(() => rewrite('SELECT * FROM pg_policy', 'risingwave')).toThrow(/relation "pg_policy" does not exist/);
    expect(refusal('SELECT * FROM pg_roles', 'risingwave')?.sqlState).toBe('42501');
  });

  it('keeps reg* casts as they are for RisingWave (no reg* values there) and wraps them for PostgreSQL', () => {
    const sql = "SELECT c.oid::regclass, 'pg_class'::regclass FROM pg_class c";
    expect(rewrite(sql, 'postgres')).toContain("c.oid::regclass::pg_catalog.text, 'pg_class'::regclass::pg_catalog.oid FROM");
    expect(rewrite(sql, 'risingwave')).toContain("c.oid::regclass, 'pg_class'::regclass FROM");
  });
});
