/**
 * The generated API's building blocks (src/graphql/build): statements (the SQL text and parameters
 * the resolvers send), argument pinning and FORBIDDEN messages, keyset cursors of any ordering, and a
 * schema generated from a schema directory with a fifth view, with no code for it.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphQLNonNull, GraphQLObjectType, getNamedType, printType } from 'graphql';
import type { Viewer } from '../../src/auth/viewer';
import { GatewayErrorCode, isGatewayError } from '../../src/errors';
import { forbidden, pinnedValue, pinsOf, rowNoun } from '../../src/graphql/build/access';
import { decodePageCursor, encodePageCursor, keysetColumns, keysetSql, type KeysetColumn } from '../../src/graphql/build/keyset';
import { buildGraphqlSchema, connectionStatementOf } from '../../src/graphql/build/schema';
import { existingKeysSql, limitSql, pageSql, rowsByKeysSql } from '../../src/graphql/build/statements';
import { fieldCost } from '../../src/graphql/cost';
import { permissionOf, viewOf } from '../../src/permissions/compile';
import { bundledRegistry, bundledSchemaDir, loadRegistry } from '../../src/views/load';

const registry = bundledRegistry();
const trips = viewOf(registry, 'trip_history');
const rider: Viewer = { sub: 'r1', role: 'rider', claims: {} };
const driver: Viewer = { sub: 'd1', role: 'driver', claims: {} };
const ops: Viewer = { sub: 'o1', role: 'ops', claims: {} };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return isGatewayError(e) ? e.code : 'not a GatewayError';
  }
}

function messageOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

describe('statements', () => {
  const NODE = ['id', 'status', 'requestedAt', 'fare'];

  it('a rider\'s trips page: only the selected columns (plus key and order), the policy\'s own-id filter, LIMIT first + 1', () => {
    expect(connectionStatementOf(registry, 'trip_history', rider, { first: 2 }, NODE)).toEqual({
      text: 'SELECT trip_id, status, requested_at, fare_amount, fare_currency, CAST(requested_at AS varchar) AS wg_k0 FROM trip_history '
        + 'WHERE rider_id = $1 ORDER BY requested_at DESC NULLS LAST, trip_id DESC LIMIT 3',
      params: ['r1'],
    });
  });

  it('ops with filters and a cursor: filters, then the keyset, no policy; timestamps cast, text not', () => {
    const order = keysetColumns(trips, trips.graphql!.connection!.ordering);
    const after = encodePageCursor(order, ['2026-10-01 09:00:00.123456+00', 'a2']);
    expect(connectionStatementOf(registry, 'trip_history', ops, { first: 5, status: 'COMPLETED', from: '2026-10-01T00:00:00.000Z', after }, ['id'])).toEqual({
      text: 'SELECT trip_id, requested_at, CAST(requested_at AS varchar) AS wg_k0 FROM trip_history WHERE status = $1 AND requested_at >= $2::timestamptz '
        + 'AND ((requested_at < $3::timestamptz OR requested_at IS NULL) OR (requested_at = $4::timestamptz AND trip_id < $5)) '
        + 'ORDER BY requested_at DESC NULLS LAST, trip_id DESC LIMIT 6',
      params: ['COMPLETED', '2026-10-01T00:00:00.000Z', '2026-10-01 09:00:00.123456+00', '2026-10-01 09:00:00.123456+00', 'a2'],
    });
  });

  it('refuses someone else\'s pinned id and a page size out of range before any SQL', () => {
    expect(codeOf(() => connectionStatementOf(registry, 'trip_history', rider, { riderId: 'r2' }, NODE))).toBe(GatewayErrorCode.FORBIDDEN);
    expect(codeOf(() => connectionStatementOf(registry, 'trip_history', driver, { driverId: 'd2' }, NODE))).toBe(GatewayErrorCode.FORBIDDEN);
    expect(codeOf(() => connectionStatementOf(registry, 'trip_history', ops, { first: 0 }, NODE))).toBe(GatewayErrorCode.BAD_USER_INPUT);
    expect(codeOf(() => connectionStatementOf(registry, 'trip_history', ops, { first: 101 }, NODE))).toBe(GatewayErrorCode.BAD_USER_INPUT);
    expect(codeOf(() => connectionStatementOf(registry, 'trip_history', ops, { from: '2026-10-02T00:00:00Z', to: '2026-10-01T00:00:00Z' }, NODE)))
      .toBe(GatewayErrorCode.BAD_USER_INPUT);
    // A rider may filter by a driver: still within the rider's own trips.
    expect(connectionStatementOf(registry, 'trip_history', rider, { driverId: 'd9' }, ['id']).params).toEqual(['d9', 'r1']);
    expect(connectionStatementOf(registry, 'trip_history', rider, { riderId: 'r1' }, ['id']).params).toEqual(['r1']);
  });

  it('a role without a permission on the view is FORBIDDEN, with the role\'s message', () => {
    const nobody: Viewer = { sub: 'x', role: 'nobody', claims: {} };
    expect(messageOf(() => connectionStatementOf(registry, 'trip_history', nobody, {}, NODE))).toBe('Nobodies cannot read trips');
    expect(codeOf(() => connectionStatementOf(registry, 'trip_history', nobody, {}, NODE))).toBe(GatewayErrorCode.FORBIDDEN);
  });

  it('loads rows by key in one statement, with the viewer\'s lookup policy as a subquery', () => {
    const stats = viewOf(registry, 'driver_stats');
    const perm = permissionOf(stats, 'rider')!;
    expect(rowsByKeysSql(stats, 'driver_id, rating', [['d1'], ['d2']], { registry, viewer: rider, perm })).toEqual({
      text: 'SELECT driver_id, rating FROM driver_stats WHERE driver_id = ANY($1::text[]) AND driver_id IN (SELECT driver_id FROM trip_history WHERE rider_id = $2)',
      params: [['d1', 'd2'], 'r1'],
    });
    const days = viewOf(registry, 'driver_earnings_daily');
    expect(existingKeysSql(days, [['d1', '2026-10-01'], ['d2', '2026-10-02']])).toEqual({
      text: 'SELECT driver_id, day FROM driver_earnings_daily WHERE ((driver_id = $1 AND day = $2::date) OR (driver_id = $3 AND day = $4::date))',
      params: ['d1', '2026-10-01', 'd2', '2026-10-02'],
    });
  });

  it('inlines LIMIT only as a validated whole number', () => {
    expect(limitSql(21)).toBe('LIMIT 21');
    for (const bad of [0, -1, 1.5, Number.NaN, 10_001]) expect(() => limitSql(bad)).toThrow(RangeError);
  });
});

describe('argument pinning and messages', () => {
  const perm = permissionOf(trips, 'rider')!;

  it('pins the columns of eq predicates (also inside and), not of lookups or ors', () => {
    expect([...pinsOf(perm.rows, rider)]).toEqual([['rider_id', 'r1']]);
    expect([...pinsOf({ kind: 'and', of: [{ kind: 'eq', column: 'a', claim: 'sub' }, { kind: 'eq', column: 'b', claim: 'fleet_id' }] },
      { sub: 's', role: 'x', claims: { fleet_id: 'f1' } })]).toEqual([['a', 's'], ['b', 'f1']]);
    expect(pinsOf({ kind: 'or', of: [{ kind: 'eq', column: 'a', claim: 'sub' }] }, rider).size).toBe(0);
    expect(pinsOf(permissionOf(viewOf(registry, 'driver_stats'), 'rider')!.rows, rider).size).toBe(0);
    // A missing claim pins nothing here; the compiled predicate matches nothing (fail closed).
    expect(pinsOf({ kind: 'eq', column: 'a', claim: 'fleet_id' }, rider).size).toBe(0);
  });

  it('defaults an absent pinned argument, keeps an equal one, refuses another with the role\'s message', () => {
    const pins = pinsOf(perm.rows, rider);
    expect(pinnedValue(trips, 'rider', pins, 'rider_id', undefined)).toBe('r1');
    expect(pinnedValue(trips, 'rider', pins, 'rider_id', 'r1')).toBe('r1');
    expect(pinnedValue(trips, 'rider', pins, 'driver_id', 'd7')).toBe('d7');
    expect(messageOf(() => pinnedValue(trips, 'rider', pins, 'rider_id', 'r2'))).toBe('Riders can only read their own trips');
  });

  it('words messages from the type names, the same for every row', () => {
    expect(rowNoun(viewOf(registry, 'driver_earnings_daily'))).toEqual({ one: 'driver earnings day', many: 'driver earnings days' });
    expect(rowNoun(viewOf(registry, 'rider_stats'))).toEqual({ one: 'rider stats', many: 'rider stats' });
    expect(forbidden.noAccess(viewOf(registry, 'rider_stats'), 'driver').message).toBe('Drivers cannot read rider stats');
    expect(forbidden.row(trips).message).toBe('Not allowed to read this trip');
    expect(forbidden.columns(viewOf(registry, 'driver_stats'), 'rider', ['lifetimeEarnings']).message)
      .toBe('Riders cannot read these fields of driver stats: lifetimeEarnings');
  });
});

describe('keyset cursors of any ordering', () => {
  const cols: KeysetColumn[] = [
    { column: 'score', type: 'int', desc: false, nullsLast: false, nullable: true, textAlias: undefined },
    { column: 'day', type: 'date', desc: true, nullsLast: true, nullable: true, textAlias: undefined },
    { column: 'id', type: 'text', desc: false, nullsLast: true, nullable: false, textAlias: undefined },
  ];

  it('round-trips three columns as v2, NULLs included', () => {
    for (const values of [[3, '2026-10-01', 'x'], [null, null, 'y'], [0, null, 'z']] as const) {
      const c = encodePageCursor(cols, values);
      expect(JSON.parse(Buffer.from(c, 'base64url').toString()).v).toBe(2);
      expect(decodePageCursor(cols, c)).toEqual(values);
    }
  });

  it.each([
    [{ v: 2, k: [1.5, '2026-10-01', 'x'] }], [{ v: 2, k: ['1', '2026-10-01', 'x'] }], [{ v: 2, k: [1, '2026-02-30', 'x'] }],
    [{ v: 2, k: [1, '2026-10-01', null] }], [{ v: 2, k: [1, '2026-10-01'] }], [{ v: 2, k: [1, '2026-10-01', 'x\u0000'] }],
    [{ v: 1, t: 1, id: 'x' }], [{ v: 2, k: [1, null, 'x'], feed: 'f' }], [{ v: 3, k: [] }],
  ])('refuses %j with BAD_USER_INPUT', (forged) => {
    expect(codeOf(() => decodePageCursor(cols, Buffer.from(JSON.stringify(forged)).toString('base64url')))).toBe(GatewayErrorCode.BAD_USER_INPUT);
  });

  it('expands the keyset per column: NULLS FIRST ascending, NULLS LAST descending, a non-null key', () => {
    const params: unknown[] = [];
    const add = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    expect(keysetSql(cols, [3, '2026-10-01', 'x'], add)).toBe('(score > $1::bigint OR (score = $2::bigint AND (day < $3::date OR day IS NULL)) '
      + 'OR (score = $2::bigint AND day = $4::date AND id > $5))');
    expect(params).toEqual([3, 3, '2026-10-01', '2026-10-01', 'x']);
    params.length = 0;
    expect(keysetSql(cols, [null, null, 'x'], add)).toBe('(score IS NOT NULL OR (score IS NULL AND day IS NULL AND id > $1))');
  });

  it('a list statement orders and limits like a page, without a cursor', () => {
    const days = viewOf(registry, 'driver_earnings_daily');
    const order = keysetColumns(days, days.graphql!.list!.ordering);
    const perm = permissionOf(days, 'driver')!;
    expect(pageSql(days, 'driver_id, day, trips', [], order, undefined, 1000, { registry, viewer: driver, perm }).text)
      .toBe(`SELECT driver_id, day, trips FROM driver_earnings_daily WHERE driver_id = $1 ORDER BY ${order.map((c) => c.column).join(' ASC, ')} ASC LIMIT 1000`);
  });
});

describe('a schema directory with a fifth view, no code for it', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wt-graphql-gen-'));
    cpSync(bundledSchemaDir(), dir, { recursive: true });
    writeFileSync(join(dir, 'driver_ratings.sql'), `-- wavegate:view driver_ratings
-- wavegate:key driver_id, rated_on
SELECT driver_id, occurred_at::date AS rated_on, count(*) AS ratings, avg(rating) AS avg_rating, bool_or(rating = 5) AS any_five
FROM trip_history WHERE driver_rating IS NOT NULL GROUP BY driver_id, occurred_at::date
`);
    writeFileSync(join(dir, 'driver_ratings.yaml'), `view: driver_ratings
description: Ratings per driver and day.
key: [driver_id, rated_on]
columns:
  driver_id: { type: text, nullable: false, graphql_type: ID }
  rated_on: { type: date, nullable: false }
  ratings: { type: int, nullable: false }
  avg_rating: { type: numeric }
  any_five: { type: bool, nullable: false }
indexed: [driver_id]
graphql:
  type: DriverRating
  relations:
    stats: { view: driver_stats, on: { driver_id: driver_id } }
  connection:
    field: driverRatings
    order: [rated_on desc, driver_id]
    default_first: 10
    max_first: 50
    filters:
      driverId: { column: driver_id }
      since: { column: rated_on, op: gte }
  subscription:
    field: driverRatingsUpdated
    change_type: DriverRatingChange
    node_field: rating
    filters:
      driverId: { column: driver_id }
    required: [driverId]
permissions:
  driver: { rows: { driver_id: { eq: sub } } }
  ops: { rows: all }
`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gets its object, connection, change type and cost metadata, and keeps the ride-hailing API', () => {
    let custom;
    try {
      custom = loadRegistry(dir);
    } catch (err) {
      throw new Error(`the declaration did not load: ${(err as Error).message}`);
    }
    const schema = buildGraphqlSchema(custom);
    const type = schema.getType('DriverRating') as GraphQLObjectType;
    expect(printType(type)).toMatch(/anyFive: Boolean!/);
    expect(Object.keys(type.getFields()).sort()).toEqual(['anyFive', 'avgRating', 'driverId', 'ratedOn', 'ratings', 'stats']);
    const conn = schema.getQueryType()!.getFields()['driverRatings']!;
    expect(conn.args.map((a) => a.name).sort()).toEqual(['after', 'driverId', 'first', 'since']);
    expect(fieldCost(conn)).toEqual({ view: 'driver_ratings', kind: 'connection', page: { arg: 'first', default: 10, max: 50 }, maxRows: 50 });
    expect(fieldCost(type.getFields()['stats'])).toMatchObject({ view: 'driver_stats', kind: 'relation' });
    const change = schema.getType('DriverRatingChange') as GraphQLObjectType;
    expect(change.getFields()['driverId']!.type).toBeInstanceOf(GraphQLNonNull);
    expect(change.getFields()['ratedOn']!.type).not.toBeInstanceOf(GraphQLNonNull);
    expect(getNamedType(change.getFields()['rating']!.type).name).toBe('DriverRating');
    expect(schema.getQueryType()!.getFields()['trips']).toBeDefined();
    // Its statements come from the same generator: a driver is pinned to themself.
    expect(connectionStatementOf(custom, 'driver_ratings', driver, {}, ['ratings']).text).toBe(
      'SELECT driver_id, rated_on, ratings FROM driver_ratings WHERE driver_id = $1 ORDER BY rated_on DESC, driver_id ASC LIMIT 11');
    expect(codeOf(() => connectionStatementOf(custom, 'driver_ratings', rider, {}, ['ratings']))).toBe(GatewayErrorCode.FORBIDDEN);
  });
});
