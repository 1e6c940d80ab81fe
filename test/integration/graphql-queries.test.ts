/**
 * Queries over real PGlite through real HTTP: every query, pagination edge cases, filters, row
 * security per role, and DataLoader batching (engine.query calls counted through a wrapper).
 */
import type { Engine } from '../../src/engine/types';
import { startTestGateway, writeRides, type GqlResponse, type RideSpec, type TestGateway } from '../helpers/gateway';

let t: TestGateway;
const sqlLog: string[] = [];
const tokens: Record<string, string> = {};

const D = (iso: string) => new Date(iso);

beforeAll(async () => {
  t = await startTestGateway({
    wrapEngine: (engine): Engine => ({
      kind: engine.kind,
      views: engine.views,
      feed: engine.feed,
      ready: () => engine.ready(),
      close: () => engine.close(),
      query: (sql, params) => {
        sqlLog.push(sql);
        return engine.query(sql, params);
      },
    }),
  });
  const rides: RideSpec[] = [
    { id: 'a1', rider: 'rider-a', driver: 'driver-x', requestedAt: D('2026-10-01T08:00:00Z'), amount: '11.00' },
    { id: 'a2', rider: 'rider-a', driver: 'driver-x', requestedAt: D('2026-10-01T09:00:00Z'), amount: '12.50' },
    { id: 'a3', rider: 'rider-a', driver: 'driver-x', requestedAt: D('2026-10-01T10:00:00Z'), steps: ['assign', 'fare'] },
    { id: 'b1', rider: 'rider-b', driver: 'driver-y', requestedAt: D('2026-10-01T11:00:00Z'), amount: '7.25' },
    { id: 'b2', rider: 'rider-b', driver: 'driver-x', requestedAt: D('2026-10-02T09:00:00Z'), steps: ['assign', 'cancel'] },
    // Pagination: p3, p4, p5 share requested_at (the tie is broken by trip_id).
    ...['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'].map((id, i) => ({
      id, rider: 'rider-p', requestedAt: D(['2026-09-01T10:00:00Z', '2026-09-01T11:00:00Z', '2026-09-01T12:00:00Z', '2026-09-01T12:00:00Z',
        '2026-09-01T12:00:00Z', '2026-09-01T13:00:00Z', '2026-09-01T14:00:00Z'][i]!),
    })),
  ];
  await writeRides(t.engine, rides);
  // Five requests in the same microsecond (a JS Date cannot express it): cursors must keep full precision.
  await t.engine.transaction(async (tx) => {
    for (const id of ['m1', 'm2', 'm3', 'm4', 'm5']) {
      await tx.query(`INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, occurred_at)
        VALUES (gen_random_uuid(), 'Ride', $1, 'RideRequested', $2::jsonb, '2026-08-01 10:00:00.123456+00')`,
      [id, JSON.stringify({ rider_id: 'rider-m', pickup: { lat: 1, lng: 2 }, dropoff: { lat: 3, lng: 4 } })]);
    }
  });
  for (const [sub, role] of [['rider-a', 'rider'], ['rider-b', 'rider'], ['rider-p', 'rider'], ['rider-m', 'rider'], ['driver-x', 'driver'],
    ['driver-y', 'driver'], ['ops-1', 'ops']] as const) {
    tokens[sub] = await t.token(sub, role);
  }
});
afterAll(async () => t?.dispose());

type Page = { trips: { edges: Array<{ cursor: string; node: { id: string } }>; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null } } };

const PAGE = `query Page($riderId: ID, $driverId: ID, $status: TripStatus, $from: DateTime, $to: DateTime, $first: Int, $after: String) {
  trips(riderId: $riderId, driverId: $driverId, status: $status, from: $from, to: $to, first: $first, after: $after) {
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

async function page(vars: Record<string, unknown>, as = 'ops-1'): Promise<GqlResponse<Page>> {
  return t.gql<Page>(PAGE, vars, tokens[as]);
}

const ids = (r: GqlResponse<Page>) => r.body.data?.trips.edges.map((e) => e.node.id);
const codes = (r: GqlResponse<unknown>) => (r.body.errors ?? []).map((e) => e.extensions?.['code']);

/** Walks every page of `vars` with page size `first`. */
async function walk(vars: Record<string, unknown>, first: number, as = 'ops-1'): Promise<string[]> {
  const out: string[] = [];
  let after: string | undefined;
  for (let i = 0; i < 50; i++) {
    const r = await page({ ...vars, first, ...(after !== undefined ? { after } : {}) }, as);
    expect(r.body.errors).toBeUndefined();
    out.push(...ids(r)!);
    if (!r.body.data!.trips.pageInfo.hasNextPage) return out;
    after = r.body.data!.trips.pageInfo.endCursor!;
  }
  throw new Error('pagination did not end');
}

describe('trip(id)', () => {
  const Q = 'query($id: ID!) { trip(id: $id) { id riderId driverId status pickup { lat lng } dropoff { lat } requestedAt completedAt cancelledAt cancelledBy fare { amount currency } paidAmount distanceKm riderRating driverRating updatedAt } }';

  it('returns every field of a completed trip', async () => {
    const r = await t.gql(Q, { id: 'a2' }, tokens['rider-a']);
    expect(r.body).toEqual({ data: { trip: {
      id: 'a2', riderId: 'rider-a', driverId: 'driver-x', status: 'COMPLETED', pickup: { lat: 52.52, lng: 13.405 }, dropoff: { lat: 52.5 },
      requestedAt: '2026-10-01T09:00:00.000Z', completedAt: '2026-10-01T09:04:00.000Z', cancelledAt: null, cancelledBy: null,
      fare: { amount: '12.50', currency: 'EUR' }, paidAmount: '12.50', distanceKm: '4.25', riderRating: 5, driverRating: null,
      updatedAt: '2026-10-01T09:06:00.000Z',
    } } });
  });

  it('is null when absent, FORBIDDEN when it is someone else’s', async () => {
    expect((await t.gql(Q, { id: 'nope' }, tokens['rider-a'])).body).toEqual({ data: { trip: null } });
    const other = await t.gql(Q, { id: 'b1' }, tokens['rider-a']);
    expect(other.body.data).toEqual({ trip: null });
    expect(codes(other)).toEqual(['FORBIDDEN']);
    expect(codes(await t.gql(Q, { id: 'b1' }, tokens['driver-x']))).toEqual(['FORBIDDEN']);
    expect((await t.gql<{ trip: { id: string } }>(Q, { id: 'b2' }, tokens['driver-x'])).body.data?.trip.id).toBe('b2');
    expect((await t.gql<{ trip: { cancelledBy: string; status: string } }>(Q, { id: 'b2' }, tokens['ops-1'])).body.data?.trip)
      .toMatchObject({ status: 'CANCELLED', cancelledBy: 'rider' });
  });
});

describe('trips pagination', () => {
  it('is empty for a filter without rows', async () => {
    const r = await page({ riderId: 'nobody' });
    expect(r.body.data?.trips).toEqual({ edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null } });
  });

  it('returns exactly `first` rows without a next page, and first+1 rows as two pages', async () => {
    const exact = await page({ riderId: 'rider-a', first: 3 });
    expect(ids(exact)).toEqual(['a3', 'a2', 'a1']);
    expect(exact.body.data?.trips.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
    const one = await page({ riderId: 'rider-a', first: 2 });
    expect(ids(one)).toEqual(['a3', 'a2']);
    const info = one.body.data!.trips.pageInfo;
    expect(info).toMatchObject({ hasNextPage: true, startCursor: one.body.data!.trips.edges[0]!.cursor });
    const two = await page({ riderId: 'rider-a', first: 2, after: info.endCursor });
    expect(ids(two)).toEqual(['a1']);
    expect(two.body.data?.trips.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const past = await page({ riderId: 'rider-a', first: 2, after: two.body.data!.trips.pageInfo.endCursor });
    expect(ids(past)).toEqual([]);
    expect(past.body.data?.trips.pageInfo).toMatchObject({ hasNextPage: false, endCursor: null });
  });

  it('breaks requested_at ties by trip_id: no row skipped or repeated at any page size', async () => {
    const all = ['p7', 'p6', 'p5', 'p4', 'p3', 'p2', 'p1'];
    for (const size of [1, 2, 3, 4, 7, 8]) expect(await walk({ riderId: 'rider-p' }, size)).toEqual(all);
  });

  it('keeps microsecond precision in cursors (ties within one millisecond)', async () => {
    expect(await walk({ riderId: 'rider-m' }, 2)).toEqual(['m5', 'm4', 'm3', 'm2', 'm1']);
    const first = await page({ riderId: 'rider-m', first: 1 });
    const cursor = JSON.parse(Buffer.from(first.body.data!.trips.pageInfo.endCursor!, 'base64url').toString()) as { t: string };
    expect(cursor.t).toContain('.123456');
  });

  it('defaults first to 20 and refuses 0, 101 and malformed cursors with BAD_USER_INPUT', async () => {
    expect(ids(await page({ riderId: 'rider-p' }))).toHaveLength(7);
    expect(ids(await page({ riderId: 'rider-p', first: null }))).toHaveLength(7);
    for (const bad of [{ first: 0 }, { first: 101 }, { first: -1 }, { after: 'not-a-cursor' }, { after: 'eyJ2IjoyfQ' },
      { after: Buffer.from('{"v":1,"t":"x; DROP TABLE","id":"a"}').toString('base64url') }]) {
      const r = await page({ riderId: 'rider-p', ...bad });
      expect(r.body.data).toBeNull();
      expect(codes(r)).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('filters by from (inclusive) / to (exclusive) and status, and refuses from > to', async () => {
    expect(ids(await page({ riderId: 'rider-p', from: '2026-09-01T12:00:00Z', to: '2026-09-01T14:00:00Z' }))).toEqual(['p6', 'p5', 'p4', 'p3']);
    expect(ids(await page({ from: '2026-10-01T10:00:00+02:00', to: '2026-10-01T12:00:00+02:00' }))).toEqual(['a2', 'a1']);
    expect(ids(await page({ status: 'CANCELLED' }))).toEqual(['b2']);
    expect(ids(await page({ riderId: 'rider-a', status: 'COMPLETED' }))).toEqual(['a2', 'a1']);
    expect(ids(await page({ riderId: 'rider-a', status: 'ASSIGNED' }))).toEqual(['a3']);
    const r = await page({ from: '2026-10-02T00:00:00Z', to: '2026-10-01T00:00:00Z' });
    expect(codes(r)).toEqual(['BAD_USER_INPUT']);
    expect(codes(await page({ from: 'yesterday' }))).toEqual(['BAD_USER_INPUT']);
  });
});

describe('row security on queries', () => {
  it('riders see their own trips by default and get FORBIDDEN for another rider', async () => {
    expect(ids(await page({}, 'rider-a'))).toEqual(['a3', 'a2', 'a1']);
    expect(ids(await page({ riderId: 'rider-a' }, 'rider-a'))).toEqual(['a3', 'a2', 'a1']);
    const r = await page({ riderId: 'rider-b' }, 'rider-a');
    expect(r.body.data).toBeNull();
    expect(codes(r)).toEqual(['FORBIDDEN']);
    // Filtering by a driver stays within the rider's own trips.
    expect(ids(await page({ driverId: 'driver-y' }, 'rider-a'))).toEqual([]);
    expect(ids(await page({ driverId: 'driver-y' }, 'rider-b'))).toEqual(['b1']);
  });

  it('drivers see only their own trips', async () => {
    expect(ids(await page({}, 'driver-x'))).toEqual(['b2', 'a3', 'a2', 'a1']);
    expect(ids(await page({ riderId: 'rider-b' }, 'driver-x'))).toEqual(['b2']);
    expect(codes(await page({ driverId: 'driver-y' }, 'driver-x'))).toEqual(['FORBIDDEN']);
  });

  it('ops see every trip', async () => {
    expect(await walk({}, 100)).toHaveLength(17);
  });

  it('Trip.riderStats is FORBIDDEN for a driver (the rest of the trip is visible) and visible to the rider and ops', async () => {
    const Q = '{ trips(first: 3) { edges { node { id driver { id rating completedTrips } riderStats { riderId trips } } } } }';
    const asDriver = await t.gql<{ trips: { edges: Array<{ node: { id: string; driver: unknown; riderStats: unknown } }> } }>(Q, undefined, tokens['driver-x']);
    expect(asDriver.body.data?.trips.edges.map((e) => e.node.id)).toEqual(['b2', 'a3', 'a2']);
    expect(asDriver.body.data?.trips.edges.every((e) => e.node.riderStats === null)).toBe(true);
    expect(asDriver.body.data?.trips.edges[0]?.node.driver).toEqual({ id: 'driver-x', rating: '5.00', completedTrips: 2 });
    expect(codes(asDriver)).toEqual(['FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN']);
    expect(asDriver.body.errors?.[0]?.path).toEqual(['trips', 'edges', 0, 'node', 'riderStats']);
    const asRider = await t.gql<{ trips: { edges: Array<{ node: { riderStats: unknown } }> } }>(Q, undefined, tokens['rider-b']);
    expect(asRider.body.errors).toBeUndefined();
    expect(asRider.body.data?.trips.edges[0]?.node.riderStats).toEqual({ riderId: 'rider-b', trips: 2 });
  });

  it('riderStats: the rider themself and ops only', async () => {
    const Q = 'query($id: ID!) { riderStats(riderId: $id) { riderId trips completedTrips cancelledTrips totalSpent avgRatingGiven ratingsGiven updatedAt } }';
    expect((await t.gql(Q, { id: 'rider-a' }, tokens['rider-a'])).body.data).toEqual({ riderStats: {
      riderId: 'rider-a', trips: 3, completedTrips: 2, cancelledTrips: 0, totalSpent: '23.50', avgRatingGiven: '5.00', ratingsGiven: 2,
      updatedAt: '2026-10-01T10:02:00.000Z',
    } });
    expect(codes(await t.gql(Q, { id: 'rider-b' }, tokens['rider-a']))).toEqual(['FORBIDDEN']);
    expect(codes(await t.gql(Q, { id: 'rider-a' }, tokens['driver-x']))).toEqual(['FORBIDDEN']);
    expect((await t.gql(Q, { id: 'rider-b' }, tokens['ops-1'])).body.data).toMatchObject({ riderStats: { trips: 2, cancelledTrips: 1 } });
    expect((await t.gql(Q, { id: 'nobody' }, tokens['ops-1'])).body.data).toEqual({ riderStats: null });
  });

  it('driverStats: the driver themself and ops only', async () => {
    const Q = 'query($id: ID!) { driverStats(driverId: $id) { driverId trips completedTrips cancelledTrips lifetimeEarnings rating ratings lastTripAt } }';
    expect((await t.gql(Q, { id: 'driver-x' }, tokens['driver-x'])).body.data).toEqual({ driverStats: {
      driverId: 'driver-x', trips: 4, completedTrips: 2, cancelledTrips: 1, lifetimeEarnings: '23.50', rating: '5.00', ratings: 2,
      lastTripAt: '2026-10-01T09:04:00.000Z',
    } });
    expect(codes(await t.gql(Q, { id: 'driver-y' }, tokens['driver-x']))).toEqual(['FORBIDDEN']);
    expect(codes(await t.gql(Q, { id: 'driver-x' }, tokens['rider-a']))).toEqual(['FORBIDDEN']);
    expect((await t.gql(Q, { id: 'driver-y' }, tokens['ops-1'])).body.data).toMatchObject({ driverStats: { lifetimeEarnings: '7.25' } });
  });

  it('driverEarnings: per day, from/to inclusive, the driver themself and ops only', async () => {
    const Q = 'query($id: ID!, $from: Date, $to: Date) { driverEarnings(driverId: $id, from: $from, to: $to) { driverId day trips grossFares avgRating ratings } }';
    expect((await t.gql(Q, { id: 'driver-x' }, tokens['driver-x'])).body.data).toEqual({ driverEarnings: [
      { driverId: 'driver-x', day: '2026-10-01', trips: 2, grossFares: '23.50', avgRating: '5.00', ratings: 2 },
    ] });
    expect((await t.gql(Q, { id: 'driver-x', from: '2026-10-02', to: '2026-10-31' }, tokens['driver-x'])).body.data).toEqual({ driverEarnings: [] });
    expect((await t.gql(Q, { id: 'driver-x', from: '2026-10-01', to: '2026-10-01' }, tokens['ops-1'])).body.data?.['driverEarnings']).toHaveLength(1);
    expect(codes(await t.gql(Q, { id: 'driver-x', from: '2026-10-02', to: '2026-10-01' }, tokens['ops-1']))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await t.gql(Q, { id: 'driver-x', from: '2026-02-30' }, tokens['ops-1']))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await t.gql(Q, { id: 'driver-x' }, tokens['rider-a']))).toEqual(['FORBIDDEN']);
    expect(codes(await t.gql(Q, { id: 'driver-x' }, tokens['driver-y']))).toEqual(['FORBIDDEN']);
  });
});

describe('DataLoader batching', () => {
  it('loads driver and riderStats of a 50-trip page with exactly one query per relation', async () => {
    const start = new Date('2027-01-01T00:00:00Z').getTime();
    await writeRides(t.engine, Array.from({ length: 50 }, (_, i) => ({
      id: `batch-${String(i).padStart(2, '0')}`, rider: `batch-rider-${i % 25}`, driver: `batch-driver-${i % 10}`,
      requestedAt: new Date(start + i * 3_600_000),
    })));
    sqlLog.length = 0;
    const r = await t.gql<{ trips: { edges: Array<{ node: { driver: { id: string }; riderStats: { riderId: string; trips: number } } }> } }>(
      '{ trips(first: 50) { edges { node { id driver { id rating } riderStats { riderId trips } } } } }', undefined, tokens['ops-1']);
    expect(r.body.errors).toBeUndefined();
    const edges = r.body.data!.trips.edges;
    expect(edges).toHaveLength(50);
    expect(new Set(edges.map((e) => e.node.driver.id)).size).toBe(10);
    expect(edges.every((e) => e.node.driver.id.startsWith('batch-driver-') && e.node.riderStats.trips === 2)).toBe(true);
    // One statement per relation, whatever order the loaders dispatch in (the SQL is shown on failure).
    const froms = sqlLog.map((sql) => /FROM (\w+)/.exec(sql)?.[1] ?? sql).sort();
    expect(froms).toEqual(['driver_stats', 'rider_stats', 'trip_history']);
  });
});
