/**
 * Hostile clients over websockets (graphql-ws) against a real gateway on the embedded engine:
 * replay amplification (issue 11 item 5: paged, filtered, capped), subscriptions per socket and
 * sockets per subject (item 6), quiet teardown of a socket that drops mid-send, and the limits and
 * bad-input classes of items 4 and 10 on this transport. The feed is wrapped only to record the
 * replay pages the hub reads and to hold replays while a test counts them.
 */
import WebSocket from 'ws';
import type { ChangeEvent, ChangeFeed, Engine, QueryOptions, ReplayRequest } from '../../src/engine/types';
import { recordingLogger, type RecordingLogger } from '../../src/log';
import { encodeFeedCursor } from '../../src/graphql/cursors';
import { startTestGateway, writeRides, type RideSpec, type TestGateway } from '../helpers/gateway';
import { waitFor } from '../helpers/waitFor';
import { connectWs, disposeWsClients, type TestSubscription, type TestWsClient } from '../helpers/wsClient';

/** Sizes of the replay pages the hub read, and their changes. */
const pages: number[] = [];
const replayed: ChangeEvent[] = [];
/** While true, replays wait (in `held`) before reading. */
let holdReplays = false;
const held: Array<() => void> = [];

function recordingFeed(feed: ChangeFeed): ChangeFeed {
  return {
    id: feed.id,
    subscribe: (l) => feed.subscribe(l),
    isAfter: (p, c) => feed.isAfter(p, c),
    advance: (c, p) => feed.advance(c, p),
    head: () => feed.head(),
    status: () => feed.status(),
    async *replay(request: ReplayRequest) {
      if (holdReplays) await new Promise<void>((r) => held.push(r));
      for await (const page of feed.replay(request)) {
        pages.push(page.length);
        replayed.push(...page);
        yield page;
      }
    },
  };
}

let log: RecordingLogger;
let t: TestGateway;
let feed: ChangeFeed;

beforeAll(async () => {
  log = recordingLogger();
  t = await startTestGateway({
    log,
    subscriptions: { maxPerSocket: 50, maxSocketsPerSubject: 3, replayPageSize: 3, maxReplays: 3, maxReplaysPerSubject: 2, maxReplaysPerSocket: 1 },
    wrapEngine: (engine): Engine => {
      feed = recordingFeed(engine.feed);
      return { kind: engine.kind, views: engine.views, feed, ready: () => engine.ready(), close: () => engine.close(), query: (s, p, o) => engine.query(s, p, o) };
    },
  });
}, 180_000);
afterAll(async () => {
  await disposeWsClients();
  await t?.dispose();
});

const TRIPS = `subscription($riderId: ID, $after: String) {
  tripUpdated(riderId: $riderId, after: $after) { kind tripId cursor trip { id riderId } }
}`;
interface TripChange { tripUpdated: { kind: string; tripId: string | null; trip: { id: string; riderId: string | null } | null } }

async function client(sub: string, role: 'rider' | 'ops' = 'rider'): Promise<TestWsClient> {
  const c = connectWs(t.wsUrl, { authorization: `Bearer ${await t.token(sub, role)}` });
  await c.connected;
  return c;
}

const rides = (prefix: string, riders: number, perRider: number): RideSpec[] =>
  Array.from({ length: riders * perRider }, (_, i) => ({ id: `${prefix}-${i}`, rider: `${prefix}-rider-${i % riders}`, driver: 'driver-1', requestedAt: new Date(Date.UTC(2026, 9, 1, 10, i)) }));
const errorCode = (errs: Array<{ extensions?: Record<string, unknown> }>) => errs.map((e) => [e.extensions?.['code'], (e.extensions?.['details'] as { limit?: string } | undefined)?.limit]);

describe('replay amplification (item 5)', () => {
  it('reads only the subscriber’s changes from the change log, in pages of replayPageSize', async () => {
    const cursor = encodeFeedCursor(t.engine.feed.id, t.engine.feed.head());
    await writeRides(t.engine, rides('rp', 5, 3));
    const [counted] = await t.engine.query<{ n: number }>("SELECT count(*)::int AS n FROM wavegate.changes WHERE view_name = 'trip_history'");
    const total = counted!.n;
    const c = await client('rp-rider-1');
    pages.length = 0;
    replayed.length = 0;
    const sub = c.subscribe<TripChange>(TRIPS, { after: cursor });
    await waitFor(() => replayed.length > 0 && sub.events.length === replayed.length, 20_000);
    // Before: the replay loaded all `total` trip changes of every rider, then filtered. Now only rider 1's are read.
    expect(replayed.every((e) => e.row?.['rider_id'] === 'rp-rider-1' || e.old?.['rider_id'] === 'rp-rider-1')).toBe(true);
    expect(total).toBeGreaterThanOrEqual(5 * replayed.length);
    expect(Math.max(...pages)).toBeLessThanOrEqual(3);
    expect(pages.reduce((a, b) => a + b, 0)).toBe(replayed.length);
    expect(sub.events.every((e) => e.kind === 'next' && (e.value.data as TripChange).tripUpdated.trip?.riderId === 'rp-rider-1')).toBe(true);
    await c.dispose();
  });

  it('caps concurrent replays per socket, per subject and in total with TOO_MANY_REQUESTS', async () => {
    const cursor = encodeFeedCursor(t.engine.feed.id, t.engine.feed.head());
    holdReplays = true;
    try {
      const [a1, a2, a3, b, c] = await Promise.all([client('cap-a'), client('cap-a'), client('cap-a'), client('cap-b'), client('cap-c')]);
      const first = a1.subscribe<TripChange>(TRIPS, { after: cursor });
      await waitFor(() => t.gateway.hub.replaying === 1);
      expect(errorCode(await a1.subscribe(TRIPS, { after: cursor }).error())).toEqual([['TOO_MANY_REQUESTS', 'maxReplaysPerSocket']]);
      const second = a2.subscribe<TripChange>(TRIPS, { after: cursor });
      await waitFor(() => t.gateway.hub.replaying === 2);
      expect(errorCode(await a3.subscribe(TRIPS, { after: cursor }).error())).toEqual([['TOO_MANY_REQUESTS', 'maxReplaysPerSubject']]);
      const third = b.subscribe<TripChange>(TRIPS, { after: cursor });
      await waitFor(() => t.gateway.hub.replaying === 3);
      expect(errorCode(await c.subscribe(TRIPS, { after: cursor }).error())).toEqual([['TOO_MANY_REQUESTS', 'maxReplays']]);
      // Live subscriptions are not replays: not capped.
      const live = c.subscribe<TripChange>(TRIPS);
      await waitFor(() => t.gateway.hub.size >= 4);
      holdReplays = false;
      for (const release of held.splice(0)) release();
      await waitFor(() => t.gateway.hub.replaying === 0);
      await writeRides(t.engine, [{ id: 'cap-1', rider: 'cap-a' }, { id: 'cap-2', rider: 'cap-b' }, { id: 'cap-3', rider: 'cap-c' }]);
      for (const [sub, id] of [[first, 'cap-1'], [second, 'cap-1'], [third, 'cap-2'], [live, 'cap-3']] as Array<[TestSubscription<TripChange>, string]>) {
        expect((await sub.next(10_000)).data?.tripUpdated.tripId).toBe(id);
      }
      await Promise.all([a1, a2, a3, b, c].map((x) => x.dispose()));
    } finally {
      holdReplays = false;
      for (const release of held.splice(0)) release();
    }
  });
});

describe('caps on subscriptions and sockets (item 6)', () => {
  it('refuses the operation over maxPerSocket with TOO_MANY_REQUESTS, and accepts one again after a client ends one', async () => {
    const c = await client('many-subs');
    const before = t.gateway.hub.size;
    const subs = Array.from({ length: 50 }, () => c.subscribe(TRIPS));
    await waitFor(() => t.gateway.hub.size === before + 50, 20_000);
    expect(errorCode(await c.subscribe(TRIPS).error())).toEqual([['TOO_MANY_REQUESTS', 'maxPerSocket']]);
    subs[0]!.unsubscribe();
    await waitFor(() => t.gateway.hub.size === before + 49);
    c.subscribe(TRIPS);
    await waitFor(() => t.gateway.hub.size === before + 50);
    await c.dispose();
    await waitFor(() => t.gateway.hub.size === before);
  });

  it('closes a subject’s socket over maxSocketsPerSubject with 4429; other subjects and a freed slot still connect', async () => {
    const sockets = await Promise.all([client('many-sockets'), client('many-sockets'), client('many-sockets')]);
    const refused = connectWs(t.wsUrl, { authorization: `Bearer ${await t.token('many-sockets', 'rider')}` });
    expect(await refused.closed).toEqual({ code: 4429, reason: 'Too many connections for this user (at most 3)' });
    await (await client('someone-else')).dispose();
    await sockets[0]!.dispose();
    const again = await client('many-sockets');
    await Promise.all([again, ...sockets.slice(1)].map((s) => s.dispose()));
  });

  it('tears down a socket dropped mid-send with 50 subscriptions quietly: no error or warning, every subscription ended', async () => {
    const ws = new WebSocket(t.wsUrl, 'graphql-transport-ws');
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${await t.token('ops-teardown', 'ops')}` } }));
    await new Promise((r) => ws.once('message', r));
    const before = t.gateway.hub.size;
    for (let i = 0; i < 50; i++) ws.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: 'subscription { tripUpdated { kind tripId cursor trip { id status riderId driverId } } }' } }));
    await waitFor(() => t.gateway.hub.size === before + 50, 20_000);
    log.lines.length = 0;
    ws.pause(); // stop reading: the server's sends back up
    await writeRides(t.engine, rides('td', 4, 3));
    ws.terminate();
    await waitFor(() => t.gateway.hub.size === before, 20_000);
    // Before: one "unexpected error in a GraphQL request" (error, with a stack) per subscription.
    expect(log.lines.filter((l) => l.level === 'error' || l.level === 'warn').map((l) => l.msg)).toEqual([]);
  });
});

describe('limits and bad input on the websocket path (items 4 and 10)', () => {
  it('answers each with a typed error message and keeps the socket open', async () => {
    const c = await client('ws-bad');
    const errs = async (query: string, variables?: Record<string, unknown>) => errorCode(await c.subscribe(query, variables).error());
    expect(await errs('query($id: ID!) { trip(id: $id) { id } }', { id: 'a\u0000b' })).toEqual([['BAD_USER_INPUT', undefined]]);
    expect(await errs('mutation { x }')).toEqual([['GRAPHQL_VALIDATION_FAILED', undefined]]);
    expect(await errs(`{ ${Array.from({ length: 4900 }, (_, i) => `a${i.toString(36)}:trip(id:1){id}`).join(' ')} }`)).toEqual([['GRAPHQL_PARSE_FAILED', undefined]]);
    expect(await errs(`{ ${Array.from({ length: 21 }, (_, i) => `a${i}: trip(id: "${i}") { id }`).join(' ')} }`)).toEqual([['QUERY_TOO_COSTLY', 'maxRootFields']]);
    expect(await errs(TRIPS, { after: 'not-a-cursor' })).toEqual([['BAD_USER_INPUT', undefined]]);
    const forged = encodeFeedCursor(t.engine.feed.id, '99999999999999999999');
    expect(await errs(TRIPS, { after: forged })).toEqual([['BAD_USER_INPUT', undefined]]);
    expect(await errs('query($f: DateTime) { trips(from: $f) { edges { cursor } } }', { f: '0000-01-01T00:00:00Z' })).toEqual([['BAD_USER_INPUT', undefined]]);
    // Still usable.
    const ok = c.subscribe<{ trip: null }>('{ trip(id: "none") { id } }');
    expect((await ok.next()).data).toEqual({ trip: null });
    await c.dispose();
    expect(log.lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([]);
  });

  it('fails a websocket query with REQUEST_TIMEOUT when the deadline passes while the engine is busy', async () => {
    let calls = 0;
    const d = await startTestGateway({
      limits: { requestTimeoutMs: 300 },
      wrapEngine: (engine): Engine => ({
        kind: engine.kind, views: engine.views, feed: engine.feed, ready: () => engine.ready(), close: () => engine.close(),
        async query<R>(sql: string, params: readonly unknown[] = [], options?: QueryOptions): Promise<R[]> {
          if (calls++ === 0 && options?.signal !== undefined) {
            const signal = options.signal;
            await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
          }
          return engine.query<R>(sql, params, options);
        },
      }),
    });
    try {
      const c = connectWs(d.wsUrl, { authorization: `Bearer ${await d.token('ops-1', 'ops')}` });
      await c.connected;
      const r = await c.subscribe('{ a: trip(id: "x") { id } b: trip(id: "y") { id } }').next(20_000);
      expect(r.errors?.map((e) => e.extensions?.['code'])).toEqual(['REQUEST_TIMEOUT', 'REQUEST_TIMEOUT']);
      expect(calls).toBe(1);
      await c.dispose();
    } finally {
      await d.dispose();
    }
  }, 180_000);
});
