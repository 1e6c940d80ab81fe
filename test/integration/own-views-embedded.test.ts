/**
 * A user's own views on the embedded engine (issue 12): the fleet schema directory
 * (schema/ plus test/fixtures/fleet: driver_ratings, fleet_drivers and a role fleet_manager with a
 * claim fleet_id, SQL and YAML only) put together in a temp folder and served by a
 * real gateway. The new view's generated query, connection and subscription deliver its rows; a
 * fleet manager reads exactly the trips and ratings of its fleet's drivers on queries, subscriptions
 * and the SQL passthrough, and nothing else.
 */
import pg from 'pg';
import { silentLogger } from '../../src/log';
import { parseSqlUsers, startSqlPassthrough, type SqlPassthrough } from '../../src/passthrough';
import { loadRegistry } from '../../src/views/load';
import { fleetOf, fleetSchemaDir } from '../fixtures/fleet';
import { startTestGateway, writeRides, type GqlResponse, type RideSpec, type TestGateway } from '../helpers/gateway';
import { claims, hs256 } from '../helpers/tokens';
import { waitFor } from '../helpers/waitFor';
import { connectWs, disposeWsClients } from '../helpers/wsClient';

const schema = fleetSchemaDir('wt-own-views');
let t: TestGateway;
let sql: SqlPassthrough;
const tokens: Record<string, string> = {};

const ride = (id: string, driver: string, minute: number): RideSpec =>
  ({ id, rider: `rider-${id}`, driver, requestedAt: new Date(Date.UTC(2026, 9, 3, 10, minute)) });
// fleet-1: driver-01, driver-11; fleet-2: driver-02.
const RIDES = [ride('t1', 'driver-01', 0), ride('t2', 'driver-11', 1), ride('t3', 'driver-02', 2), ride('t4', 'driver-01', 3)];
const fleetManager = (fleet: string): string => hs256({ ...claims(`fm-${fleet}`, 'fleet_manager'), fleet_id: fleet });
const codes = (r: GqlResponse<unknown>) => (r.body.errors ?? []).map((e) => e.extensions?.['code']);

beforeAll(async () => {
  t = await startTestGateway({ views: loadRegistry(schema.dir) });
  await writeRides(t.engine, RIDES);
  tokens['ops'] = await t.token('ops-1', 'ops');
  tokens['fleet-1'] = fleetManager('fleet-1');
  tokens['fleet-2'] = fleetManager('fleet-2');
  sql = await startSqlPassthrough({
    port: 0, engine: t.engine, log: silentLogger,
    users: parseSqlUsers('fm1:fm-pw-1:fleet_manager:fm-1:fleet_id=fleet-1,ops:ops-pw-2:ops', t.engine.views),
  });
}, 120_000);
afterAll(async () => {
  await disposeWsClients();
  await sql?.close();
  await t?.dispose();
  schema.remove();
});

describe('the fleet schema directory', () => {
  it('serves six views and the fleet_manager role, with no TypeScript', () => {
    expect(t.engine.views.views.map((v) => v.name).sort())
      .toEqual(['driver_earnings_daily', 'driver_ratings', 'driver_stats', 'fleet_drivers', 'rider_stats', 'trip_history']);
    expect(t.engine.views.roles.find((r) => r.name === 'fleet_manager')?.claims).toEqual([{ name: 'fleet_id', type: 'string' }]);
  });
});

describe('driver_ratings: the generated query, connection and subscription', () => {
  it('looks a driver up and lists every driver (ops)', async () => {
    const one = await t.gql('{ driverRatings(driverId: "driver-01") { driverId ratings averageRating } }', undefined, tokens['ops']);
    expect(one.body).toEqual({ data: { driverRatings: { driverId: 'driver-01', ratings: 2, averageRating: '5.00' } } });
    const all = await t.gql<{ driverRatingsList: { edges: Array<{ node: unknown }> } }>(
      '{ driverRatingsList { edges { node { driverId ratings } } } }', undefined, tokens['ops']);
    expect(all.body.errors).toBeUndefined();
    expect(all.body.data?.driverRatingsList.edges.map((e) => e.node)).toEqual([
      { driverId: 'driver-01', ratings: 2 }, { driverId: 'driver-02', ratings: 1 }, { driverId: 'driver-11', ratings: 1 }]);
    expect((await t.gql('{ driverRatings(driverId: "driver-nobody") { ratings } }', undefined, tokens['ops'])).body).toEqual({ data: { driverRatings: null } });
  });

  it('delivers a driver\'s new rating on driverRatingsUpdated', async () => {
    const c = connectWs(t.wsUrl, { authorization: `Bearer ${tokens['ops']}` });
    await c.connected;
    const before = t.gateway.hub.size;
    const sub = c.subscribe<{ driverRatingsUpdated: { kind: string; driverId: string; driverRatings: { ratings: number } | null } }>(
      'subscription { driverRatingsUpdated(driverId: "driver-02") { kind driverId driverRatings { ratings } } }');
    await waitFor(() => t.gateway.hub.size > before || undefined);
    await writeRides(t.engine, [ride('t5', 'driver-02', 4)]);
    for (;;) {
      const next = await sub.next();
      expect(next.errors).toBeUndefined();
      expect(next.data?.driverRatingsUpdated.driverId).toBe('driver-02');
      if (next.data?.driverRatingsUpdated.driverRatings?.ratings === 2) break;
    }
    sub.unsubscribe();
    await c.dispose();
  });
});

describe('fleet_manager (claim fleet_id, fleet membership from fleet_drivers)', () => {
  type Trips = { trips: { edges: Array<{ node: { id: string; driverId: string } }> } };
  const tripsOf = async (token: string | undefined) => {
    const r = await t.gql<Trips>('{ trips(first: 100) { edges { node { id driverId } } } }', undefined, token);
    expect(r.body.errors).toBeUndefined();
    return r.body.data!.trips.edges.map((e) => e.node);
  };

  it('reads exactly the trips and ratings of its fleet\'s drivers on queries', async () => {
    const mine = await tripsOf(tokens['fleet-1']);
    expect(mine.map((n) => n.id).sort()).toEqual(['t1', 't2', 't4']);
    expect(mine.every((n) => fleetOf(n.driverId) === 'fleet-1')).toBe(true);
    expect((await tripsOf(tokens['fleet-2'])).map((n) => n.id).sort()).toEqual(expect.arrayContaining(['t3']));
    expect((await tripsOf(tokens['fleet-2'])).every((n) => fleetOf(n.driverId) === 'fleet-2')).toBe(true);
    expect((await tripsOf(fleetManager('fleet-9')))).toEqual([]);

    const own = await t.gql('{ trip(id: "t2") { id driverId } }', undefined, tokens['fleet-1']);
    expect(own.body).toEqual({ data: { trip: { id: 't2', driverId: 'driver-11' } } });
    expect(codes(await t.gql('{ trip(id: "t3") { id } }', undefined, tokens['fleet-1']))).toEqual(['FORBIDDEN']);

    const ratings = await t.gql<{ driverRatingsList: { edges: Array<{ node: { driverId: string } }> } }>(
      '{ driverRatingsList { edges { node { driverId } } } }', undefined, tokens['fleet-1']);
    expect(ratings.body.data?.driverRatingsList.edges.map((e) => e.node.driverId)).toEqual(['driver-01', 'driver-11']);
    expect(codes(await t.gql('{ driverRatings(driverId: "driver-02") { ratings } }', undefined, tokens['fleet-1']))).toEqual(['FORBIDDEN']);
    const members = await t.gql<{ fleetDrivers: { edges: Array<{ node: { driverId: string; fleetId: string } }> } }>(
      '{ fleetDrivers { edges { node { driverId fleetId } } } }', undefined, tokens['fleet-1']);
    expect(members.body.data?.fleetDrivers.edges.map((e) => e.node)).toEqual([
      { driverId: 'driver-01', fleetId: 'fleet-1' }, { driverId: 'driver-11', fleetId: 'fleet-1' }]);
  });

  it('reads nothing of the views it has no permission on', async () => {
    for (const q of [
      '{ driverStats(driverId: "driver-01") { trips } }',
      '{ riderStats(riderId: "rider-t1") { trips } }',
      '{ driverEarnings(driverId: "driver-01") { day } }',
    ]) {
      const r = await t.gql(q, undefined, tokens['fleet-1']);
      expect({ q, codes: codes(r) }).toEqual({ q, codes: ['FORBIDDEN'] });
    }
    const c = connectWs(t.wsUrl, { authorization: `Bearer ${tokens['fleet-1']}` });
    await c.connected;
    for (const q of ['subscription { driverStatsUpdated(driverId: "driver-01") { kind } }', 'subscription { driverEarningsUpdated(driverId: "driver-01") { kind } }']) {
      expect({ q, code: (await c.subscribe(q).error())[0]?.extensions?.['code'] }).toEqual({ q, code: 'FORBIDDEN' });
    }
    await c.dispose();
  });

  it('gets on tripUpdated the changes of its own fleet\'s trips, never another fleet\'s', async () => {
    const c = connectWs(t.wsUrl, { authorization: `Bearer ${tokens['fleet-1']}` });
    await c.connected;
    const before = t.gateway.hub.size;
    const sub = c.subscribe<{ tripUpdated: { tripId: string; trip: { driverId: string | null; status: string } | null } }>(
      'subscription { tripUpdated { tripId trip { driverId status } } }');
    await waitFor(() => t.gateway.hub.size > before || undefined);
    // Another fleet's ride first, then (in a later transaction) a ride of a driver new to fleet-1:
    // the new member's trip arrives (the lookup set follows fleet_drivers), the other one never does.
    await writeRides(t.engine, [ride('x1', 'driver-02', 10)]);
    await writeRides(t.engine, [ride('x2', 'driver-21', 11)]);
    const seen: string[] = [];
    for (;;) {
      const next = await sub.next();
      expect(next.errors).toBeUndefined();
      const u = next.data!.tripUpdated;
      seen.push(u.tripId);
      if (u.tripId === 'x2' && u.trip?.status === 'COMPLETED') break;
    }
    expect(new Set(seen)).toEqual(new Set(['x2']));
    sub.unsubscribe();
    await c.dispose();
  });

  it('reads exactly its fleet\'s rows on the SQL passthrough, and nothing of other views', async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: sql.port, user: 'fm1', password: 'fm-pw-1', database: 'wavegate' });
    c.on('error', () => undefined);
    await c.connect();
    try {
      const trips = await c.query<{ trip_id: string; driver_id: string }>('SELECT trip_id, driver_id FROM trip_history ORDER BY trip_id');
      expect(trips.rows.length).toBeGreaterThan(0);
      expect(trips.rows.every((r) => fleetOf(r.driver_id) === 'fleet-1')).toBe(true);
      expect(trips.rows.map((r) => r.trip_id)).toEqual(expect.arrayContaining(['t1', 't2', 't4']));
      expect(trips.rows.map((r) => r.trip_id)).not.toContain('t3');
      const ratings = await c.query<{ driver_id: string }>('SELECT driver_id FROM driver_ratings ORDER BY driver_id');
      expect(ratings.rows.every((r) => fleetOf(r.driver_id) === 'fleet-1')).toBe(true);
      expect(ratings.rows.map((r) => r.driver_id)).toEqual(expect.arrayContaining(['driver-01', 'driver-11']));
      for (const view of ['driver_stats', 'rider_stats', 'driver_earnings_daily']) {
        const r = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${view}`).then((x) => x.rows[0]?.n, (e: { code?: string }) => e.code);
        expect({ view, r }).toEqual({ view, r: 0 });
      }
    } finally {
      await c.end();
    }
  });
});
