/**
 * Property test of the permission compiler: for random rows, viewers and permissions, the three
 * targets select exactly the same rows and show the same values:
 * - predicateSql + selectList, run on PGlite with parameters (the GraphQL API's reads);
 * - passthroughSubquery, run on PGlite as literal SQL (the SQL port);
 * - rowTest + maskRow in JS, lookups answered from the same data (subscriptions).
 * Seeded and deterministic: a failure prints its case number and seed, and re-runs identically.
 */
import { PGlite } from '@electric-sql/pglite';
import type { Viewer } from '../../src/auth/viewer';
import {
  SqlParams, lookupWhereTest, maskRow, passthroughSubquery, predicateSql, rowTest, selectList,
  type LookupPredicate, type LookupSets,
} from '../../src/permissions/compile';
import type { ClaimValue, Mask, Permission, Predicate, Row } from '../../src/views/model';
import { FLEET_COLUMNS, TRIP_COLUMNS, fixtureRegistry, viewOfFixture } from '../helpers/permissionsFixture';
import { prng } from '../helpers/prng';

const SEED = 0x5eed12b;
const CASES = 300;


class Gen {
  constructor(readonly next: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Ids and claim values: plain, empty, with quotes and backslashes (literal quoting is under test). */
const VALUES = ['a', 'b', "o'k", 'x\\y', "q'\\'", ''];
const TEXT_COLUMNS = ['rider_id', 'driver_id', 'label', 'trip_id'];
const CLAIMS = ['sub', 'fleet_id', 'fleet_ids'];

function floatValue(g: Gen): number | null {
  if (g.chance(0.1)) return null;
  // halves at the rounding digit, and arbitrary doubles
  return g.pick([1.005, -1.005, 2.675, -0.125, 0.5, -0.004, 0, 52.123456789, g.next() * 180 - 90, (g.next() - 0.5) * 1e6]);
}

function numericValue(g: Gen): string | null {
  if (g.chance(0.1)) return null;
  const int = g.int(0, 120);
  const frac = String(g.int(0, 99999)).padStart(g.int(0, 5), '0').slice(0, g.int(0, 5));
  const neg = g.chance(0.3) && (int !== 0 || /[1-9]/.test(frac));
  return `${neg ? '-' : ''}${int}${frac === '' ? '' : `.${frac}`}`;
}

function tripRows(g: Gen): Row[] {
  const rows: Row[] = [];
  const n = g.int(0, 12);
  for (let i = 0; i < n; i++) {
    const text = () => (g.chance(0.15) ? null : g.pick(VALUES));
    rows.push({
      trip_id: `t${i}`, rider_id: text(), driver_id: text(), label: text(),
      lat: floatValue(g), fare: numericValue(g), n: g.chance(0.1) ? null : g.int(-50, 50),
    });
  }
  return rows;
}

function fleetRows(g: Gen): Row[] {
  const rows: Row[] = [];
  const n = g.int(0, 8);
  for (let i = 0; i < n; i++) rows.push({ fleet_id: g.chance(0.1) ? null : g.pick(VALUES), driver_id: g.chance(0.1) ? null : g.pick(VALUES) });
  return rows;
}

function viewerOf(g: Gen): Viewer {
  const claims: Record<string, ClaimValue> = {};
  if (g.chance(0.7)) claims['fleet_id'] = g.chance(0.1) ? [g.pick(VALUES)] : g.pick(VALUES); // sometimes the wrong shape
  if (g.chance(0.7)) {
    claims['fleet_ids'] = g.chance(0.1) ? g.pick(VALUES) : Array.from({ length: g.int(0, 3) }, () => g.pick(VALUES));
  }
  return { role: 'r', sub: g.pick(VALUES), claims };
}

/** A predicate over `columns`; lookups only at the top level's subtree (never inside a lookup's where). */
function predicate(g: Gen, depth: number, columns: readonly string[], lookups: boolean): Predicate {
  const kinds = ['all', 'none', 'eq', 'eq', 'in', 'in', ...(lookups ? ['lookup', 'lookup'] : []), ...(depth > 0 ? ['and', 'or', 'and', 'or'] : [])];
  const kind = g.pick(kinds);
  switch (kind) {
    case 'all':
    case 'none':
      return { kind };
    case 'eq':
    case 'in':
      return { kind, column: g.pick(columns), claim: g.pick(CLAIMS) };
    case 'lookup':
      return {
        kind: 'lookup', column: g.pick(columns), view: 'fleet_drivers', select: g.pick(['driver_id', 'fleet_id']),
        where: predicate(g, 1, ['fleet_id', 'driver_id'], false),
      };
    default: {
      const of = Array.from({ length: g.int(0, 3) }, () => predicate(g, depth - 1, columns, lookups));
      return { kind: kind as 'and' | 'or', of };
    }
  }
}

function permission(g: Gen): Permission {
  const all = TRIP_COLUMNS.map((c) => c.name);
  const columns = all.filter(() => g.chance(0.7));
  if (columns.length === 0) columns.push(g.pick(all));
  const masks: Record<string, Mask> = {};
  for (const c of columns) {
    if (!g.chance(0.35)) continue;
    masks[c] = (c === 'lat' || c === 'fare') && g.chance(0.7) ? { kind: 'round', digits: g.int(0, 3) } : { kind: 'null' };
  }
  return { rows: predicate(g, 3, TEXT_COLUMNS, true), columns, masks };
}

/** PGlite's values in the normalised form of the model (int8 may come back as a bigint). */
function normalise(raw: Record<string, unknown>): Row {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(raw)) {
    out[k] = typeof v === 'bigint' ? Number(v) : (v as string | number | boolean | null);
  }
  return out;
}

const sortRows = (rows: readonly Row[]) => rows.map((r) => JSON.stringify(r)).sort();

describe('permission compiler: the three targets agree (property test on PGlite)', () => {
  let db: PGlite;

  beforeAll(async () => {
    db = new PGlite();
    await db.exec(`
      CREATE TABLE trips (trip_id text, rider_id text, driver_id text, label text, lat double precision, fare numeric, n bigint);
      CREATE TABLE fleet_drivers (fleet_id text, driver_id text);`);
  });

  afterAll(async () => {
    await db.close();
  });

  it(`${CASES} seeded cases: same rows, same masked values`, async () => {
    const g = new Gen(prng(SEED));
    let nonEmpty = 0;
    let lookupsSeen = 0;
    for (let i = 0; i < CASES; i++) {
      const trips = tripRows(g);
      const fleet = fleetRows(g);
      const viewer = viewerOf(g);
      const perm = permission(g);
      const registry = fixtureRegistry({ r: perm });
      const view = viewOfFixture(registry, 'trips');
      const where = `case ${i} (seed ${SEED}): ${JSON.stringify({ perm, viewer })}`;
      if (JSON.stringify(perm.rows).includes('lookup')) lookupsSeen++;

      await db.exec('TRUNCATE trips; TRUNCATE fleet_drivers;');
      await db.query('INSERT INTO trips SELECT * FROM json_populate_recordset(NULL::trips, $1)', [JSON.stringify(trips)]);
      await db.query('INSERT INTO fleet_drivers SELECT * FROM json_populate_recordset(NULL::fleet_drivers, $1)', [JSON.stringify(fleet)]);

      // JS: the row test with lookup sets from the same fleet rows, then the masks.
      const lookups: LookupSets = {
        has(p: LookupPredicate, v: Viewer, value: string) {
          const test = lookupWhereTest(p, v);
          return fleet.some((r) => test(r) && r[p.select] === value);
        },
      };
      const test = rowTest(perm.rows, viewer, lookups);
      const expected = trips.filter(test);
      const expectedIds = expected.map((r) => String(r['trip_id'])).sort();
      if (expected.length > 0) nonEmpty++;

      // GraphQL target: parameterised WHERE.
      const params = new SqlParams();
      const frag = predicateSql(perm.rows, viewer, params, registry);
      const gq = await db.query<Record<string, unknown>>(`SELECT trip_id FROM trips${frag === undefined ? '' : ` WHERE ${frag}`}`, params.values);
      expect({ where, ids: gq.rows.map((r) => String(r['trip_id'])).sort() }).toEqual({ where, ids: expectedIds });

      // selectList: the masked readable columns of the same rows.
      const p2 = new SqlParams();
      const frag2 = predicateSql(perm.rows, viewer, p2, registry);
      const masked = await db.query<Record<string, unknown>>(
        `SELECT ${selectList(view, perm)} FROM trips${frag2 === undefined ? '' : ` WHERE ${frag2}`}`, p2.values);
      expect({ where, rows: sortRows(masked.rows.map(normalise)) }).toEqual({ where, rows: sortRows(expected.map((r) => maskRow(perm, r))) });

      // SQL passthrough target: literal subquery, the view's full shape (unreadable columns NULL).
      const sub = passthroughSubquery(view, registry, { role: 'r', viewer });
      const pt = await db.query<Record<string, unknown>>(`SELECT * FROM ${sub} AS t`);
      const fullShape = (r: Row): Row => {
        const m = maskRow(perm, r);
        return Object.fromEntries(TRIP_COLUMNS.map((c) => [c.name, Object.hasOwn(m, c.name) ? m[c.name] as Row[string] : null]));
      };
      expect({ where, rows: sortRows(pt.rows.map(normalise)) }).toEqual({ where, rows: sortRows(expected.map(fullShape)) });
      expect(pt.fields.map((f) => f.name)).toEqual(TRIP_COLUMNS.map((c) => c.name));
    }
    // The generator must exercise the interesting cases, or the agreement above proves little.
    expect(nonEmpty).toBeGreaterThan(CASES / 4);
    expect(nonEmpty).toBeLessThan(CASES);
    expect(lookupsSeen).toBeGreaterThan(CASES / 5);
  });

  it('a lookup view column list matches the fixture (guards the generator)', () => {
    expect(FLEET_COLUMNS.map((c) => c.name)).toEqual(['fleet_id', 'driver_id']);
  });
});
