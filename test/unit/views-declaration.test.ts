import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load';
import { loadViews } from '../../src/config/views';
import { GatewayErrorCode, isGatewayError } from '../../src/errors';
import { bundledRegistry, bundledSchemaDir, loadRegistry, stripSqlComments } from '../../src/views/load';
import type { Registry } from '../../src/views/model';

/** What the hand-written registry (src/views/registry.ts before the declarations) said: the bundled declarations must say the same. */
const EXPECTED: Record<string, { key: string[]; indexed: string[]; columns: string }> = {
  trip_history: {
    key: ['trip_id'], indexed: ['rider_id', 'driver_id'],
    columns: 'trip_id text, rider_id text, driver_id text, status text, pickup_lat float, pickup_lng float, dropoff_lat float, '
      + 'dropoff_lng float, requested_at timestamptz, assigned_at timestamptz, started_at timestamptz, completed_at timestamptz, '
      + 'cancelled_at timestamptz, cancelled_by text, fare_amount numeric, fare_currency text, paid_amount numeric, '
      + 'distance_km numeric, rider_rating int, driver_rating int, updated_at timestamptz, event_count int',
  },
  rider_stats: {
    key: ['rider_id'], indexed: [],
    columns: 'rider_id text, trips int, completed_trips int, cancelled_trips int, total_spent numeric, avg_rating_given numeric, '
      + 'ratings_given int, updated_at timestamptz',
  },
  driver_stats: {
    key: ['driver_id'], indexed: [],
    columns: 'driver_id text, trips int, completed_trips int, cancelled_trips int, lifetime_earnings numeric, rating numeric, '
      + 'ratings int, last_trip_at timestamptz',
  },
  driver_earnings_daily: {
    key: ['driver_id', 'day'], indexed: ['driver_id'],
    columns: 'driver_id text, day date, trips int, gross_fares numeric, avg_rating numeric, ratings int',
  },
};

const view = (r: Registry, name: string) => {
  const v = r.views.find((x) => x.name === name);
  if (v === undefined) throw new Error(`no view ${name}`);
  return v;
};

describe('bundled registry', () => {
  const r = bundledRegistry();

  test('declares the four ride-hailing views, alphabetically (none reads another)', () => {
    expect(r.views.map((v) => v.name)).toEqual(['driver_earnings_daily', 'driver_stats', 'rider_stats', 'trip_history']);
    expect(r.views.every((v) => v.dependsOn.length === 0)).toBe(true);
    expect(r.dir).toBe(bundledSchemaDir());
    expect(bundledRegistry()).toBe(r);
  });

  test.each(Object.keys(EXPECTED))('%s: columns, types, key and indexed as before', (name) => {
    const v = view(r, name);
    const e = EXPECTED[name]!;
    expect(v.columns.map((c) => `${c.name} ${c.type}`).join(', ')).toBe(e.columns);
    expect(v.key).toEqual(e.key);
    expect(v.indexed).toEqual(e.indexed);
    expect(v.sink).toBe(true);
  });

  test('indexes as the RisingWave DDL creates them', () => {
    const all = r.views.flatMap((v) => v.indexes.map((i) => ({ view: v.name, ...i })));
    expect(all).toEqual([
      { view: 'driver_earnings_daily', name: 'driver_earnings_daily_by_driver', columns: [{ column: 'driver_id', desc: false }, { column: 'day', desc: false }], distributedBy: 'driver_id' },
      { view: 'trip_history', name: 'trip_history_by_rider', columns: [{ column: 'rider_id', desc: false }, { column: 'requested_at', desc: false }], distributedBy: 'rider_id' },
      { view: 'trip_history', name: 'trip_history_by_driver', columns: [{ column: 'driver_id', desc: false }, { column: 'requested_at', desc: false }], distributedBy: 'driver_id' },
    ]);
  });

  test('the SQL is the statement body: no comments, no trailing semicolon, the CTE kept', () => {
    for (const v of r.views) {
      const raw = readFileSync(join(bundledSchemaDir(), `${v.name}.sql`), 'utf8');
      expect(v.sql).toBe(raw.split('\n').filter((l) => !/^\s*--/.test(l)).join('\n').trim().replace(/;\s*$/, ''));
      expect(v.sql).toMatch(/^WITH base AS \(/);
      expect(v.sql).not.toContain('--');
    }
  });

  test('roles, claims and defaults from wavegate.yaml', () => {
    expect(r.roles.map((x) => [x.name, x.graphql])).toEqual([['rider', true], ['driver', true], ['ops', true], ['analyst', false]]);
    expect(r.roles.find((x) => x.name === 'rider')?.sample).toEqual({ sub: 'rider-0001' });
    expect(r.sqlDefaultRole).toBe('analyst');
    expect(r.authOffRole).toBe('ops');
  });

  test('permissions: eq, lookup through trip_history, column lists and masks', () => {
    const ds = view(r, 'driver_stats').permissions;
    expect(ds['driver']?.rows).toEqual({ kind: 'eq', column: 'driver_id', claim: 'sub' });
    expect(ds['rider']).toEqual({
      rows: { kind: 'lookup', column: 'driver_id', view: 'trip_history', select: 'driver_id', where: { kind: 'eq', column: 'rider_id', claim: 'sub' } },
      columns: ['driver_id', 'rating', 'completed_trips'],
      masks: {},
    });
    const th = view(r, 'trip_history').permissions['analyst'];
    expect(th?.rows).toEqual({ kind: 'all' });
    expect(th?.columns).toHaveLength(22);
    expect(th?.masks).toEqual({
      rider_id: { kind: 'null' }, pickup_lat: { kind: 'round', digits: 2 }, pickup_lng: { kind: 'round', digits: 2 },
      dropoff_lat: { kind: 'round', digits: 2 }, dropoff_lng: { kind: 'round', digits: 2 },
    });
    expect(view(r, 'rider_stats').permissions['driver']).toBeUndefined();
  });

  test('GraphQL: defaults, orderings (Postgres null order unless written), filters, subscriptions', () => {
    const g = view(r, 'trip_history').graphql!;
    expect(g.type).toBe('Trip');
    expect(view(r, 'trip_history').columns[0]).toMatchObject({ name: 'trip_id', field: 'id', graphqlType: 'ID', nullable: false });
    expect(view(r, 'trip_history').columns.find((c) => c.name === 'pickup_lat')?.field).toBeUndefined();
    expect(view(r, 'trip_history').columns.find((c) => c.name === 'requested_at')?.field).toBe('requestedAt');
    expect(g.connection?.ordering.columns).toEqual([
      { column: 'requested_at', desc: true, nullsLast: true }, { column: 'trip_id', desc: true, nullsLast: false },
    ]);
    expect(g.connection).toMatchObject({ field: 'trips', defaultFirst: 20, maxFirst: 100 });
    expect(g.connection?.filters.find((f) => f.arg === 'to')).toMatchObject({ column: 'requested_at', op: 'lt' });
    expect(g.subscription).toMatchObject({ field: 'tripUpdated', exclusive: true, changeType: 'TripChange', nodeField: 'trip', required: [] });
    expect(g.lookup).toEqual({ field: 'trip', args: { id: 'trip_id' }, description: expect.any(String) as unknown });
    expect(g.relations.map((x) => [x.field, x.view, x.denied])).toEqual([['driver', 'driver_stats', 'null'], ['riderStats', 'rider_stats', 'forbidden']]);
    const e = view(r, 'driver_earnings_daily').graphql!;
    expect(e.list).toMatchObject({ field: 'driverEarnings', max: 1000, required: ['driverId'] });
    expect(e.list?.ordering.columns).toEqual([{ column: 'day', desc: false, nullsLast: true }]);
    expect(view(r, 'rider_stats').graphql?.subscription).toBeUndefined();
  });
});

describe('strip comments', () => {
  test('drops comment lines and trailing comments, keeps literals and blank lines', () => {
    const sql = "-- head\nSELECT 'a -- not a comment', \"x--y\" -- tail\n\n/* block\n spanning */ FROM t; -- end\n";
    expect(stripSqlComments(sql)).toBe("SELECT 'a -- not a comment', \"x--y\"\n\n FROM t");
  });
});

/** A copy of the bundled schema directory in a temp folder, changed by `edit`, then loaded. */
function loadEdited(edit: (dir: string) => void): Registry {
  const dir = mkdtempSync(join(tmpdir(), 'wt-views-core-'));
  try {
    cpSync(bundledSchemaDir(), dir, { recursive: true });
    edit(dir);
    return loadRegistry(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function replaceIn(dir: string, file: string, from: string | RegExp, to: string): void {
  const path = join(dir, file);
  const before = readFileSync(path, 'utf8');
  const after = before.replace(from, to);
  if (after === before) throw new Error(`test edit did not apply to ${file}: ${String(from)}`);
  writeFileSync(path, after);
}

function badConfig(edit: (dir: string) => void): string {
  try {
    loadEdited(edit);
  } catch (e) {
    if (isGatewayError(e, GatewayErrorCode.BAD_CONFIG)) return e.message;
    throw e;
  }
  throw new Error('expected a BAD_CONFIG error');
}

describe('declaration errors name the file and the path', () => {
  test.each<[string, (dir: string) => void, RegExp]>([
    ['unknown claim', (d) => replaceIn(d, 'trip_history.yaml', 'rider: { rows: { rider_id: { eq: sub } } }', 'rider: { rows: { rider_id: { eq: sub2 } } }'),
      /trip_history\.yaml: permissions\.rider\.rows\.rider_id: unknown claim "sub2"/],
    ['unknown key', (d) => replaceIn(d, 'rider_stats.yaml', 'permissions:', 'permision:'),
      /rider_stats\.yaml: unknown key "permision"/],
    ['unknown column key', (d) => replaceIn(d, 'rider_stats.yaml', 'key: [rider_id]', 'key: [rider]'),
      /rider_stats\.yaml: key\[0\]: unknown column "rider"/],
    ['unknown column type', (d) => replaceIn(d, 'rider_stats.yaml', 'trips: { type: int', 'trips: { type: integer'),
      /rider_stats\.yaml: columns\.trips\.type: unknown type string "integer"/],
    ['unknown role', (d) => replaceIn(d, 'rider_stats.yaml', 'ops: { rows: all }', 'opz: { rows: all }'),
      /rider_stats\.yaml: permissions\.opz: unknown role "opz"/],
    ['eq on a list claim', (d) => {
      replaceIn(d, 'wavegate.yaml', 'sample: { sub: ops-1 }', 'sample: { sub: ops-1, fleet_ids: [f1] }\n    claims:\n      fleet_ids: string[]');
      replaceIn(d, 'rider_stats.yaml', 'ops: { rows: all }', 'ops: { rows: { rider_id: { eq: fleet_ids } } }');
    }, /rider_stats\.yaml: permissions\.ops\.rows\.rider_id: claim "fleet_ids" is a list \(string\[\]\): use in/],
    ['in on a string claim', (d) => replaceIn(d, 'rider_stats.yaml', 'rider: { rows: { rider_id: { eq: sub } } }', 'rider: { rows: { rider_id: { in: sub } } }'),
      /permissions\.rider\.rows\.rider_id: claim "sub" is a single string/],
    ['lookup into an unknown view', (d) => replaceIn(d, 'driver_stats.yaml', 'view: trip_history', 'view: trips'),
      /driver_stats\.yaml: permissions\.rider\.rows\.driver_id\.lookup\.view: unknown view "trips"/],
    ['lookup where on a column the lookup view lacks', (d) => replaceIn(d, 'driver_stats.yaml', 'where: { rider_id: { eq: sub } }', 'where: { ratings: { eq: sub } }'),
      /driver_stats\.yaml: permissions\.rider\.rows\.driver_id\.lookup\.where\.ratings: unknown column "ratings" of view trip_history/],
    ['nested lookup', (d) => replaceIn(d, 'driver_stats.yaml', 'where: { rider_id: { eq: sub } }', 'where: { rider_id: { lookup: { view: rider_stats, select: rider_id, where: all } } }'),
      /lookup\.where\.rider_id\.lookup: a lookup's where may not contain another lookup/],
    ['ordering without the key', (d) => replaceIn(d, 'trip_history.yaml', 'order: [requested_at desc nulls last, trip_id desc]', 'order: [requested_at desc]'),
      /trip_history\.yaml: graphql\.connection\.order: the ordering must end with the key.*add trip_id/],
    ['filter on an unknown column', (d) => replaceIn(d, 'trip_history.yaml', 'status: { column: status }', 'status: { column: state }'),
      /graphql\.connection\.filters\.status\.column: unknown column "state"/],
    ['index on an unknown column', (d) => replaceIn(d, 'trip_history.yaml', 'columns: [rider_id, requested_at]', 'columns: [rider_id, requested]'),
      /indexes\.trip_history_by_rider\.columns\[1\]: unknown column "requested"/],
    ['subscription filter neither key nor indexed', (d) => replaceIn(d, 'trip_history.yaml', 'indexed: [rider_id, driver_id]', 'indexed: [rider_id]'),
      /graphql\.subscription\.filters\.driverId: column driver_id is neither the key nor indexed/],
    ['mask on an unreadable column', (d) => replaceIn(d, 'driver_stats.yaml', 'columns: [driver_id, rating, completed_trips]', 'columns: [driver_id, rating, completed_trips]\n    mask: { ratings: null }'),
      /permissions\.rider\.mask\.ratings: column ratings is not readable by rider/],
    ['round on a text column', (d) => replaceIn(d, 'trip_history.yaml', 'rider_id: null', 'rider_id: { round: 2 }'),
      /permissions\.analyst\.mask\.rider_id: round applies to float or numeric columns/],
    ['relation not on the key', (d) => replaceIn(d, 'trip_history.yaml', 'on: { driver_id: driver_id }', 'on: { driver_id: rating }'),
      /graphql\.relations\.driver\.on: must map to each key column of driver_stats/],
    ['lookup args not the key', (d) => replaceIn(d, 'trip_history.yaml', 'args: { id: trip_id }', 'args: { id: rider_id }'),
      /graphql\.lookup\.args: a lookup reads one row by its key/],
    ['duplicate YAML key', (d) => replaceIn(d, 'rider_stats.yaml', 'key: [rider_id]', 'key: [rider_id]\nkey: [rider_id]'),
      /rider_stats\.yaml: invalid YAML at line \d+/],
    ['a GraphQL field declared twice', (d) => replaceIn(d, 'trip_history.yaml', 'status: { type: text, nullable: false }', 'status: { type: text, nullable: false, field: id }'),
      /columns\.status\.field: GraphQL field "id" of Trip is declared twice/],
    ['a Query field declared by two views', (d) => replaceIn(d, 'rider_stats.yaml', 'field: riderStats', 'field: trip'),
      /(rider_stats|trip_history)\.yaml: graphql\.lookup\.field: Query field "trip" is also declared by/],
    ['unknown role for the SQL port', (d) => replaceIn(d, 'wavegate.yaml', 'sql_default_role: analyst', 'sql_default_role: bi'),
      /wavegate\.yaml: sql_default_role: unknown role "bi"/],
    ['a reserved claim', (d) => replaceIn(d, 'wavegate.yaml', 'sample: { sub: ops-1 }', 'sample: { sub: ops-1 }\n    claims: { exp: string }'),
      /wavegate\.yaml: roles\.ops\.claims\.exp: "exp" is reserved/],
    ['view key disagrees with the file name', (d) => replaceIn(d, 'rider_stats.yaml', 'view: rider_stats', 'view: riders'),
      /rider_stats\.yaml: view: says string "riders", but the file is for view rider_stats/],
    ['SQL header key disagrees', (d) => replaceIn(d, 'rider_stats.sql', '-- wavegate:key rider_id', '-- wavegate:key rider_id, trips'),
      /rider_stats\.sql: header key \(rider_id, trips\) differs from the declaration's key \(rider_id\)/],
    ['a CREATE statement instead of the query', (d) => replaceIn(d, 'rider_stats.sql', 'WITH base AS (', 'CREATE MATERIALIZED VIEW rider_stats AS WITH base AS ('),
      /rider_stats\.sql: holds a CREATE statement/],
    ['two statements', (d) => replaceIn(d, 'rider_stats.sql', /FROM base;?\s*$/, 'FROM base; DROP TABLE outbox;'),
      /rider_stats\.sql: holds more than one statement/],
    ['a query without a declaration', (d) => writeFileSync(join(d, 'orphan.sql'), 'SELECT 1 AS x'),
      /orphan\.sql: has no declaration: add orphan\.yaml/],
    ['a declaration without a query', (d) => writeFileSync(join(d, 'lonely.yaml'), 'key: [x]\ncolumns: { x: { type: int } }\n'),
      /lonely\.yaml: the view's query is missing: add lonely\.sql/],
  ])('%s', (_name, edit, message) => {
    expect(badConfig(edit)).toMatch(message);
  });

  test('a permission on a view from a claim declared on the role loads (in over a list claim)', () => {
    const r = loadEdited((d) => {
      replaceIn(d, 'wavegate.yaml', 'sample: { sub: ops-1 }', 'sample: { sub: ops-1, fleet_ids: [f1] }\n    claims:\n      fleet_ids: string[]');
      replaceIn(d, 'driver_stats.yaml', 'ops: { rows: all }', 'ops: { rows: { or: [{ driver_id: { in: fleet_ids } }, { driver_id: { eq: sub } }] } }');
    });
    expect(r.views.find((v) => v.name === 'driver_stats')?.permissions['ops']?.rows).toEqual({
      kind: 'or', of: [{ kind: 'in', column: 'driver_id', claim: 'fleet_ids' }, { kind: 'eq', column: 'driver_id', claim: 'sub' }],
    });
    expect(r.roles.find((x) => x.name === 'ops')?.claims).toEqual([{ name: 'fleet_ids', type: 'string[]' }]);
  });
});

describe('dependency order', () => {
  const fifth = (name: string, reads: string) => (d: string) => {
    writeFileSync(join(d, `${name}.sql`), `SELECT driver_id, count(*) AS n FROM ${reads} GROUP BY driver_id`);
    writeFileSync(join(d, `${name}.yaml`), 'key: [driver_id]\ncolumns:\n  driver_id: { type: text, nullable: false }\n  n: { type: int }\n');
  };

  test('alphabetical, except that the views a view reads come right before it', () => {
    const r = loadEdited((d) => {
      fifth('aa_first', 'zz_last')(d);
      fifth('zz_last', 'trip_history')(d);
    });
    expect(r.views.map((v) => v.name)).toEqual(['trip_history', 'zz_last', 'aa_first', 'driver_earnings_daily', 'driver_stats', 'rider_stats']);
    expect(r.views.find((v) => v.name === 'aa_first')?.dependsOn).toEqual(['zz_last']);
    expect(r.views.find((v) => v.name === 'zz_last')?.dependsOn).toEqual(['trip_history']);
  });

  test('names in literals and comments are not references; a cycle is refused', () => {
    const r = loadEdited((d) => {
      writeFileSync(join(d, 'aa.sql'), "-- reads trip_history? no\nSELECT 'trip_history' AS driver_id, 1 AS n");
      writeFileSync(join(d, 'aa.yaml'), 'key: [driver_id]\ncolumns:\n  driver_id: { type: text }\n  n: { type: int }\n');
    });
    expect(r.views[0]?.name).toBe('aa');
    expect(r.views[0]?.dependsOn).toEqual([]);
    expect(badConfig((d) => {
      fifth('aa_one', 'bb_two')(d);
      fifth('bb_two', 'aa_one')(d);
    })).toMatch(/aa_one\.yaml: views read each other in a cycle \(aa_one → bb_two → aa_one\)/);
  });
});

describe('WAVEGATE_SCHEMA_DIR', () => {
  test('unset or the bundled directory: the bundled registry, loaded once', () => {
    expect(loadViews({})).toBe(bundledRegistry());
    expect(loadViews({ WAVEGATE_SCHEMA_DIR: bundledSchemaDir() })).toBe(bundledRegistry());
    expect(loadConfig({}).views).toBe(bundledRegistry());
  });

  test('another directory: its views, roles and file names in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wt-views-core-'));
    try {
      cpSync(bundledSchemaDir(), dir, { recursive: true });
      rmSync(join(dir, 'rider_stats.sql'));
      rmSync(join(dir, 'rider_stats.yaml'));
      // trip_history's riderStats relation now names a view that is not declared.
      expect(() => loadViews({ WAVEGATE_SCHEMA_DIR: dir })).toThrow(/trip_history\.yaml: graphql\.relations\.riderStats\.view: unknown view "rider_stats"/);
      replaceIn(dir, 'trip_history.yaml', /\n {4}riderStats:\n(?: {6}.*\n)+/, '\n');
      const config = loadConfig({ WAVEGATE_SCHEMA_DIR: dir });
      expect(config.views.dir).toBe(dir);
      expect(config.views.views.map((v) => v.name)).toEqual(['driver_earnings_daily', 'driver_stats', 'trip_history']);
      expect(() => loadConfig({ WAVEGATE_SCHEMA_DIR: join(dir, 'nope') })).toThrow(/nope: is not a directory \(set WAVEGATE_SCHEMA_DIR to a schema directory\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
