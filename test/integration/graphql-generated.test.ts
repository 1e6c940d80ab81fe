/**
 * What the generated API does beyond the hand-written one, on a real gateway (PGlite, HTTP,
 * websockets): permissions read from the declarations reach queries, relations and subscriptions
 * alike — a rider reads the public profile of the drivers of their own trips (a `lookup` permission
 * with a column list), and nothing else of driver_stats.
 */
import type { Engine } from '../../src/engine/types';
import { startTestGateway, writeRides, type GqlResponse, type RideSpec, type TestGateway } from '../helpers/gateway';
import { waitFor } from '../helpers/waitFor';
import { connectWs, disposeWsClients, type TestWsClient } from '../helpers/wsClient';

let t: TestGateway;
const sqlLog: string[] = [];
const tokens: Record<string, string> = {};

const ride = (id: string, rider: string, driver: string): RideSpec => ({ id, rider, driver, requestedAt: new Date('2026-10-03T10:00:00Z') });

beforeAll(async () => {
  t = await startTestGateway({
    wrapEngine: (engine): Engine => ({
      kind: engine.kind, feed: engine.feed, views: engine.views, ready: () => engine.ready(), close: () => engine.close(),
      query: (sql, params, options) => {
        sqlLog.push(sql);
        return engine.query(sql, params, options);
      },
    }),
  });
  await writeRides(t.engine, [ride('g1', 'rider-g', 'driver-g'), ride('h1', 'rider-h', 'driver-h')]);
  for (const [sub, role] of [['rider-g', 'rider'], ['driver-g', 'driver'], ['ops-1', 'ops']] as const) tokens[sub] = await t.token(sub, role);
});
afterAll(async () => {
  await disposeWsClients();
  await t?.dispose();
});

const codes = (r: GqlResponse<unknown>) => (r.body.errors ?? []).map((e) => e.extensions?.['code']);
const PROFILE = 'query($id: ID!) { driverStats(driverId: $id) { driverId rating completedTrips } }';

describe('driverStats for a rider (lookup permission with a column list)', () => {
  it('reads the public columns of the driver of an own trip', async () => {
    const r = await t.gql(PROFILE, { id: 'driver-g' }, tokens['rider-g']);
    expect(r.body).toEqual({ data: { driverStats: { driverId: 'driver-g', rating: '5.00', completedTrips: 1 } } });
  });

  it('is FORBIDDEN for another driver, null for an unknown one, FORBIDDEN (naming the fields) for earnings', async () => {
    const other = await t.gql(PROFILE, { id: 'driver-h' }, tokens['rider-g']);
    expect(other.body.data).toEqual({ driverStats: null });
    expect(other.body.errors?.[0]).toMatchObject({ message: 'Not allowed to read this driver stats', extensions: { code: 'FORBIDDEN' } });
    expect((await t.gql(PROFILE, { id: 'driver-nobody' }, tokens['rider-g'])).body).toEqual({ data: { driverStats: null } });
    const earnings = await t.gql('query($id: ID!) { driverStats(driverId: $id) { rating lifetimeEarnings trips } }', { id: 'driver-g' }, tokens['rider-g']);
    expect(earnings.body.errors?.[0]).toMatchObject({ message: 'Riders cannot read these fields of driver stats: lifetimeEarnings, trips', extensions: { code: 'FORBIDDEN' } });
  });

  it('loads Trip.driver of a rider\'s page in one statement, through the same permission', async () => {
    sqlLog.length = 0;
    const r = await t.gql<{ trips: { edges: Array<{ node: { driver: unknown } }> } }>('{ trips { edges { node { id driver { id rating } } } } }', undefined, tokens['rider-g']);
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data?.trips.edges.map((e) => e.node.driver)).toEqual([{ id: 'driver-g', rating: '5.00' }]);
    expect(sqlLog.map((s) => /FROM (\w+)/.exec(s)?.[1])).toEqual(['trip_history', 'driver_stats']);
    // Selects only what the query asks for (and the key and order), not all 22 columns.
    expect(sqlLog[0]).toMatch(/^SELECT trip_id, driver_id, requested_at, CAST\(requested_at AS varchar\) AS wg_k0 FROM trip_history /);
  });
});

describe('driverStatsUpdated for a rider (lookup sets kept by the hub)', () => {
  let c: TestWsClient;
  beforeAll(async () => {
    c = connectWs(t.wsUrl, { authorization: `Bearer ${tokens['rider-g']}` });
    await c.connected;
  });
  afterAll(async () => c.dispose());

  it('delivers the public profile of an own trip\'s driver, refuses another driver and the earnings', async () => {
    const Q = 'subscription($id: ID!) { driverStatsUpdated(driverId: $id) { kind driverId stats { driverId completedTrips } } }';
    expect((await c.subscribe(Q, { id: 'driver-h' }).error())[0]?.extensions?.['code']).toBe('FORBIDDEN');
    expect((await c.subscribe('subscription { driverStatsUpdated(driverId: "driver-g") { stats { lifetimeEarnings } } }').error())[0]?.extensions?.['code'])
      .toBe('FORBIDDEN');
    const before = t.gateway.hub.size;
    const sub = c.subscribe<{ driverStatsUpdated: { kind: string; driverId: string; stats: { driverId: string; completedTrips: number } | null } }>(Q, { id: 'driver-g' });
    await waitFor(() => t.gateway.hub.size > before);
    await writeRides(t.engine, [ride('g2', 'rider-g', 'driver-g')]);
    for (;;) {
      const next = await sub.next();
      expect(next.errors).toBeUndefined();
      expect(next.data?.driverStatsUpdated).toMatchObject({ driverId: 'driver-g', stats: { driverId: 'driver-g' } });
      if (next.data?.driverStatsUpdated.stats?.completedTrips === 2) break;
    }
  });
});
