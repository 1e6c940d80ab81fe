import { join } from 'node:path';
import pg from 'pg';
import { EmbeddedEngine } from '../../src/engine/embedded/engine';
import { RisingWaveEngine } from '../../src/engine/risingwave/engine';
import { IdleFeed } from '../../src/engine/risingwave/idleFeed';
import type { Engine } from '../../src/engine/types';
import { silentLogger } from '../../src/log';
import { writeEvents } from '../../src/outbox/writer';
import { startSqlPassthrough, type SqlPassthrough } from '../../src/passthrough';
import { ALLOWED_FUNCTIONS } from '../../src/passthrough/allowlist';
import { catalogRule, exposedCatalogRelations } from '../../src/passthrough/catalog';
import { OBJECT_OID_ARGS } from '../../src/passthrough/guard/objectRefs';
import { bundledRegistry } from '../../src/views/load';
import { createPgDatabase, createRisingWaveStandIn, pgExecutor, type PgTestDatabase } from '../conformance/databases';
import { FIXTURE_RIDES } from '../conformance/fixture';
import { client, PASSWORDS, psql, sqlState, USERS, type SuiteUser } from '../fixtures/pgwire/harness';
import { compileJava, runJava } from '../helpers/pgjdbc';

// The passthrough's catalog, as BI drivers and a hostile analyst use it, on each catalog flavour:
// the embedded engine (PostgreSQL 18 in PGlite), PostgreSQL standing in for RisingWave, and the same
// PostgreSQL answering version() like RisingWave, so the passthrough applies RisingWave's catalog
// rules and PostgreSQL executes the SQL they generate (no RisingWave can run here).

interface Target {
  readonly engine: Engine;
  close(): Promise<void>;
}

async function standIn(): Promise<{ db: PgTestDatabase; engine: RisingWaveEngine }> {
  const db = await createPgDatabase();
  await createRisingWaveStandIn(db);
  await db.client.query('BEGIN');
  for (const ride of FIXTURE_RIDES) await writeEvents(pgExecutor(db.client), ride);
  await db.client.query('COMMIT');
  const engine = await RisingWaveEngine.create({ databaseUrl: db.url, feed: new IdleFeed(), log: silentLogger,
    statementTimeoutMs: 30_000, healthIntervalMs: 60_000 });
  return { db, engine };
}

/** `engine`, but reporting RisingWave v3.0.3's version strings (src/common/src/lib.rs at v3.0.3). */
function asRisingWave(engine: Engine): Engine {
  return new Proxy(engine, {
    get(target, key) {
      if (key === 'query') {
        return (sql: string, params?: readonly unknown[]) => {
          if (/^SELECT pg_catalog\.version\(\) AS v$/.test(sql)) return Promise.resolve([{ v: 'PostgreSQL 13.14.0-RisingWave-3.0.3 (stand-in)' }]);
          if (/current_setting\('server_version'\)/.test(sql)) return Promise.resolve([{ v: '13.14.0', tz: 'UTC' }]);
          return target.query(sql, params as unknown[]);
        };
      }
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

const TARGETS: ReadonlyArray<[string, () => Promise<Target>]> = [
  ['embedded engine (PGlite)', async () => {
    const engine = await EmbeddedEngine.create({ log: silentLogger });
    for (const ride of FIXTURE_RIDES) await engine.transaction((tx) => writeEvents(tx, ride));
    return { engine, close: () => engine.close() };
  }],
  ['PostgreSQL standing in for RisingWave', async () => {
    const { db, engine } = await standIn();
    return { engine, close: async () => { await engine.close(); await db.drop(); } };
  }],
  ['RisingWave catalog rules, PostgreSQL executing', async () => {
    const { db, engine } = await standIn();
    return { engine: asRisingWave(engine), close: async () => { await engine.close(); await db.drop(); } };
  }],
];

const HIDDEN = /outbox|__base|wavegate\.|pgivm|pg_ivm|changes|\bmeta\b/;

/** What JdbcCatalog prints for `user` (rows by the row policy: riders see their own trips). */
function expectedJdbc(user: SuiteUser): string[] {
  const columns = bundledRegistry().views.slice().sort((a, b) => a.name.localeCompare(b.name)).flatMap((v) => v.columns.map((c) => `column public.${v.name}.${c.name}`));
  const trips = user === 'rita' ? ['ride-1', 'ride-2'] : ['ride-1', 'ride-2', 'ride-3', 'ride-4'];
  const took: Record<string, string> = { 'ride-1': '00:20:00', 'ride-2': '00:19:30', 'ride-3': 'null', 'ride-4': 'null' };
  const status: Record<string, string> = { 'ride-1': 'COMPLETED', 'ride-2': 'COMPLETED', 'ride-3': 'CANCELLED', 'ride-4': 'REQUESTED' };
  return [
    'typeinfo true hidden 0', ...columns, 'columns system true hidden 0', 'importedkeys 0', 'primarykeys 0',
    'schema information_schema', 'schema pg_catalog', 'schema public',
    ...bundledRegistry().views.map((v) => `table public.${v.name} VIEW`).sort(), 'tables hidden 0',
    'interval type interval', ...trips.map((t) => `interval ${t} ${took[t]}`),
    'jsonb type jsonb 1111', ...trips.map((t) => `jsonb ${t} {"status":"${status[t]}"}`),
  ];
}

describe.each(TARGETS)('SQL passthrough catalog: %s', (name, make) => {
  const risingwave = name.startsWith('RisingWave');
  let target: Target;
  let server: SqlPassthrough;
  let classes: string;
  const open: pg.Client[] = [];
  const connect = async (user: SuiteUser) => {
    const c = await client(server.port, user);
    open.push(c);
    return c;
  };
  /** Error code and message of a statement (or 'ok'). */
  const outcome = async (c: pg.Client, sql: string): Promise<string> => c.query(sql).then(
    () => 'ok', (e: { code?: string; message?: string }) => `${e.code} ${e.message}`);

  beforeAll(async () => {
    classes = compileJava([join(__dirname, '../fixtures/pgwire/JdbcCatalog.java')]);
    target = await make();
    server = await startSqlPassthrough({ port: 0, engine: target.engine, users: USERS, log: silentLogger, statementTimeoutMs: 20_000 });
  }, 300_000);
  afterAll(async () => {
    for (const c of open) await c.end().catch(() => undefined);
    await server?.close();
    await target?.close();
  });

  it.each<SuiteUser>(['olga', 'rita', 'ana'])('pgjdbc as %s: getTypeInfo, getColumns over all schemas, keys, schemas, tables, interval and jsonb columns', async (user) => {
    const out = await runJava(classes, 'JdbcCatalog', [String(server.port), user, PASSWORDS[user]]);
    const got = out.trim().split('\n').map((l) => l.replace(/ (int4|int8|varchar|text|numeric|date|float8|timestamptz)$/, ''));
    expect(got).toEqual(expectedJdbc(user));
  }, 120_000);

  it('answers a hidden name like a missing one: reg* casts are no existence oracle', async () => {
    const c = await connect('ana');
    const pairs: Array<[string, string]> = [
      ["SELECT 'outbox'::regclass", "SELECT 'nosuch'::regclass"],
      ["SELECT 'wavegate.changes'::regclass", "SELECT 'nosuch.changes'::regclass"],
      ["SELECT 'pgivm.pg_ivm_immv'::pg_catalog.regclass", "SELECT 'pgivm.nosuch'::pg_catalog.regclass"],
      ["SELECT CAST('trip_history__base' AS regclass)", "SELECT CAST('nosuch__base' AS regclass)"],
      ["SELECT 'outbox'::regtype", "SELECT 'nosuch'::regtype"],
      ["SELECT 'wavegate'::regnamespace", "SELECT 'nosuch'::regnamespace"],
      ["SELECT 'pgivm.create_immv'::regproc", "SELECT 'pgivm.nosuch'::regproc"],
    ];
    for (const [hidden, missing] of pairs) {
      const h = await outcome(c, hidden);
      expect(h).not.toBe('ok');
      expect(h.replace(/"[^"]*"/, 'NAME')).toBe((await outcome(c, missing)).replace(/"[^"]*"/, 'NAME'));
    }
    // Names a client may see resolve.
    expect((await c.query("SELECT 'trip_history'::regclass::oid > 0 AS a, 'pg_class'::regclass::oid = 1259 AS b")).rows).toEqual([{ a: true, b: true }]);
  });

  it('refuses object OIDs that do not come from the catalog (42501): no listing of hidden objects by OID range', async () => {
    const c = await connect('ana');
    for (const sql of [
      'SELECT g::oid::regclass FROM unnest(ARRAY[16384, 16390, 16400]) g',
      'SELECT 16390::regclass', "SELECT '16390'::oid::regtype", 'SELECT x::regprocedure FROM (VALUES (16500::oid)) v(x)',
      'SELECT pg_get_indexdef(16400)', 'SELECT pg_get_constraintdef(g::oid) FROM unnest(ARRAY[16400]) g',
      'SELECT format_type(16390, NULL)', 'SELECT obj_description(16390)', 'SELECT pg_get_function_arguments(16500)',
      'SELECT pg_get_userbyid(10)', 'SELECT pg_table_is_visible(16390)', 'SELECT $1::regclass',
      // Shadowing: the inner pg_class is not what `c` means here, and CTEs/subqueries pass no constants on.
      'SELECT (SELECT 1 FROM pg_class c LIMIT 1), pg_get_indexdef(c.oid) FROM (VALUES (16400::oid)) c(oid)',
      'WITH x AS (SELECT 16400::oid AS oid) SELECT pg_get_indexdef(x.oid) FROM x',
      'SELECT pg_get_indexdef(s.oid) FROM (SELECT oid + 0 AS oid FROM pg_class) s',
      'SELECT * FROM pg_class c, (SELECT pg_get_indexdef(c.oid) FROM (VALUES (16400::oid)) v(c)) s',
    ]) {
      expect([sql, await sqlState(c.query(sql.includes('$1') ? { text: sql, values: ['outbox'] } : sql))]).toEqual([sql, '42501']);
    }
  });

  it('lets catalog columns through, and what they name is only what a client may see', async () => {
    const c = await connect('ana');
    const names = await c.query('SELECT c.oid::regclass::text AS n FROM pg_class c');
    expect(names.rows.length).toBeGreaterThan(50);
    expect(names.rows.map((r) => r.n as string).filter((n) => HIDDEN.test(n))).toEqual([]);
    const defs = await c.query('SELECT pg_get_indexdef(i.indexrelid) AS d FROM pg_index i');
    expect(defs.rows.length).toBeGreaterThan(10);
    expect(defs.rows.map((r) => r.d as string).filter((d) => HIDDEN.test(d))).toEqual([]);
    const types = await c.query('SELECT format_type(t.oid, NULL) AS f FROM pg_type t');
    expect(types.rows.map((r) => r.f as string).filter((f) => HIDDEN.test(f))).toEqual([]);
    // psql's and pgjdbc's shapes: a chain of casts, a correlated subquery, a subquery passing an OID on.
    expect((await c.query(`SELECT c.reloftype::pg_catalog.regtype::pg_catalog.text AS t FROM pg_catalog.pg_class c WHERE c.relname = 'trip_history'`)).rows)
      .toEqual([{ t: '-' }]);
    const cols = await c.query(`SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) AS t,
        (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) FROM pg_catalog.pg_attrdef d WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum) AS def
      FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class k ON k.oid = a.attrelid WHERE k.relname = 'rider_stats' AND a.attnum > 0 ORDER BY a.attnum LIMIT 2`);
    expect(cols.rows).toEqual([{ attname: 'rider_id', t: 'text', def: null }, { attname: 'trips', t: 'bigint', def: null }]);
    expect((await c.query(`SELECT count(pg_get_indexdef(tmp.ci_oid)) >= 0 AS ok FROM (SELECT ci.oid AS CI_OID FROM pg_catalog.pg_class ci) tmp`)).rows)
      .toEqual([{ ok: true }]);
  });

  it('never lets a reg* value meet a literal (PostgreSQL would look the literal up by name)', async () => {
    const c = await connect('ana');
    const probe = async (sql: string) => (await outcome(c, sql)).replace(/"[^"]*"/, 'NAME');
    const regclass = (name: string) => probe(`SELECT count(*) FROM pg_class c WHERE c.oid::regclass = '${name}'`);
    expect(await regclass('pgivm.pg_ivm_immv')).toBe(await regclass('pgivm.nosuch'));
    const typinput = (name: string) => probe(`SELECT count(*) FROM pg_type WHERE typinput = '${name}'`);
    expect(await typinput('pgivm.create_immv')).toBe(await typinput('pgivm.nosuch'));
    expect(await outcome(c, "SELECT 1 FROM pg_type WHERE typinput = 'pg_catalog.array_in'::regproc LIMIT 1")).toBe('ok');
    expect(await sqlState(c.query("SELECT json_value('\"outbox\"', '$' RETURNING regclass)"))).toBe('42501');
  });

  it('allows generate_series only in bounded forms', async () => {
    const c = await connect('ana');
    expect((await c.query('SELECT count(*)::int AS n FROM generate_series(1, 32) pos(n)')).rows).toEqual([{ n: 32 }]);
    expect((await c.query('SELECT count(*)::int AS n FROM generate_series(1, array_upper(current_schemas(false), 1)) s(r)')).rows[0].n).toBeGreaterThan(0);
    for (const sql of ['SELECT count(*) FROM generate_series(1, 1001)', 'SELECT count(*) FROM generate_series(1, (SELECT 5))',
      "SELECT count(*) FROM generate_series(now(), now() + interval '1 day', interval '1 second')"]) {
      expect([sql, await sqlState(c.query(sql))]).toEqual([sql, '42501']);
    }
  });

  it('applies the catalog rules of its engine', async () => {
    const c = await connect('olga');
    const views = await c.query('SELECT * FROM information_schema.views');
    expect(views.fields.map((f) => f.name)).toEqual(risingwave
      ? ['table_catalog', 'table_schema', 'table_name', 'view_definition']
      : ['table_catalog', 'table_schema', 'table_name', 'view_definition', 'check_option', 'is_updatable', 'is_insertable_into',
        'is_trigger_updatable', 'is_trigger_deletable', 'is_trigger_insertable_into']);
    for (const rel of ['pg_aggregate', 'pg_policy', 'pg_publication', 'information_schema.routines']) {
      expect([rel, (await outcome(c, `SELECT count(*) FROM ${rel}`)).slice(0, 5)]).toEqual([rel, risingwave ? '42P01' : 'ok']);
    }
    expect(await sqlState(c.query('SELECT * FROM pg_roles'))).toBe('42501');
    const recursive = c.query('WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT count(*)::int AS n FROM t');
    if (name.startsWith('PostgreSQL')) expect((await recursive).rows).toEqual([{ n: 3 }]);
    else expect(await sqlState(recursive)).toBe('0A000');
    const d = await psql(server.port, 'olga', PASSWORDS.olga, ['-c', '\\d', '-c', '\\dC']);
    expect(d.stderr).toBe('');
    expect(d.stdout.split('\n').filter((l) => l.startsWith('public|')).map((l) => l.split('|')[1])).toEqual(bundledRegistry().views.map((v) => v.name).sort());
  });

  if (name.startsWith('embedded')) {
    it('every allowlisted function taking an OID is covered, and every regproc column of an exposed relation is exposed as oid', async () => {
      const oidTypes = "ARRAY['oid','regclass','regproc','regprocedure','regtype','regnamespace','regrole','regoper','regoperator','regdictionary','regcollation']::regtype[]::oid[]";
      const fns = await target.engine.query<{ proname: string }>(
        `SELECT DISTINCT proname FROM pg_proc WHERE proname = ANY($1) AND proargtypes::oid[] && ${oidTypes} ORDER BY 1`, [[...ALLOWED_FUNCTIONS]]);
      // Casts and aggregates over OID values name no object.
      expect(fns.map((r) => r.proname).filter((f) => !OBJECT_OID_ARGS.has(f))).toEqual(['int8', 'max', 'min']);
      const regCols = await target.engine.query<{ rel: string; col: string }>(`SELECT c.relname AS rel, a.attname AS col FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'pg_catalog' AND a.attnum > 0 AND a.atttypid::regtype::text LIKE 'reg%' AND c.relname = ANY($1)`,
      [exposedCatalogRelations('postgres', 'pg_catalog')]);
      expect(regCols.length).toBeGreaterThan(10);
      for (const { rel, col } of regCols) {
        expect([rel, col, catalogRule('postgres', 'pg_catalog', rel)?.columns?.some((c) => typeof c !== 'string' && c.name === col && 'asOid' in c)])
          .toEqual([rel, col, true]);
      }
    });

    it('a cross join of allowed series is refused by the cost gate, not run', async () => {
      const c = await connect('ana');
      expect(await sqlState(c.query('SELECT count(*) FROM generate_series(1, 1000) a, generate_series(1, 1000) b, generate_series(1, 1000) c'))).toBe('54000');
    });
  }
});
