/**
 * Subscriptions over real websockets (graphql-ws) on a real gateway: every subscription, row
 * security per role, resume after a cursor, stale/foreign cursors, errors as `error` messages,
 * limits, and websocket authentication (4401 on bad tokens and at token expiry).
 */
import { encodeFeedCursor } from '../../src/graphql/cursors';
import { startTestGateway, writeRideEvents, writeRides, type RideSpec, type TestGateway } from '../helpers/gateway';
import { badTokens } from '../helpers/tokens';
import { waitFor } from '../helpers/waitFor';
import { connectWs, disposeWsClients, type TestSubscription, type TestWsClient } from '../helpers/wsClient';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({ limits: { maxDepth: 4, maxCost: 1_000 } });
});
afterAll(async () => {
  await disposeWsClients();
  await t?.dispose();
});

interface TripChangeData {
  tripUpdated: { kind: string; tripId: string | null; cursor: string; trip: { id: string; riderId: string | null; driverId: string | null; status: string } | null };
}
const TRIPS = `subscription($riderId: ID, $tripId: ID, $driverId: ID, $after: String) {
  tripUpdated(riderId: $riderId, tripId: $tripId, driverId: $driverId, after: $after) { kind tripId cursor trip { id riderId driverId status } }
}`;

async function client(sub: string, role: 'rider' | 'driver' | 'ops'): Promise<TestWsClient> {
  const c = connectWs(t.wsUrl, { authorization: `Bearer ${await t.token(sub, role)}` });
  await c.connected;
  return c;
}

/** Subscribes and waits until the hub has registered it, so changes written next are not missed. */
async function subscribed<T>(c: TestWsClient, query: string, variables?: Record<string, unknown>): Promise<TestSubscription<T>> {
  const before = t.gateway.hub.size;
  const sub = c.subscribe<T>(query, variables);
  await waitFor(() => t.gateway.hub.size > before);
  return sub;
}

/** Reads payloads until `done` holds for one; returns all read. */
async function until<T>(sub: TestSubscription<T>, done: (d: T) => boolean): Promise<T[]> {
  const out: T[] = [];
  for (;;) {
    const r = await sub.next();
    expect(r.errors).toBeUndefined();
    out.push(r.data as T);
    if (done(r.data as T)) return out;
  }
}

const ride = (id: string, rider: string, driver?: string, steps?: RideSpec['steps']): RideSpec =>
  ({ id, rider, ...(driver !== undefined ? { driver } : {}), ...(steps !== undefined ? { steps } : {}), requestedAt: new Date('2026-10-05T10:00:00Z') });
const completed = (id: string) => (d: TripChangeData) => d.tripUpdated.tripId === id && d.tripUpdated.trip?.status === 'COMPLETED';

describe('tripUpdated', () => {
  it('gives ops every trip, with kind, id, row and cursor', async () => {
    const c = await client('ops-1', 'ops');
    const sub = await subscribed<TripChangeData>(c, TRIPS);
    await writeRides(t.engine, [ride('o1', 'rider-o', 'driver-o')]);
    const got = await until(sub, completed('o1'));
    expect(got[0]!.tripUpdated).toMatchObject({ kind: 'INSERT', tripId: 'o1', trip: { id: 'o1', riderId: 'rider-o', status: 'REQUESTED' } });
    expect(got.slice(1).every((d) => d.tripUpdated.kind === 'UPDATE')).toBe(true);
    expect(typeof got[0]!.tripUpdated.cursor).toBe('string');
    await c.dispose();
  });

  it.each([[{}], [{ riderId: 'rider-a' }]])('a rider (%p) never sees another rider’s change', async (vars) => {
    const c = await client('rider-a', 'rider');
    const sub = await subscribed<TripChangeData>(c, TRIPS, vars);
    const tag = Object.keys(vars).length;
    await writeRides(t.engine, [ride(`b-${tag}`, 'rider-b', 'driver-1')]);
    await writeRides(t.engine, [ride(`b2-${tag}`, 'rider-b', 'driver-1'), ride(`a-${tag}`, 'rider-a', 'driver-1')]);
    const got = await until(sub, completed(`a-${tag}`));
    expect(got.length).toBeGreaterThan(1);
    expect(got.every((d) => d.tripUpdated.trip?.riderId === 'rider-a' && d.tripUpdated.tripId === `a-${tag}`)).toBe(true);
    await c.dispose();
  });

  it('a driver sees only their own trips (from assignment on)', async () => {
    const c = await client('driver-d', 'driver');
    const sub = await subscribed<TripChangeData>(c, TRIPS);
    await writeRides(t.engine, [ride('d-other', 'rider-x', 'driver-e'), ride('d-own', 'rider-x', 'driver-d')]);
    const got = await until(sub, completed('d-own'));
    expect(got.every((d) => d.tripUpdated.trip?.driverId === 'driver-d')).toBe(true);
    await c.dispose();
  });

  it('a rider may follow one own trip by tripId; another rider’s trip is FORBIDDEN', async () => {
    await writeRides(t.engine, [ride('t-own', 'rider-t', undefined, []), ride('t-other', 'rider-u', undefined, [])]);
    const c = await client('rider-t', 'rider');
    const forbidden = c.subscribe<TripChangeData>(TRIPS, { tripId: 't-other' });
    expect((await forbidden.error())[0]?.extensions?.['code']).toBe('FORBIDDEN');
    const sub = await subscribed<TripChangeData>(c, TRIPS, { tripId: 't-own' });
    await writeRides(t.engine, [ride('t-unrelated', 'rider-t', undefined, [])]);
    await writeRideEvents(t.engine, [{ type: 'RideCancelled', aggregateId: 't-own', payload: { cancelled_by: 'rider', reason: 'late' } }]);
    const next = await sub.next();
    expect(next.data?.tripUpdated).toMatchObject({ kind: 'UPDATE', tripId: 't-own', trip: { status: 'CANCELLED' } });
    await c.dispose();
  });

  it('refuses someone else’s id with FORBIDDEN and two filters with BAD_USER_INPUT, as error messages', async () => {
    const rider = await client('rider-a', 'rider');
    expect((await rider.subscribe(TRIPS, { riderId: 'rider-b' }).error())[0]).toMatchObject({ message: 'Riders can only read their own trips', extensions: { code: 'FORBIDDEN' } });
    expect((await rider.subscribe(TRIPS, { riderId: 'rider-a', tripId: 'x' }).error())[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    const driver = await client('driver-d', 'driver');
    expect((await driver.subscribe(TRIPS, { driverId: 'driver-e' }).error())[0]?.extensions?.['code']).toBe('FORBIDDEN');
    await rider.dispose();
    await driver.dispose();
  });

  it('masks nested FORBIDDEN fields per payload (a driver asking for riderStats)', async () => {
    const c = await client('driver-n', 'driver');
    const sub = await subscribed<{ tripUpdated: { trip: { riderStats: unknown } | null } }>(c,
      'subscription { tripUpdated { tripId trip { riderStats { trips } } } }');
    await writeRides(t.engine, [ride('n1', 'rider-n', 'driver-n', ['assign'])]);
    const r = await sub.next();
    expect(r.data?.tripUpdated.trip).toEqual({ riderStats: null });
    expect(r.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    await c.dispose();
  });
});

describe('driver subscriptions', () => {
  const EARN = 'subscription($id: ID!) { driverEarningsUpdated(driverId: $id) { kind driverId day cursor earnings { day trips grossFares } } }';
  const STATS = 'subscription($id: ID!) { driverStatsUpdated(driverId: $id) { kind driverId cursor stats { driverId completedTrips lifetimeEarnings } } }';

  it('driverEarningsUpdated: the driver’s own days only', async () => {
    const c = await client('driver-m', 'driver');
    type E = { driverEarningsUpdated: { driverId: string; day: string; earnings: { grossFares: string } | null } };
    const sub = await subscribed<E>(c, EARN, { id: 'driver-m' });
    await writeRides(t.engine, [ride('m-other', 'rider-m', 'driver-z', undefined), ride('m1', 'rider-m', 'driver-m')]);
    const got = await until(sub, (d) => d.driverEarningsUpdated.earnings?.grossFares === '10.00');
    expect(got.every((d) => d.driverEarningsUpdated.driverId === 'driver-m' && d.driverEarningsUpdated.day === '2026-10-05')).toBe(true);
    expect((await c.subscribe(EARN, { id: 'driver-z' }).error())[0]?.extensions?.['code']).toBe('FORBIDDEN');
    const rider = await client('rider-m', 'rider');
    expect((await rider.subscribe(EARN, { id: 'driver-m' }).error())[0]?.extensions?.['code']).toBe('FORBIDDEN');
    await c.dispose();
    await rider.dispose();
  });

  it('driverStatsUpdated: the driver themself and ops', async () => {
    const ops = await client('ops-1', 'ops');
    type S = { driverStatsUpdated: { kind: string; stats: { driverId: string; completedTrips: number; lifetimeEarnings: string } | null } };
    const sub = await subscribed<S>(ops, STATS, { id: 'driver-s' });
    await writeRides(t.engine, [ride('s-other', 'rider-s', 'driver-q'), ride('s1', 'rider-s', 'driver-s')]);
    const got = await until(sub, (d) => d.driverStatsUpdated.stats?.lifetimeEarnings === '10.00');
    expect(got[0]!.driverStatsUpdated.kind).toBe('INSERT');
    expect(got.every((d) => d.driverStatsUpdated.stats?.driverId === 'driver-s')).toBe(true);
    expect(got.at(-1)!.driverStatsUpdated.stats).toEqual({ driverId: 'driver-s', completedTrips: 1, lifetimeEarnings: '10.00' });
    const rider = await client('rider-s', 'rider');
    expect((await rider.subscribe(STATS, { id: 'driver-s' }).error())[0]?.extensions?.['code']).toBe('FORBIDDEN');
    await ops.dispose();
    await rider.dispose();
  });
});

describe('resume', () => {
  it('after a disconnect, `after: lastCursor` delivers exactly the missed changes, then live ones', async () => {
    // A reference subscriber stays connected throughout and records every change of rider-r.
    const refClient = await client('ops-1', 'ops');
    const ref = await subscribed<TripChangeData>(refClient, TRIPS, { riderId: 'rider-r' });
    const c1 = await client('rider-r', 'rider');
    const first = await subscribed<TripChangeData>(c1, TRIPS);
    await writeRides(t.engine, [ride('r1', 'rider-r', 'driver-r')]);
    const seen = await until(first, completed('r1'));
    const refSeen = await until(ref, completed('r1'));
    expect(seen).toEqual(refSeen);
    const lastCursor = seen.at(-1)!.tripUpdated.cursor;
    await c1.dispose();
    await waitFor(() => t.gateway.hub.size === 1);

    await writeRides(t.engine, [ride('r2', 'rider-r', 'driver-r'), ride('not-mine', 'rider-q', 'driver-r')]);
    await writeRides(t.engine, [ride('r3', 'rider-r', undefined, ['assign'])]);
    const missed = await until(ref, (d) => d.tripUpdated.tripId === 'r3' && d.tripUpdated.trip?.driverId !== null);

    const c2 = await client('rider-r', 'rider');
    const resumed = await subscribed<TripChangeData>(c2, TRIPS, { after: lastCursor });
    const replayed = await until(resumed, (d) => d.tripUpdated.tripId === 'r3' && d.tripUpdated.trip?.driverId !== null);
    expect(replayed).toEqual(missed);
    // Live ones follow, without a gap or a duplicate.
    await writeRides(t.engine, [ride('r4', 'rider-r', 'driver-r')]);
    const live = await until(resumed, completed('r4'));
    expect(live).toEqual(await until(ref, completed('r4')));
    expect(live[0]!.tripUpdated).toMatchObject({ kind: 'INSERT', tripId: 'r4' });
    await c2.dispose();
    await refClient.dispose();
  });

  it('refuses a cursor of another feed with CURSOR_EXPIRED and a malformed one with BAD_USER_INPUT', async () => {
    const c = await client('ops-1', 'ops');
    const foreign = encodeFeedCursor('embedded:00000000-0000-0000-0000-000000000000', '1');
    expect((await c.subscribe(TRIPS, { after: foreign }).error())[0]?.extensions?.['code']).toBe('CURSOR_EXPIRED');
    expect((await c.subscribe(TRIPS, { after: 'garbage!' }).error())[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect((await c.subscribe(TRIPS, { after: Buffer.from('{"v":1,"feed":1}').toString('base64url') }).error())[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    await c.dispose();
  });

  it('refuses a cursor older than the retained change log with CURSOR_EXPIRED', async () => {
    const small = await startTestGateway({ changeRetention: 10 });
    try {
      const stale = encodeFeedCursor(small.engine.feed.id, small.engine.feed.head());
      await writeRides(small.engine, [ride('s1', 'rider-s', 'driver-s'), ride('s2', 'rider-s', 'driver-s')]);
      await waitFor(() => Number(small.engine.feed.head()) > 20);
      expect(await small.engine.prune()).toBeGreaterThan(0);
      const c = connectWs(small.wsUrl, { authorization: `Bearer ${await small.token('ops-1', 'ops')}` });
      const errors = await c.subscribe(TRIPS, { after: stale }).error();
      expect(errors[0]?.extensions?.['code']).toBe('CURSOR_EXPIRED');
      await c.dispose();
    } finally {
      await small.dispose();
    }
  });
});

describe('operations over websockets', () => {
  it('answers queries, and reports bad operations as error messages with Apollo’s codes, then keeps serving', async () => {
    const c = await client('ops-1', 'ops');
    const code = async (query: string, variables?: Record<string, unknown>) => (await c.subscribe(query, variables).error())[0]?.extensions?.['code'];
    expect(await code('subscription { tripUpdated { ')).toBe('GRAPHQL_PARSE_FAILED');
    expect(await code('subscription { tripUpdated { password } }')).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(await code('query { trips { edges { node { driver { id } } } } }')).toBe('QUERY_TOO_DEEP');
    const costly = `{ ${[1, 2, 3, 4].map((i) => `a${i}: trips(first: 100) { edges { node { id } } }`).join(' ')} }`;
    expect(await code(costly)).toBe('QUERY_TOO_COSTLY');
    expect(await code('subscription($id: ID!) { driverStatsUpdated(driverId: $id) { kind } }', {})).toBe('BAD_USER_INPUT');
    const q = await c.subscribe<{ trip: { id: string } }>('{ trip(id: "o1") { id } }').next();
    expect(q).toEqual({ data: { trip: { id: 'o1' } } });
    const sub = await subscribed<TripChangeData>(c, TRIPS, { tripId: 'late' });
    await writeRides(t.engine, [ride('late', 'rider-l', undefined, [])]);
    expect((await sub.next()).data?.tripUpdated.tripId).toBe('late');
    await c.dispose();
  });
});

describe('websocket authentication', () => {
  it('closes with 4401 without a token or with any bad token', async () => {
    const none = connectWs(t.wsUrl);
    expect(await none.closed).toEqual({ code: 4401, reason: 'Unauthorized' });
    for (const [what, token] of Object.entries(badTokens())) {
      const c = connectWs(t.wsUrl, { authorization: `Bearer ${token}` });
      expect([what, (await c.closed).code]).toEqual([what, 4401]);
    }
    const ok = await client('ops-1', 'ops');
    expect((await ok.subscribe<{ trip: { id: string } }>('{ trip(id: "o1") { id } }').next()).data).toEqual({ trip: { id: 'o1' } });
    await ok.dispose();
  });

  it('accepts { token } and GraphiQL’s { Authorization } forms', async () => {
    for (const params of [{ token: await t.token('ops-1', 'ops') }, { Authorization: `Bearer ${await t.token('ops-1', 'ops')}` }]) {
      const c = connectWs(t.wsUrl, params);
      await c.connected;
      await c.dispose();
    }
  });

  it('closes an open socket with 4401 when its token expires', async () => {
    const c = connectWs(t.wsUrl, { authorization: `Bearer ${await t.token('rider-e', 'rider', 2)}` });
    await c.connected;
    const sub = c.subscribe(TRIPS);
    const closed = await Promise.race([c.closed, new Promise<null>((r) => setTimeout(() => r(null), 5_000).unref())]);
    expect(closed).toEqual({ code: 4401, reason: 'Token expired' });
    await waitFor(() => sub.events.some((e) => e.kind === 'error'));
    await waitFor(() => t.gateway.hub.size === 0);
  });
});
