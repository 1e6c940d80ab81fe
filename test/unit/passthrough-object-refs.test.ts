import { bundledRegistry } from '../../src/views/load';
import { checkSql, loadSqlParser } from '../../src/passthrough/guard/guard';
import type { SelectStatement } from '../../src/passthrough/guard/statements';
import { makeVerifier } from '../../src/passthrough/scram';
import { SqlRefusal } from '../../src/passthrough/sqlstate';
import type { SqlUser } from '../../src/passthrough/users';
import { sqlUser } from '../helpers/sqlUsers';

// Object OIDs and names in passthrough statements (guard/objectRefs.ts, guard/expressionRules.ts):
// what may reach a reg* cast or an OID-taking function, with Postgres' name scoping, and the
// bounded generate_series forms pgjdbc needs. The engine-side proof (nothing hidden is listed) is in
// test/integration/passthrough-catalog.test.ts.

const ANALYST: SqlUser = sqlUser('ana', 'analyst');

beforeAll(async () => loadSqlParser());

const select = (sql: string): SelectStatement => {
  const [s] = checkSql(sql, { user: ANALYST, maxRows: 100, views: bundledRegistry() });
  if (s?.kind !== 'select') throw new Error(`expected a select, got ${s?.kind}`);
  return s;
};
function refusal(sql: string): SqlRefusal {
  try {
    checkSql(sql, { user: ANALYST, maxRows: 100, views: bundledRegistry() });
  } catch (err) {
    if (err instanceof SqlRefusal) return err;
    throw err;
  }
  throw new Error(`not refused: ${sql}`);
}

describe('reg* casts of names: hidden and missing look the same', () => {
  it.each([
    ["'outbox'::regclass", "'nosuch'::regclass", '42P01', 'relation "outbox" does not exist'],
    ["'wavegate.changes'::pg_catalog.regclass", "'nosuch.changes'::regclass", '42P01', 'relation "wavegate.changes" does not exist'],
    ["regclass 'trip_history__base'", "regclass 'nosuch__base'", '42P01', 'relation "trip_history__base" does not exist'],
    ["CAST('pgivm.pg_ivm_immv' AS regclass)", "CAST('pgivm.nosuch' AS regclass)", '42P01', 'relation "pgivm.pg_ivm_immv" does not exist'],
    ["'16390'::regclass", "'99999999'::regclass", '42P01', 'relation "16390" does not exist'],
    ["'outbox'::regtype", "'nosuch'::regtype", '42704', 'type "outbox" does not exist'],
    ["'wavegate'::regnamespace", "'nosuch'::regnamespace", '3F000', 'schema "wavegate" does not exist'],
    ["'pgivm.create_immv'::regproc", "'pgivm.nosuch'::regproc", '42883', 'function "pgivm.create_immv" does not exist'],
    ["'pg_catalog.now()'::regprocedure", "'nosuch()'::regprocedure", '42883', 'function "pg_catalog.now()" does not exist'],
    ["'postgres'::regrole", "'nosuch'::regrole", '42704', 'role "postgres" does not exist'],
  ])('%s is refused like %s', (hidden, missing, state, message) => {
    const h = refusal(`SELECT ${hidden}`);
    const m = refusal(`SELECT ${missing}`);
    expect([h.sqlState, h.message]).toEqual([state, message]);
    expect([m.sqlState, m.message.replace(/"[^"]*"/, 'NAME')]).toEqual([state, message.replace(/"[^"]*"/, 'NAME')]);
  });

  it('resolves names a client may see, rewritten to plain OIDs so no literal can be compared with them', () => {
    const s = select("SELECT 'trip_history'::regclass, 'public.rider_stats'::regclass, 'pg_class'::regclass, 'information_schema.tables'::regclass,"
      + " 'pg_catalog.array_in'::regproc, 'int4'::regtype, 'double precision[]'::regtype, 'public'::regnamespace, NULL::regclass");
    expect(s.sql).toContain("SELECT 'trip_history'::regclass::pg_catalog.oid, 'public.rider_stats'::regclass::pg_catalog.oid, 'pg_class'::regclass::pg_catalog.oid,");
    expect(s.sql).toContain("'public'::regnamespace::pg_catalog.oid, NULL::regclass::pg_catalog.oid");
    // A cast applied at once to the value needs no rewrite.
    expect(select("SELECT 'trip_history'::regclass::text").sql).toContain("'trip_history'::regclass::text\n");
  });
});

describe('object OIDs come only from catalog columns', () => {
  it.each([
    'SELECT 16390::regclass',
    'SELECT g::oid::regclass FROM unnest(ARRAY[16384, 16390]) g',
    'SELECT $1::regclass',
    "SELECT '{outbox}'::regclass[]",
    "SELECT ARRAY['outbox']::regclass[]",
    "SELECT ('out' || 'box')::regclass",
    "SELECT 'outbox'::text::regclass",
    'SELECT pg_get_indexdef(16400)',
    'SELECT pg_catalog.pg_get_constraintdef(16400, true)',
    'SELECT format_type(16390, NULL)',
    'SELECT pg_get_userbyid(10)',
    'SELECT pg_table_is_visible($1)',
    'SELECT obj_description(16390, $$pg_class$$)',
    'SELECT pg_get_expr(d.adbin, 16390) FROM pg_attrdef d',
    'SELECT pg_get_indexdef(c.oid + 0) FROM pg_class c',
    'SELECT pg_get_indexdef(trip_history.event_count) FROM trip_history',
    // Shadowing and scoping: `c` is not the pg_class where Postgres binds it.
    'SELECT (SELECT 1 FROM pg_class c LIMIT 1), pg_get_indexdef(c.oid) FROM (VALUES (16400::oid)) c(oid)',
    'SELECT 1 FROM pg_class c, pg_namespace n JOIN (VALUES (16400::oid)) v(oid) ON pg_get_indexdef(c.oid) IS NOT NULL',
    'SELECT pg_get_indexdef(c.oid) FROM (pg_class c JOIN pg_namespace n ON true) j',
    'SELECT * FROM pg_class c, (SELECT pg_get_indexdef(c.oid) FROM (VALUES (16400::oid)) v(x)) s',
    'SELECT pg_get_indexdef(oid) FROM pg_class, (VALUES (16400::oid)) v(oid)',
    'SELECT pg_get_indexdef(oid) FROM (VALUES (16400::oid)) v(oid)',
    // Derived tables and CTEs pass on only what they read unchanged from the catalog.
    'SELECT pg_get_indexdef(s.o) FROM (SELECT c.oid + 0 AS o FROM pg_class c) s',
    'SELECT pg_get_indexdef(s.a) FROM (SELECT 16400::oid AS x, c.oid AS y FROM pg_class c) s(y, a)',
    'SELECT pg_get_indexdef(s.oid) FROM (SELECT c.oid FROM pg_class c UNION SELECT 16400::oid) s',
    'WITH x AS (SELECT 16400::oid AS oid) SELECT pg_get_indexdef(x.oid) FROM x',
    'WITH RECURSIVE x(oid) AS (SELECT c.oid FROM pg_class c UNION SELECT 16400::oid FROM x) SELECT pg_get_indexdef(x.oid) FROM x',
    // Other positions of a reg* type.
    `SELECT json_value('"outbox"', '$' RETURNING regclass)`,
  ])('%s → 42501', (sql) => {
    expect(refusal(sql).sqlState).toBe('42501');
  });

  it.each([
    'SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i',
    'SELECT pg_get_indexdef(i.indexrelid, 0, true), pg_get_expr(i.indpred, i.indrelid) FROM pg_catalog.pg_index i',
    'SELECT format_type(atttypid, atttypmod) FROM pg_attribute',
    'SELECT x.o::regclass FROM (SELECT c.oid AS o FROM pg_class c) x',
    'WITH x AS (SELECT c.oid FROM pg_class c) SELECT pg_get_indexdef(x.oid) FROM x',
    'SELECT * FROM pg_class c, LATERAL (SELECT pg_get_indexdef(c.oid)) s',
    'SELECT p.proargtypes::regtype[] FROM pg_proc p',
    'SELECT pg_catalog.pg_get_userbyid(c.relowner), pg_catalog.pg_table_is_visible(c.oid) FROM pg_catalog.pg_class c',
    "SELECT format_type('int4'::regtype, NULL)",
    'SELECT pg_get_expr(d.adbin, 0) FROM pg_attrdef d',
  ])('%s is allowed', (sql) => {
    expect(select(sql).kind).toBe('select');
  });

  it('rewrites a catalog column\'s reg* value to its text, so comparing it with a literal looks nothing up', () => {
    expect(select("SELECT c.oid FROM pg_class c WHERE c.oid::regclass = 'outbox'").sql).toContain("c.oid::regclass::pg_catalog.text = 'outbox'");
    expect(select('SELECT CAST(c.oid AS regclass) FROM pg_class c').sql).toContain('CAST(c.oid AS regclass)::pg_catalog.text FROM');
    expect(select('SELECT c.oid :: pg_catalog . regclass [] FROM pg_class c').sql).toContain('c.oid :: pg_catalog . regclass []::pg_catalog.text FROM');
  });
});

describe('what psql and pgjdbc send still passes', () => {
  it.each([
    // psql 15 \d trip_history and \dC
    `SELECT c.relchecks, c.relkind, false AS relhasoids, CASE WHEN c.reloftype = 0 THEN '' ELSE c.reloftype::pg_catalog.regtype::pg_catalog.text END
      FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid) WHERE c.oid = '16476'`,
    `SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
      (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) FROM pg_catalog.pg_attrdef d WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef)
      FROM pg_catalog.pg_attribute a WHERE a.attrelid = '16476' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    `SELECT pg_catalog.format_type(castsource, NULL) AS "Source type", pg_catalog.format_type(casttarget, NULL) AS "Target type"
      FROM pg_catalog.pg_cast c LEFT JOIN pg_catalog.pg_proc p ON c.castfunc = p.oid LEFT JOIN pg_catalog.pg_type ts ON c.castsource = ts.oid`,
    // pgjdbc 42.7.13: getTables, TypeInfoCache, getImportedKeys, getIndexInfo, getFunctions
    `SELECT c.relname FROM pg_catalog.pg_namespace n, pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_description d
      ON (c.oid = d.objoid AND d.objsubid = 0 and d.classoid = 'pg_class'::regclass) WHERE c.relnamespace = n.oid AND c.relname LIKE $1`,
    `SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid FROM pg_catalog.pg_type
      LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r from pg_namespace as ns
        join ( select s.r, (current_schemas(false))[s.r] as nspname from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r
        using ( nspname ) ) as sp ON sp.nspoid = typnamespace WHERE pg_type.oid = $1 ORDER BY sp.r, pg_type.oid DESC`,
    `SELECT setting FROM pg_catalog.pg_settings WHERE name='max_index_keys'`,
    `SELECT pkn.nspname, pos.n FROM pg_catalog.pg_namespace pkn, pg_catalog.pg_class pkc, pg_catalog.pg_attribute pka,
      pg_catalog.pg_constraint con, pg_catalog.generate_series(1, 32) pos(n), pg_catalog.pg_class pkic
      WHERE pkn.oid = pkc.relnamespace AND pkc.oid = pka.attrelid AND pka.attnum = con.confkey[pos.n] AND pkic.oid = con.conindid`,
    `SELECT trim(both '"' from pg_catalog.pg_get_indexdef(tmp.CI_OID, tmp.ORDINAL_POSITION, false)) AS "COLUMN_NAME"
      FROM (SELECT (information_schema._pg_expandarray(i.indkey)).n AS ORDINAL_POSITION, ci.oid AS CI_OID,
        pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS FILTER_CONDITION FROM pg_catalog.pg_class ct
        JOIN pg_catalog.pg_index i ON (ct.oid = i.indrelid) JOIN pg_catalog.pg_class ci ON (ci.oid = i.indexrelid)) AS tmp`,
    `SELECT CASE WHEN (format_type(p.prorettype, null) = 'unknown') THEN 0 WHEN (substring(pg_get_function_result(p.oid) from 0 for 6) = 'TABLE') THEN 2 ELSE 1 END
      FROM pg_catalog.pg_proc p INNER JOIN pg_catalog.pg_namespace n ON p.pronamespace=n.oid`,
  ])('%s', (sql) => {
    expect(select(sql).kind).toBe('select');
  });
});

describe('generate_series only in bounded forms', () => {
  it.each([
    'SELECT * FROM generate_series(1, 32) pos(n)',
    'SELECT * FROM pg_catalog.generate_series(1, 1000)',
    'SELECT * FROM generate_series(10, 1, -1)',
    'SELECT * FROM generate_series(1, array_upper(current_schemas(true), 1)) s(r)',
  ])('%s is allowed', (sql) => {
    expect(select(sql).kind).toBe('select');
  });

  it.each([
    'SELECT * FROM generate_series(1, 1001)',
    'SELECT * FROM generate_series(1, 100000000)',
    'SELECT * FROM generate_series(1, 10, 0)',
    'SELECT * FROM generate_series(1, $1)',
    'SELECT * FROM generate_series(1, (SELECT 5))',
    'SELECT * FROM generate_series(1, 3000000000)',
    'SELECT * FROM generate_series(1, array_upper(ARRAY[1,2,3], 1))',
    "SELECT * FROM generate_series(now(), now() + interval '1 day', interval '1 second')",
    'SELECT * FROM generate_series(start => 1, stop => 5)',
  ])('%s → 42501', (sql) => {
    expect(refusal(sql).sqlState).toBe('42501');
  });
});
