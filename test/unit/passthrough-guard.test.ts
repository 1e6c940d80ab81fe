import { bundledRegistry } from '../../src/views/load';
import { parseSync } from 'libpg-query';
import { checkSql, loadSqlParser } from '../../src/passthrough/guard/guard';
import type { SelectStatement, Statement } from '../../src/passthrough/guard/statements';
import { makeVerifier } from '../../src/passthrough/scram';
import { SqlRefusal } from '../../src/passthrough/sqlstate';
import type { SqlUser } from '../../src/passthrough/users';
import { sqlUser } from '../helpers/sqlUsers';

const verifier = makeVerifier('unused', 1);
const OPS: SqlUser = sqlUser('olga', 'ops');
const ANALYST: SqlUser = sqlUser('ana', 'analyst');
const RIDER: SqlUser = sqlUser('rita', 'rider', 'rider-1');
const DRIVER: SqlUser = sqlUser('dan', 'driver', 'driver-1');

beforeAll(async () => loadSqlParser());

const check = (sql: string, user: SqlUser = OPS, maxRows = 100): Statement[] => checkSql(sql, { user, maxRows, views: bundledRegistry() });
const select = (sql: string, user: SqlUser = OPS): SelectStatement => {
  const [s] = check(sql, user);
  if (s?.kind !== 'select') throw new Error(`expected a select, got ${s?.kind}`);
  return s;
};
function refusal(sql: string, user: SqlUser = OPS): SqlRefusal {
  try {
    check(sql, user);
  } catch (err) {
    if (err instanceof SqlRefusal) return err;
    throw err;
  }
  throw new Error(`not refused: ${sql}`);
}

/** Relations the rewritten SQL reads, schema-qualified, found with the real parser. */
function relations(sql: string): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (typeof v !== 'object' || v === null) return;
    const rv = (v as Record<string, unknown>)['RangeVar'] as { schemaname?: string; relname: string } | undefined;
    if (rv !== undefined) out.push(rv.schemaname === undefined ? rv.relname : `${rv.schemaname}.${rv.relname}`);
    Object.values(v).forEach(walk);
  };
  walk(parseSync(sql));
  return out;
}

describe('statement guard: what is allowed', () => {
  it('rewrites each view reference into the policy subquery and caps the rows', () => {
    const s = select('SELECT t.trip_id, count(*) FROM trip_history t WHERE status = $1 GROUP BY 1 -- trailing comment', RIDER);
    expect(s.sql).toContain("FROM public.trip_history WHERE rider_id = 'rider-1') t WHERE status = $1 GROUP BY 1\nLIMIT 101");
    expect(s.paramCount).toBe(1);
    expect(relations(s.sql)).toEqual(['public.trip_history']);
  });

  it('applies the GraphQL row policy per role and view', () => {
    expect(select('SELECT * FROM driver_earnings_daily', RIDER).sql).toContain('FROM public.driver_earnings_daily WHERE FALSE)');
    // Riders read the public profile of the drivers of their own trips (schema/driver_stats.yaml); the
    // other columns keep their place and type as NULL, so the view's shape is the same for every role.
    expect(select('SELECT * FROM driver_stats', RIDER).sql).toContain(
      '(SELECT driver_id, NULL::bigint AS trips, completed_trips, NULL::bigint AS cancelled_trips, NULL::numeric AS lifetime_earnings, rating, ' +
      "NULL::bigint AS ratings, NULL::timestamptz AS last_trip_at FROM public.driver_stats WHERE driver_id IN (SELECT driver_id FROM public.trip_history WHERE rider_id = 'rider-1'))");
    expect(select('SELECT * FROM rider_stats', RIDER).sql).toContain("FROM public.rider_stats WHERE rider_id = 'rider-1')");
    expect(select('SELECT * FROM public.driver_earnings_daily', DRIVER).sql).toContain("WHERE driver_id = 'driver-1')");
    expect(select('SELECT * FROM trip_history', DRIVER).sql).toContain("WHERE driver_id = 'driver-1')");
    expect(select('SELECT * FROM trip_history', OPS).sql).not.toContain('WHERE');
  });

  it('masks rider identity for analysts: rider_id NULL, coordinates rounded to ~1 km', () => {
    const s = select('SELECT rider_id, pickup_lat FROM trip_history', ANALYST);
    expect(s.sql).toContain('NULL::text AS rider_id');
    expect(s.sql).toContain('round(pickup_lat::numeric, 2)::double precision AS pickup_lat');
    expect(select('SELECT * FROM rider_stats', ANALYST).sql).toContain('NULL::text AS rider_id');
    expect(select('SELECT * FROM driver_stats', ANALYST).sql).not.toContain('NULL::');
  });

  it('keeps aliases, quoted names and comments, and rewrites inside subqueries, CTEs, unions and joins', () => {
    const s = select(`WITH r AS (SELECT rider_id FROM "trip_history" AS "T" /* c */)
      SELECT * FROM r JOIN rider_stats USING (rider_id)
      WHERE EXISTS (SELECT 1 FROM driver_stats d WHERE d.trips > 0)
      UNION ALL SELECT rider_id FROM (SELECT rider_id FROM public.rider_stats) x`, RIDER);
    // driver_stats brings its lookup through public.trip_history along (the rider's trips' drivers).
    expect(relations(s.sql).sort()).toEqual(['public.driver_stats', 'public.rider_stats', 'public.rider_stats', 'public.trip_history', 'public.trip_history', 'r']);
    expect(s.sql).toContain('AS "T" /* c */');
  });

  it("treats a CTE named like a hidden table as the CTE, but not inside its own non-recursive body", () => {
    expect(select('WITH outbox AS (SELECT 1 AS x) SELECT * FROM outbox').sql).toContain('FROM outbox');
    expect(refusal('WITH outbox AS (SELECT * FROM outbox) SELECT * FROM outbox').sqlState).toBe('42P01');
    expect(select('WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT * FROM t').recursive).toBe(true);
  });

  it('filters catalog relations, so psql\'s \\d queries see only the published views', () => {
    const s = select(`SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c
      LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname OPERATOR(pg_catalog.~) '^(trip_history)$' COLLATE pg_catalog.default
        AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 2, 3;`);
    expect(s.sql).toContain("c.relname IN ('driver_earnings_daily', 'driver_stats', 'rider_stats', 'trip_history')");
    expect(s.sql).toContain("__wg_r.nspname IN ('public', 'pg_catalog', 'information_schema')");
    expect(select("SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'").sql)
      .toContain("__wg_r.table_schema = 'public' AND __wg_r.table_name IN");
    expect(select('SELECT viewname, definition FROM pg_views').sql).toContain('NULL::text AS definition');
  });

  it('accepts what psql, pgjdbc and SQLAlchemy send at connect and for \\d', () => {
    for (const sql of [
      "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) FROM pg_catalog.pg_attrdef d WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef), a.attnotnull, (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation, a.attidentity, a.attgenerated FROM pg_catalog.pg_attribute a WHERE a.attrelid = '16385' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum;",
      "SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, c.relhastriggers, c.relrowsecurity, c.relforcerowsecurity, false AS relhasoids, c.relispartition, '', c.reltablespace, CASE WHEN c.reloftype = 0 THEN '' ELSE c.reloftype::pg_catalog.regtype::pg_catalog.text END, c.relpersistence, c.relreplident, am.amname FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid) LEFT JOIN pg_catalog.pg_am am ON (c.relam = am.oid) WHERE c.oid = '16385';",
      'select pg_catalog.version()', 'select current_schema()', 'show standard_conforming_strings',
      "SELECT CAST('test plain returns' AS VARCHAR(60)) AS anon_1", 'show transaction isolation level',
      'SET extra_float_digits = 3', "SET application_name = 'PostgreSQL JDBC Driver'", 'BEGIN READ ONLY', 'COMMIT',
      'SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY', "SELECT current_setting('server_version_num')",
      "SELECT date_trunc('day', requested_at) AS d, count(*), sum(fare_amount), avg(distance_km) FROM trip_history GROUP BY 1 ORDER BY 1",
      "SELECT extract(hour FROM requested_at AT TIME ZONE 'Europe/Berlin'), coalesce(cancelled_by, 'n/a') FROM trip_history",
      'DISCARD ALL', 'DEALLOCATE ALL', '', ';', '-- only a comment',
    ]) expect(() => check(sql)).not.toThrow();
  });

  it('reads multi-statement messages exactly as Postgres does (comments, strings, dollar quotes)', () => {
    expect(check("select 1 /* ; drop table x */; select 'a;b'").map((s) => s.kind)).toEqual(['select', 'select']);
    expect(check('select $$; drop table outbox; $$ AS x').map((s) => s.kind)).toEqual(['select']);
    expect(check('select 1 -- ; drop table outbox').map((s) => s.kind)).toEqual(['select']);
  });

  it('asks the engine for one row more than allowed, wrapping a larger or non-constant LIMIT', () => {
    expect(select('SELECT * FROM trip_history LIMIT 5').sql).toMatch(/LIMIT 5$/);
    expect(select('SELECT * FROM trip_history LIMIT 5000').sql).toMatch(/^SELECT \* FROM \(\n.*\n\) AS __wg_capped LIMIT 101$/s);
    expect(select('SELECT * FROM trip_history LIMIT $1').sql).toContain('__wg_capped LIMIT 101');
    expect(select('SELECT 1 UNION SELECT 2 ORDER BY 1').sql).toMatch(/ORDER BY 1\nLIMIT 101$/);
  });
});

describe('statement guard: what is refused, with which SQLSTATE', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['INSERT INTO outbox (id) VALUES (1)', '42501', /INSERT is not allowed/],
    ["UPDATE trip_history SET status = 'x'", '42501', /UPDATE is not allowed/],
    ['DELETE FROM trip_history', '42501', /DELETE is not allowed/],
    ['MERGE INTO trip_history t USING rider_stats r ON true WHEN MATCHED THEN DELETE', '42501', /MERGE is not allowed/],
    ['CREATE TABLE x (a int)', '42501', /CREATE is not allowed/],
    ['DROP TABLE outbox', '42501', /DROP is not allowed/],
    ['TRUNCATE outbox', '42501', /TRUNCATE is not allowed/],
    ['ALTER TABLE outbox ADD COLUMN x int', '42501', /ALTER TABLE is not allowed/],
    ['GRANT SELECT ON outbox TO public', '42501', /GRANT\/REVOKE is not allowed/],
    ["COPY outbox TO '/tmp/x'", '42501', /COPY is not allowed/],
    ["COPY (SELECT 1) TO PROGRAM 'id'", '42501', /COPY is not allowed/],
    ['SET ROLE postgres', '42501', /SET ROLE/],
    ["SET SESSION AUTHORIZATION 'postgres'", '42501', /SET SESSION AUTHORIZATION/],
    ['RESET ROLE', '42501', /RESET ROLE/],
    ["DO $$ BEGIN PERFORM pg_sleep(1); END $$", '42501', /DO is not allowed/],
    ['CALL some_procedure()', '42501', /CALL is not allowed/],
    ['LISTEN wavegate_changes', '42501', /LISTEN is not allowed/],
    ["NOTIFY wavegate_changes, 'x'", '42501', /NOTIFY is not allowed/],
    ['LOCK TABLE outbox', '42501', /LOCK is not allowed/],
    ['VACUUM', '42501', /VACUUM\/ANALYZE is not allowed/],
    ['EXPLAIN ANALYZE SELECT * FROM trip_history', '42501', /EXPLAIN ANALYZE/],
    ['EXPLAIN SELECT * FROM trip_history', '0A000', /EXPLAIN is not supported/],
    ['DECLARE c CURSOR FOR SELECT 1', '0A000', /cursors/],
    ['PREPARE p AS SELECT 1', '0A000', /PREPARE/],
    ['PREPARE TRANSACTION \'x\'', '0A000', /two-phase/],
    ['SELECT * FROM trip_history FOR UPDATE', '42501', /FOR UPDATE\/SHARE/],
    ['SELECT * FROM trip_history FOR KEY SHARE', '42501', /FOR UPDATE\/SHARE/],
    ['SELECT * INTO newtable FROM trip_history', '42501', /SELECT INTO/],
    ['WITH d AS (DELETE FROM outbox RETURNING *) SELECT * FROM d', '42501', /DELETE is not allowed/],
    ['SELECT * FROM trip_history TABLESAMPLE system (10)', '0A000', /TABLESAMPLE/],
    ['SELECT pg_sleep(10)', '42501', /function pg_sleep/],
    ['SELECT PG_SLEEP(10)', '42501', /function pg_sleep/],
    ['SELECT pg_catalog.pg_sleep(10)', '42501', /function pg_catalog.pg_sleep/],
    ["SELECT pg_read_file('/etc/passwd')", '42501', /pg_read_file/],
    ["SELECT pg_read_binary_file('/etc/passwd')", '42501', /pg_read_binary_file/],
    ["SELECT * FROM pg_ls_dir('.')", '42501', /pg_ls_dir/],
    ["SELECT pg_stat_file('postgresql.conf')", '42501', /pg_stat_file/],
    ["SELECT lo_import('/etc/passwd')", '42501', /lo_import/],
    ["SELECT dblink('host=x', 'select 1')", '42501', /dblink/],
    ['SELECT pg_terminate_backend(1)', '42501', /pg_terminate_backend/],
    ['SELECT pg_cancel_backend(1)', '42501', /pg_cancel_backend/],
    ["SELECT set_config('role', 'postgres', false)", '42501', /set_config/],
    ["SELECT current_setting('data_directory')", '42501', /current_setting\('data_directory'\)/],
    ["SELECT query_to_xml('select * from outbox', true, true, '')", '42501', /query_to_xml/],
    ["SELECT ts_stat('select * from outbox')", '42501', /ts_stat/],
    ["SELECT nextval('x')", '42501', /nextval/],
    ["SELECT pg_get_viewdef('trip_history'::regclass)", '42501', /pg_get_viewdef/],
    ['SELECT count(*) FROM generate_series(1, 100000000)', '42501', /generate_series/],
    ['SELECT trip_id FROM trip_history WHERE status = (SELECT max(pg_sleep(1))::text)', '42501', /pg_sleep/],
    ['SELECT trip_id FROM trip_history ORDER BY pg_sleep(1)', '42501', /pg_sleep/],
    ['SELECT rank() OVER (ORDER BY lo_get(1)) FROM trip_history', '42501', /lo_get/],
    ['SELECT public.my_function()', '42501', /public.my_function/],
    ['SELECT NULL::outbox', '42501', /type outbox/],
    ['SELECT (NULL::wavegate.changes).*', '42501', /type wavegate.changes/],
    ['SELECT 1 OPERATOR(public.+) 1', '42501', /operator public.\+/],
    ['SELECT * FROM pg_authid', '42501', /permission denied for table pg_authid/],
    ['SELECT * FROM pg_catalog.pg_shadow', '42501', /pg_shadow/],
    ['SELECT * FROM pg_file_settings', '42501', /pg_file_settings/],
    ['SELECT * FROM pg_stat_activity', '42501', /pg_stat_activity/],
    ['SELECT * FROM pg_roles', '42501', /pg_roles/],
    ['SELECT * FROM information_schema.enabled_roles', '42501', /enabled_roles/],
    ['SELECT * FROM outbox', '42P01', /relation "outbox" does not exist/],
    ['SELECT * FROM "outbox"', '42P01', /relation "outbox" does not exist/],
    ['SELECT * FROM public.trip_history__base', '42P01', /relation "public.trip_history__base" does not exist/],
    ['SELECT * FROM wavegate.changes', '42P01', /relation "wavegate.changes" does not exist/],
    ['SELECT * FROM pgivm.pg_ivm_immv', '42P01', /does not exist/],
    ['SELECT * FROM otherdb.public.trip_history', '0A000', /cross-database/],
    ['SELECT * FROM trip_history, LATERAL (SELECT * FROM outbox) o', '42P01', /outbox/],
    ['select 1; drop table x', '42501', /DROP is not allowed/],
    ['select 1; select * from outbox', '42P01', /outbox/],
    ['selec 1', '42601', /syntax error/],
    ['SELECT U&"\\0070g_sleep"(1)', '42501', /function pg_sleep/],
    ['SELECT * FROM ONLY trip_history', '0A000', /ONLY/],
    ['TABLE trip_history', '0A000', /this form of relation reference/],
  ];

  it.each(cases)('%s → %s', (sql, state, message) => {
    const err = refusal(sql);
    expect(err.sqlState).toBe(state);
    expect(err.message).toMatch(message);
  });

  it('points at the offending token (1-based character position, multi-byte safe)', () => {
    expect(refusal("SELECT 'é', pg_sleep(1)").extra.position).toBe(13);
    expect(refusal('SELECT * FROM outbox').extra.position).toBe(15);
  });

  it('refuses a message whole: nothing of it is returned as runnable', () => {
    expect(() => check('SELECT * FROM trip_history; SET ROLE postgres')).toThrow(SqlRefusal);
  });
});
