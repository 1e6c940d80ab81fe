/**
 * The shared fan-out (src/graphql/fanout.ts) over real websockets on a real gateway (embedded
 * engine): subscriptions with one document and one set of variables share one execution only within
 * one permission scope, so two riders (or a driver) never see each other's rows while two ops
 * viewers share; and a client that stops reading (its TCP socket paused, so the server's unsent
 * bytes grow) does not hold back the others of its group, which receive every change, while it gets
 * the hub's slow-consumer policy: held for it (its queue, then the latest change per row), nothing out
 * of order, every trip's latest state once it reads again.
 */
import { startTestGateway, writeRides, type RideSpec, type TestGateway } from '../helpers/gateway';
import { waitFor } from '../helpers/waitFor';
import { connectWs, disposeWsClients, type TestSubscription, type TestWsClient } from '../helpers/wsClient';

jest.setTimeout(120_000);

let t: TestGateway;
/** The default: over every batch a test writes (the hub conflates a subscriber's queue past it, a group's too). */
const QUEUE_LIMIT = 1_000;

beforeAll(async () => {
  // keepAliveMs: a paused client does not answer pings; 10 minutes so a slow machine cannot end the test that way.
  t = await startTestGateway({ subscriptions: { queueLimit: QUEUE_LIMIT, keepAliveMs: 600_000 } });
}, 180_000);
afterAll(async () => {
  await disposeWsClients();
  await t?.dispose();
});

interface Trip { id: string; riderId: string | null; driverId: string | null; status: string }
interface TripChangeData { tripUpdated: { kind: string; tripId: string | null; cursor: string; trip: Trip | null } }
/** One document for everyone; $after declared and unset (the usual client), so it is shared. */
const TRIPS = `subscription($riderId: ID, $after: String) {
  tripUpdated(riderId: $riderId, after: $after) { kind tripId cursor trip { id riderId driverId status } }
}`;

async function client(sub: string, role: 'rider' | 'driver' | 'ops', gw: TestGateway = t): Promise<TestWsClient> {
  const c = connectWs(gw.wsUrl, { authorization: `Bearer ${await gw.token(sub, role)}` });
  await c.connected;
  return c;
}

const data = (s: TestSubscription<TripChangeData>) => s.events.map((e) => {
  if (e.kind !== 'next') throw new Error(`unexpected ${e.kind}`);
  expect(e.value.errors).toBeUndefined();
  return e.value.data!.tripUpdated;
});
const lastPerTrip = (ds: ReadonlyArray<TripChangeData['tripUpdated']>) => new Map(ds.map((d) => [d.tripId, d.trip]));
const ride = (id: string, rider: string, driver: string): RideSpec => ({ id, rider, driver, requestedAt: new Date('2026-10-05T10:00:00Z') });
const changesOfTrips = async () => (await t.engine.query<{ n: number }>("SELECT count(*)::int AS n FROM wavegate.changes WHERE view_name = 'trip_history'"))[0]!.n;

describe('shared fan-out', () => {
  it('shares one execution per permission scope: riders and a driver with the same document never see each other’s rows; two ops share one', async () => {
    const [a, b, d, o1, o2] = await Promise.all([
      client('fo-rider-a', 'rider'), client('fo-rider-b', 'rider'), client('fo-driver-d', 'driver'), client('fo-ops-1', 'ops'), client('fo-ops-2', 'ops'),
    ]);
    const size = t.gateway.hub.size;
    const subscribers = t.gateway.hub.subscriberCount;
    const subs = [a, b, d, o1, o2].map((c) => c.subscribe<TripChangeData>(TRIPS, {}));
    await waitFor(() => t.gateway.hub.size === size + 5);
    // riders a and b, driver d, and ops (one for both)
    expect(t.gateway.hub.subscriberCount).toBe(subscribers + 4);
    const [sa, sb, sd, so1, so2] = subs as [TestSubscription<TripChangeData>, ...Array<TestSubscription<TripChangeData>>];
    await writeRides(t.engine, [ride('fo-a1', 'fo-rider-a', 'fo-driver-d'), ride('fo-b1', 'fo-rider-b', 'fo-driver-x'), ride('fo-a2', 'fo-rider-a', 'fo-driver-x')]);
    const done = (s: TestSubscription<TripChangeData>, trips: string[]) => () => {
      const last = lastPerTrip(data(s));
      return trips.every((id) => last.get(id)?.status === 'COMPLETED');
    };
    await waitFor(done(so1!, ['fo-a1', 'fo-b1', 'fo-a2']));
    await waitFor(done(so2!, ['fo-a1', 'fo-b1', 'fo-a2']));
    await waitFor(done(sa, ['fo-a1', 'fo-a2']));
    await waitFor(done(sb!, ['fo-b1']));
    await waitFor(done(sd!, ['fo-a1']));
    expect(new Set(data(sa).map((x) => x.trip?.riderId))).toEqual(new Set(['fo-rider-a']));
    expect(new Set(data(sb!).map((x) => x.trip?.riderId))).toEqual(new Set(['fo-rider-b']));
    expect(new Set(data(sd!).map((x) => x.tripId))).toEqual(new Set(['fo-a1'])); // from assignment on, its own trip only
    expect(data(so1!)).toEqual(data(so2!)); // one execution, the same payloads
    expect(new Set(data(so1!).map((x) => x.tripId))).toEqual(new Set(['fo-a1', 'fo-b1', 'fo-a2']));
    await Promise.all([a, b, d, o1, o2].map((c) => c.dispose()));
    await waitFor(() => t.gateway.hub.size === size && t.gateway.hub.subscriberCount === subscribers);
  });

  it('a client that stops reading does not hold back its group: the others get every change, it gets its queue then the latest per trip', async () => {
    const [fast1, fast2, slow] = await Promise.all([client('fo-fast-1', 'ops'), client('fo-fast-2', 'ops'), client('fo-slow', 'ops')]);
    const size = t.gateway.hub.size;
    const subscribers = t.gateway.hub.subscriberCount;
    const f1 = fast1.subscribe<TripChangeData>(TRIPS, {});
    const f2 = fast2.subscribe<TripChangeData>(TRIPS, {});
    // Many subscriptions on the slow socket: each change is that many frames on it, so its buffers fill soon.
    const slowSubs = Array.from({ length: 100 }, () => slow.subscribe<TripChangeData>(TRIPS, {}));
    await waitFor(() => t.gateway.hub.size === size + 102);
    expect(t.gateway.hub.subscriberCount).toBe(subscribers + 1); // one group
    slow.socket()!.pause(); // stop reading: the server's sends to it back up
    const before = await changesOfTrips();
    const rides = Array.from({ length: 80 }, (_, i) => ride(`fo-s${i}`, `fo-r${i % 7}`, 'fo-driver-s'));
    for (let i = 0; i < rides.length; i += 10) await writeRides(t.engine, rides.slice(i, i + 10));
    const changes = (await changesOfTrips()) - before;
    // The fast ones get every change while the slow one reads nothing.
    await waitFor(() => f1.events.length === changes && f2.events.length === changes);
    expect(data(f1)).toEqual(data(f2));
    expect(slowSubs.every((s) => s.events.length === 0)).toBe(true);
    // The server holds the slow one's changes (bounded: its queue, then one per trip).
    await waitFor(() => t.gateway.hub.buffered.max > 0);
    expect(t.gateway.hub.buffered.max).toBeLessThanOrEqual(QUEUE_LIMIT + rides.length);
    slow.socket()!.resume();
    const finals = lastPerTrip(data(f1));
    await waitFor(() => slowSubs.every((s) => {
      const last = lastPerTrip(data(s));
      return rides.every((r) => last.get(r.id)?.status === finals.get(r.id)?.status);
    }), 60_000);
    for (const s of slowSubs) {
      const got = data(s);
      expect(got.every((x) => x.kind !== 'RESYNC')).toBe(true); // 80 trips are far under conflateLimit
      expect(got.length).toBeLessThanOrEqual(changes);
      expect(lastPerTrip(got)).toEqual(finals);
      // Nothing out of order: each trip's statuses as the fast client saw them, possibly with gaps (conflation).
      const seen = data(f1);
      for (const r of rides) {
        const fastOrder = seen.filter((x) => x.tripId === r.id).map((x) => JSON.stringify(x.trip));
        let at = -1;
        for (const x of got.filter((y) => y.tripId === r.id)) {
          const i = fastOrder.indexOf(JSON.stringify(x.trip), at + 1);
          expect(i).toBeGreaterThan(at);
          at = i;
        }
      }
    }
    await waitFor(() => t.gateway.hub.buffered.total === 0);
    await Promise.all([fast1, fast2, slow].map((c) => c.dispose()));
    await waitFor(() => t.gateway.hub.size === size);
  });
});

describe('shared fan-out past a member’s conflate limit', () => {
  let small: TestGateway;
  beforeAll(async () => {
    small = await startTestGateway({ subscriptions: { queueLimit: 2, conflateLimit: 3, keepAliveMs: 600_000 } });
  }, 180_000);
  afterAll(async () => {
    await small?.dispose();
  });

  it('the member gets one RESYNC, executed by its group (a cursor, no row); the rest of its group reads on without one', async () => {
    const [fast, slow] = await Promise.all([client('fo-rs-fast', 'ops', small), client('fo-rs-slow', 'ops', small)]);
    const f = fast.subscribe<TripChangeData>(TRIPS, {});
    // Many subscriptions on the slow socket: each change is that many frames on it, so its buffers fill soon.
    const slowSubs = Array.from({ length: 100 }, () => slow.subscribe<TripChangeData>(TRIPS, {}));
    await waitFor(() => small.gateway.hub.size === 101);
    slow.socket()!.pause();
    // One ride at a time, each seen by the fast client before the next: the group's own hub
    // subscriber never falls behind (its limits are as small), so a RESYNC can only come from the
    // slow member's backlog (fanout.ts Member → Group.resyncPayload).
    const rides = Array.from({ length: 80 }, (_, i) => ride(`fo-rs${i}`, `fo-rs-r${i % 7}`, 'fo-rs-driver'));
    for (const r of rides) {
      await writeRides(small.engine, [r]);
      await waitFor(() => data(f).some((x) => x.tripId === r.id));
    }
    expect(data(f).every((x) => x.kind !== 'RESYNC')).toBe(true);
    expect(slowSubs.every((s) => s.events.length === 0)).toBe(true);
    slow.socket()!.resume();
    await waitFor(() => slowSubs.every((s) => data(s).some((x) => x.kind === 'RESYNC')), 60_000);
    for (const s of slowSubs) {
      const got = data(s); // no errors: in verify mode the compiled RESYNC matched graphql-js's
      const resync = got.find((x) => x.kind === 'RESYNC')!;
      expect(resync).toMatchObject({ tripId: null, trip: null });
      expect(resync.cursor.length).toBeGreaterThan(0);
      expect(got.length).toBeLessThan(data(f).length); // its backlog was dropped for the RESYNC
    }
    await Promise.all([fast, slow].map((c) => c.dispose()));
    await waitFor(() => small.gateway.hub.size === 0);
  });
});
