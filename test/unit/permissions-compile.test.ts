import type { Viewer } from '../../src/auth/viewer';
import { GatewayErrorCode } from '../../src/errors';
import {
  NO_LOOKUPS, PREDICATE_KINDS, SqlParams, maskRow, passthroughSubquery, permissionOf, predicateSql, rowTest, selectList,
  type LookupPredicate, type LookupSets,
} from '../../src/permissions/compile';
import { roundDecimalText, roundFloat } from '../../src/permissions/decimal';
import { ident, sqlLiteral } from '../../src/permissions/sqlText';
import type { Predicate } from '../../src/views/model';
import { FLEET_LOOKUP, RIDE_PERMISSIONS, fixtureRegistry, perm, viewOfFixture } from '../helpers/permissionsFixture';

const registry = fixtureRegistry(RIDE_PERMISSIONS);
const trips = viewOfFixture(registry, 'trips');
const viewer = (role: string, sub: string, claims: Viewer['claims'] = {}): Viewer => ({ role, sub, claims });
const rider = viewer('rider', 'r1');
const fm = viewer('fleet_manager', 'fm', { fleet_id: 'f1' });
const regional = viewer('regional', 'reg', { fleet_ids: ['a', 'b'] });

/** One example per kind: `satisfies Record` makes a new kind a compile error here too. */
const EXAMPLES = {
  all: { kind: 'all' },
  none: { kind: 'none' },
  eq: { kind: 'eq', column: 'rider_id', claim: 'sub' },
  in: { kind: 'in', column: 'label', claim: 'fleet_ids' },
  lookup: FLEET_LOOKUP,
  and: { kind: 'and', of: [{ kind: 'eq', column: 'rider_id', claim: 'sub' }, { kind: 'in', column: 'label', claim: 'fleet_ids' }] },
  or: { kind: 'or', of: [{ kind: 'eq', column: 'rider_id', claim: 'sub' }, { kind: 'in', column: 'label', claim: 'fleet_ids' }] },
} as const satisfies Record<Predicate['kind'], Predicate>;

const sql = (p: Predicate, v: Viewer) => {
  const params = new SqlParams();
  const text = predicateSql(p, v, params, registry);
  return { text, params: params.values };
};

/** Lookup sets from a fixed list of (fleet, driver) rows, for the fleet lookup only. */
function fleetSets(rows: ReadonlyArray<[string, string]>): LookupSets {
  return {
    has(p: LookupPredicate, v: Viewer, value: string) {
      const fleet = v.claims['fleet_id'];
      return p.view === 'fleet_drivers' && rows.some(([f, d]) => f === fleet && d === value);
    },
  };
}

describe('predicate kinds', () => {
  it('enumerates every kind, and every target renders each of them', () => {
    expect([...PREDICATE_KINDS].sort()).toEqual(Object.keys(EXAMPLES).sort());
    const both = viewer('regional', 'r1', { fleet_ids: ['a'], fleet_id: 'f1' });
    for (const kind of PREDICATE_KINDS) {
      const p: Predicate = EXAMPLES[kind];
      expect(() => sql(p, both)).not.toThrow();
      expect(typeof rowTest(p, both, NO_LOOKUPS)).toBe('function');
      const reg = fixtureRegistry({ regional: perm(p) });
      expect(passthroughSubquery(viewOfFixture(reg, 'trips'), reg, { role: 'regional', viewer: both })).toMatch(/^\(SELECT .* FROM public\.trips/);
    }
  });
});

describe('predicateSql', () => {
  it('renders each kind with parameters', () => {
    expect(sql(EXAMPLES.all, rider)).toEqual({ text: undefined, params: [] });
    expect(sql(EXAMPLES.none, rider)).toEqual({ text: 'FALSE', params: [] });
    expect(sql(EXAMPLES.eq, rider)).toEqual({ text: 'rider_id = $1', params: ['r1'] });
    expect(sql(EXAMPLES.in, regional)).toEqual({ text: 'label = ANY($1::text[])', params: [['a', 'b']] });
    expect(sql(EXAMPLES.lookup, fm)).toEqual({ text: 'driver_id IN (SELECT driver_id FROM fleet_drivers WHERE fleet_id = $1)', params: ['f1'] });
    const both = viewer('x', 'r1', { fleet_ids: ['a'] });
    expect(sql(EXAMPLES.and, both)).toEqual({ text: '(rider_id = $1 AND label = ANY($2::text[]))', params: ['r1', ['a']] });
    expect(sql(EXAMPLES.or, both)).toEqual({ text: '(rider_id = $1 OR label = ANY($2::text[]))', params: ['r1', ['a']] });
  });

  it('fails closed: missing claim, wrong claim shape, empty list', () => {
    expect(sql(EXAMPLES.in, rider).text).toBe('FALSE');
    expect(sql(EXAMPLES.in, viewer('regional', 'x', { fleet_ids: [] })).text).toBe('FALSE');
    expect(sql(EXAMPLES.in, viewer('regional', 'x', { fleet_ids: 'a' })).text).toBe('FALSE');
    expect(sql({ kind: 'eq', column: 'label', claim: 'fleet_ids' }, regional).text).toBe('FALSE');
    expect(sql(EXAMPLES.lookup, rider).text).toBe('FALSE');
    // an inherited property is no claim
    expect(sql({ kind: 'eq', column: 'label', claim: 'constructor' }, rider).text).toBe('FALSE');
  });

  it('adds a parameter only for a condition that stays in the text', () => {
    const both = viewer('x', 'r1', { fleet_ids: ['a'] });
    expect(sql({ kind: 'and', of: [EXAMPLES.eq, EXAMPLES.none, EXAMPLES.in] }, both)).toEqual({ text: 'FALSE', params: [] });
    expect(sql({ kind: 'or', of: [EXAMPLES.eq, EXAMPLES.all, EXAMPLES.in] }, both)).toEqual({ text: undefined, params: [] });
    expect(sql({ kind: 'or', of: [EXAMPLES.eq, { kind: 'in', column: 'label', claim: 'nope' }, EXAMPLES.in] }, both))
      .toEqual({ text: '(rider_id = $1 OR label = ANY($2::text[]))', params: ['r1', ['a']] });
  });

  it('simplifies and/or around all and none', () => {
    expect(sql({ kind: 'and', of: [] }, rider).text).toBeUndefined();
    expect(sql({ kind: 'or', of: [] }, rider).text).toBe('FALSE');
    expect(sql({ kind: 'and', of: [EXAMPLES.all, EXAMPLES.eq] }, rider).text).toBe('rider_id = $1');
    expect(sql({ kind: 'and', of: [EXAMPLES.none, EXAMPLES.eq] }, rider).text).toBe('FALSE');
    expect(sql({ kind: 'or', of: [EXAMPLES.none, EXAMPLES.eq] }, rider).text).toBe('rider_id = $1');
    expect(sql({ kind: 'or', of: [EXAMPLES.eq, EXAMPLES.all] }, rider).text).toBeUndefined();
  });

  it('throws rather than dropping a filter: unknown lookup view or column, nested lookups', () => {
    expect(() => sql({ ...FLEET_LOOKUP, view: 'nope' }, fm)).toThrow(/unknown view/);
    expect(() => sql({ ...FLEET_LOOKUP, select: 'nope' }, fm)).toThrow(/no column/);
    expect(() => sql({ ...FLEET_LOOKUP, where: FLEET_LOOKUP }, fm)).toThrow(/lookup inside a lookup/);
    expect(() => sql({ ...FLEET_LOOKUP, where: { kind: 'or', of: [FLEET_LOOKUP] } }, fm)).toThrow(/lookup inside a lookup/);
  });

  it('quotes identifiers that need it', () => {
    expect(sql({ kind: 'eq', column: 'Order', claim: 'sub' }, rider).text).toBe('"Order" = $1');
    expect(sql({ kind: 'eq', column: 'user', claim: 'sub' }, rider).text).toBe('"user" = $1');
    expect(ident('a"b')).toBe('"a""b"');
  });
});

describe('selectList and maskRow', () => {
  const analyst = RIDE_PERMISSIONS['analyst']!;
  const driver = RIDE_PERMISSIONS['driver']!;

  it('masks in SQL with the column type kept', () => {
    expect(selectList(trips, analyst)).toBe(
      'trip_id, NULL::text AS rider_id, driver_id, label, round(lat::numeric, 2)::double precision AS lat, round(fare::numeric, 1)::numeric AS fare, n');
    expect(selectList(trips, analyst, ['fare', 'trip_id'])).toBe('round(fare::numeric, 1)::numeric AS fare, trip_id');
  });

  it('lists only readable columns and refuses others with FORBIDDEN', () => {
    expect(selectList(trips, driver)).toBe('trip_id, driver_id, label');
    expect(() => selectList(trips, driver, ['trip_id', 'fare'])).toThrow(expect.objectContaining({ code: GatewayErrorCode.FORBIDDEN }));
    expect(() => selectList(trips, driver, ['nope'])).toThrow(/no column/);
  });

  it('masks rows in JS the same way, dropping unreadable columns', () => {
    const row = { trip_id: 't', rider_id: 'r', driver_id: 'd', label: 'x', lat: 1.005, fare: '12.25', n: 3 };
    expect(maskRow(analyst, row)).toEqual({ trip_id: 't', rider_id: null, driver_id: 'd', label: 'x', lat: 1.01, fare: '12.3', n: 3 });
    expect(maskRow(driver, row)).toEqual({ trip_id: 't', driver_id: 'd', label: 'x' });
    expect(maskRow(analyst, { trip_id: 't', lat: null, fare: null })).toEqual({ trip_id: 't', lat: null, fare: null });
  });

  it('with fill, gives every readable column: the ones the row lacks as null (a subscription payload row)', () => {
    expect(maskRow(analyst, { trip_id: 't', lat: 1.005 }, true))
      .toEqual({ trip_id: 't', rider_id: null, driver_id: null, label: null, lat: 1.01, fare: null, n: null });
    expect(maskRow(driver, { trip_id: 't', fare: '9' }, true)).toEqual({ trip_id: 't', driver_id: null, label: null });
  });

  it('rejects a round mask on a non-number column', () => {
    expect(() => selectList(trips, perm({ kind: 'all' }, undefined, { label: { kind: 'round', digits: 1 } }))).toThrow(/round mask on text/);
  });
});

describe('round mask arithmetic (PostgreSQL round(numeric, n), half away from zero)', () => {
  it.each([
    ['12.25', 1, '12.3'], ['-12.25', 1, '-12.3'], ['12.5', 2, '12.50'], ['0.005', 2, '0.01'], ['-0.004', 2, '0.00'],
    ['99.95', 1, '100.0'], ['9.5', 0, '10'], ['1e-05', 3, '0.000'], ['1.5e3', 0, '1500'], ['0', 2, '0.00'], ['NaN', 2, 'NaN'],
    ['.5', 0, '1'], ['123', 2, '123.00'],
  ])('%s to %d → %s', (x, n, want) => {
    expect(roundDecimalText(x, n)).toBe(want);
  });

  it('turns floats into numeric with 15 significant digits first', () => {
    expect(roundFloat(1.005, 2)).toBe(1.01);
    expect(roundFloat(-1.005, 2)).toBe(-1.01);
    expect(roundFloat(-0.001, 2)).toBe(0);
    expect(Object.is(roundFloat(-0.001, 2), -0)).toBe(false);
    expect(roundFloat(52.123456, 2)).toBe(52.12);
  });
});

describe('rowTest', () => {
  it('evaluates each kind', () => {
    expect(rowTest(EXAMPLES.all, rider, NO_LOOKUPS)({})).toBe(true);
    expect(rowTest(EXAMPLES.none, rider, NO_LOOKUPS)({ rider_id: 'r1' })).toBe(false);
    const eq = rowTest(EXAMPLES.eq, rider, NO_LOOKUPS);
    expect([eq({ rider_id: 'r1' }), eq({ rider_id: 'r2' }), eq({ rider_id: null }), eq({})]).toEqual([true, false, false, false]);
    const inn = rowTest(EXAMPLES.in, regional, NO_LOOKUPS);
    expect([inn({ label: 'a' }), inn({ label: 'c' }), inn({ label: null })]).toEqual([true, false, false]);
    const sets = fleetSets([['f1', 'd1'], ['f2', 'd2']]);
    const lk = rowTest(EXAMPLES.lookup, fm, sets);
    expect([lk({ driver_id: 'd1' }), lk({ driver_id: 'd2' }), lk({ driver_id: null })]).toEqual([true, false, false]);
    expect(rowTest(EXAMPLES.lookup, fm, NO_LOOKUPS)({ driver_id: 'd1' })).toBe(false);
    const both = viewer('x', 'r1', { fleet_ids: ['a'] });
    const and = rowTest(EXAMPLES.and, both, NO_LOOKUPS);
    const or = rowTest(EXAMPLES.or, both, NO_LOOKUPS);
    expect([and({ rider_id: 'r1', label: 'a' }), and({ rider_id: 'r1', label: 'b' })]).toEqual([true, false]);
    expect([or({ rider_id: 'r9', label: 'a' }), or({ rider_id: 'r9', label: 'b' })]).toEqual([true, false]);
  });

  it('fails closed on missing or mis-shaped claims and on values of another type', () => {
    expect(rowTest(EXAMPLES.in, rider, NO_LOOKUPS)({ label: 'a' })).toBe(false);
    expect(rowTest(EXAMPLES.in, viewer('regional', 'x', { fleet_ids: [] }), NO_LOOKUPS)({ label: 'a' })).toBe(false);
    expect(rowTest({ kind: 'eq', column: 'n', claim: 'sub' }, viewer('x', '3'), NO_LOOKUPS)({ n: 3 })).toBe(false);
    expect(() => rowTest({ ...FLEET_LOOKUP, where: FLEET_LOOKUP }, fm, NO_LOOKUPS)).toThrow(/lookup inside a lookup/);
  });
});

describe('passthroughSubquery', () => {
  const sub = (role: string, v?: Viewer) => passthroughSubquery(trips, registry, { role, ...(v !== undefined ? { viewer: v } : {}) });

  it('keeps the view shape for every role: unreadable columns are NULL of their type', () => {
    expect(sub('driver', viewer('driver', 'd1'))).toBe(
      "(SELECT trip_id, NULL::text AS rider_id, driver_id, label, NULL::double precision AS lat, NULL::numeric AS fare, NULL::bigint AS n FROM public.trips WHERE driver_id = 'd1')");
    expect(sub('analyst')).toBe(
      '(SELECT trip_id, NULL::text AS rider_id, driver_id, label, round(lat::numeric, 2)::double precision AS lat, round(fare::numeric, 1)::numeric AS fare, n FROM public.trips)');
    expect(sub('nobody', rider)).toBe(
      '(SELECT NULL::text AS trip_id, NULL::text AS rider_id, NULL::text AS driver_id, NULL::text AS label, NULL::double precision AS lat, NULL::numeric AS fare, NULL::bigint AS n FROM public.trips WHERE FALSE)');
  });

  it('renders claims as safe literals and lists as IN lists', () => {
    expect(sub('rider', viewer('rider', "o'brien\\x"))).toMatch(/WHERE rider_id = E'o''brien\\\\x'\)$/);
    expect(sub('regional', regional)).toMatch(/WHERE label IN \('a', 'b'\)\)$/);
    expect(sub('fleet_manager', fm)).toMatch(/WHERE driver_id IN \(SELECT driver_id FROM public\.fleet_drivers WHERE fleet_id = 'f1'\)\)$/);
    expect(sqlLiteral("it's")).toBe("'it''s'");
    expect(() => sub('rider', viewer('rider', 'a\0b'))).toThrow(/NUL/);
  });

  it('fails closed without a viewer or its claims', () => {
    expect(sub('rider')).toMatch(/WHERE FALSE\)$/);
    expect(sub('regional', viewer('regional', 'x', { fleet_ids: [] }))).toMatch(/WHERE FALSE\)$/);
    expect(sub('fleet_manager', viewer('fleet_manager', 'x'))).toMatch(/WHERE FALSE\)$/);
  });
});

describe('permissionOf', () => {
  it('reads own entries only', () => {
    expect(permissionOf(trips, 'ops')).toBe(RIDE_PERMISSIONS['ops']);
    expect(permissionOf(trips, 'nobody')).toBeUndefined();
    expect(permissionOf(trips, '__proto__')).toBeUndefined();
    expect(permissionOf(trips, 'toString')).toBeUndefined();
  });
});
