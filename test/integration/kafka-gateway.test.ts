/**
 * The gateway on the RisingWave engine, end to end over GraphQL: PostgreSQL 15 stands in for
 * RisingWave's SQL (queries), the views' changes come from a real Kafka broker (the one
 * `scripts/kafka.sh start` runs) as RisingWave's FORMAT UPSERT sinks write them, through the
 * KafkaFeed, the hub and graphql-ws. This file's topics (`t<random>.view.<view>`), its database and
 * its consumer groups are its own and are removed afterwards.
 */
import { main } from '../../src/cli/index';
import type { RecordingLogger } from '../../src/log';
import { bundledRegistry } from '../../src/views/load';
import type { Row } from '../../src/views/model';
import { createPgDatabase, createRisingWaveStandIn, type PgTestDatabase } from '../conformance/databases';
import { upsertRecord } from '../fixtures/risingwave/encode';
import { captureIo } from '../helpers/cliIo';
import { gqlRequest, rideEvents } from '../helpers/gateway';
import { KAFKA_BROKERS, KafkaTestClient, requireBroker, uniquePrefix, type SinkRecord } from '../helpers/kafka';
import {
  connectAs, delivered, payloads, seqOf, startRwGateway, subscribed, TRIP_UPDATED, tripRow, tripRowOf, writeUpstream,
  type RwTestGateway, type TripChangeData,
} from '../helpers/rwGateway';
import { TEST_SECRET } from '../helpers/tokens';
import { waitFor } from '../helpers/waitFor';
import { connectWs, disposeWsClients } from '../helpers/wsClient';

jest.setTimeout(120_000);

let kafka: KafkaTestClient;
let db: PgTestDatabase;
let prefix: string;
let topic: string;
let g: RwTestGateway;

beforeAll(async () => {
  await requireBroker();
  kafka = await KafkaTestClient.connect();
  prefix = uniquePrefix();
  topic = `${prefix}trip_history`;
  await kafka.createViewTopics(prefix, bundledRegistry().views.map((v) => v.name), 3); // serve's feed follows every view
  db = await createPgDatabase();
  await createRisingWaveStandIn(db);
  g = await startRwGateway({ db, brokers: KAFKA_BROKERS, topicPrefix: prefix });
});
afterAll(async () => {
  await disposeWsClients();
  await g?.dispose();
  await kafka?.cleanup();
  await db?.drop();
});

/** Produces trip rows as the trip_history upsert sink writes them; waits until `gw`'s feed delivered them. */
async function sink(rows: readonly Row[], gw: RwTestGateway = g): Promise<void> {
  await delivered(gw, topic, await kafka.produce(topic, rows.map((r) => upsertRecord('trip_history', r))));
}

/** `[tripId, seq]` of each payload. */
const seqs = (ds: readonly TripChangeData[]) => ds.map((d) => [d.tripUpdated.tripId, d.tripUpdated.trip === null ? null : seqOf(d.tripUpdated.trip)]);

/** Asserts per trip strictly increasing seqs (nothing twice, nothing out of order); returns the last seq per trip. */
function expectInOrderPerTrip(ds: readonly TripChangeData[]): Map<string, number> {
  const last = new Map<string, number>();
  for (const d of ds) {
    const { tripId, trip } = d.tripUpdated;
    const seq = seqOf(trip!);
    expect([tripId, seq > (last.get(tripId!) ?? -1)]).toEqual([tripId, true]);
    last.set(tripId!, seq);
  }
  return last;
}

describe('gateway on the risingwave engine (PostgreSQL standing in for RisingWave, real Kafka broker)', () => {
  it('delivers an upsert-sink change to exactly the subscribers allowed to see it', async () => {
    const [riderA, riderB, ops, driverD] = await Promise.all([
      connectAs(g, 'rider-a', 'rider'), connectAs(g, 'rider-b', 'rider'), connectAs(g, 'ops-1', 'ops'), connectAs(g, 'driver-d', 'driver'),
    ]);
    const subA = await subscribed(g, riderA, TRIP_UPDATED);
    const subB = await subscribed(g, riderB, TRIP_UPDATED);
    const subOps = await subscribed(g, ops, TRIP_UPDATED);
    const subD = await subscribed(g, driverD, TRIP_UPDATED);
    // Rider B follows trip fan-a by id while the database does not know it yet (so it is not refused
    // as someone else's): the row policy still keeps rider A's rows from B, change by change.
    const subBTrip = await subscribed(g, riderB, TRIP_UPDATED, { tripId: 'fan-a' });

    // Rider A requests a trip; driver D is assigned; rider B's trip goes to driver E.
    await sink([tripRow('fan-a', 1, { rider_id: 'rider-a' })]);
    await sink([tripRow('fan-a', 2, { rider_id: 'rider-a', driver_id: 'driver-d', status: 'ASSIGNED', assigned_at: '2026-10-05T13:41:00.000Z' })]);
    await sink([tripRow('fan-b', 1, { rider_id: 'rider-b', driver_id: 'driver-e', status: 'ASSIGNED' })]);
    await waitFor(() => subOps.events.length === 3 && subA.events.length === 2 && subD.events.length === 1 && subB.events.length === 1, 10_000);

    // A later change each subscriber may see, produced after the feed routed the ones above: once it
    // arrives, anything routed to that subscriber before it has arrived too (one queue per subscriber).
    await sink([
      tripRow('fan-a2', 3, { rider_id: 'rider-a' }),
      tripRow('fan-b2', 3, { rider_id: 'rider-b' }),
      tripRow('fan-d2', 3, { rider_id: 'rider-c', driver_id: 'driver-d', status: 'ASSIGNED' }),
    ]);
    await waitFor(() => subOps.events.length === 6 && subA.events.length === 3 && subB.events.length === 2 && subD.events.length === 2, 10_000);

    expect(seqs(payloads(subA))).toEqual([['fan-a', 1], ['fan-a', 2], ['fan-a2', 3]]);
    expect(seqs(payloads(subB))).toEqual([['fan-b', 1], ['fan-b2', 3]]); // never rider A's trip
    expect(subBTrip.events).toEqual([]);
    expect(seqs(payloads(subD))).toEqual([['fan-a', 2], ['fan-d2', 3]]); // from assignment on
    const opsSeen = payloads(subOps);
    expect(seqs(opsSeen.slice(0, 3))).toEqual([['fan-a', 1], ['fan-a', 2], ['fan-b', 1]]);
    expect(new Set(seqs(opsSeen.slice(3)).map(([id]) => id))).toEqual(new Set(['fan-a2', 'fan-b2', 'fan-d2']));
    // UPSERT carries no operation: every change is an UPDATE ("insert or replace"), with the whole row.
    expect(payloads(subA)[1]!.tripUpdated).toMatchObject({ kind: 'UPDATE', tripId: 'fan-a', trip: { riderId: 'rider-a', driverId: 'driver-d', status: 'ASSIGNED' } });
    for (const c of [riderA, riderB, ops, driverD]) await c.dispose();
    await waitFor(() => g.gateway.hub.size === 0);
  });

  it('gives a snapshot and then every later change with no gap: trips { feedCursor } then tripUpdated(after:)', async () => {
    const rider = 'rider-snap';
    const at = (m: number) => new Date(Date.UTC(2026, 9, 7, 9, m));
    const token = await g.token(rider, 'rider');
    // snap-1: requested upstream and already sunk and delivered. snap-2: requested upstream (the
    // snapshot will show it) but RisingWave's sink has not written it to Kafka yet.
    await writeUpstream(db, rideEvents({ id: 'snap-1', rider, requestedAt: at(0), steps: [] }));
    await sink([await tripRowOf(g.rw, 'snap-1')]);
    await writeUpstream(db, rideEvents({ id: 'snap-2', rider, requestedAt: at(1), steps: [] }));

    const TRIPS = '{ trips(first: 50) { edges { node { id status updatedAt } } feedCursor } }';
    type Page = { trips: { edges: Array<{ node: { id: string; status: string; updatedAt: string } }>; feedCursor: string } };
    const snapshot = await g.gql<Page>(TRIPS, undefined, token);
    expect(snapshot.body.errors).toBeUndefined();
    const { edges, feedCursor } = snapshot.body.data!.trips;
    expect(edges.map((e) => e.node.id)).toEqual(['snap-2', 'snap-1']);

    // snap-3 happens and reaches the gateway between the query and the subscription: the gap a
    // subscription without cursor misses.
    await writeUpstream(db, rideEvents({ id: 'snap-3', rider, requestedAt: at(2), steps: [] }));
    await sink([await tripRowOf(g.rw, 'snap-3')]);

    const c = await connectAs(g, rider, 'rider');
    const resumed = await subscribed(g, c, TRIP_UPDATED, { after: feedCursor });
    const naive = await subscribed(g, c, TRIP_UPDATED);
    // Later: the sink catches up with snap-2 (a change the snapshot already holds), snap-1 moves on.
    await sink([await tripRowOf(g.rw, 'snap-2')]);
    await writeUpstream(db, [
      { type: 'DriverAssigned', aggregateId: 'snap-1', payload: { driver_id: 'driver-s', eta_seconds: 60 }, occurredAt: at(3) },
      { type: 'FareCalculated', aggregateId: 'snap-1', payload: { amount: '9.90', currency: 'EUR', distance_km: '3.00' }, occurredAt: at(3) },
    ]);
    await sink([await tripRowOf(g.rw, 'snap-1')]);
    await waitFor(() => resumed.events.length === 3 && naive.events.length === 2, 10_000);

    // The client applies each change as an upsert by tripId onto the snapshot: it ends at the current rows.
    const state = new Map(edges.map((e) => [e.node.id, e.node]));
    for (const d of payloads(resumed)) {
      const { kind, tripId, trip } = d.tripUpdated;
      if (kind === 'DELETE') state.delete(tripId!);
      else state.set(tripId!, { id: trip!.id, status: trip!.status, updatedAt: trip!.updatedAt });
    }
    const now = (await g.gql<Page>(TRIPS, undefined, token)).body.data!.trips.edges.map((e) => e.node);
    expect([...state.values()].sort((x, y) => x.id.localeCompare(y.id))).toEqual(now.sort((x, y) => x.id.localeCompare(y.id)));
    expect(now.find((t) => t.id === 'snap-1')?.status).toBe('ASSIGNED');
    // What was delivered before the cursor does not come again; snap-3 (in the gap) does.
    expect(payloads(resumed).map((d) => [d.tripUpdated.tripId, d.tripUpdated.trip?.status]))
      .toEqual(expect.arrayContaining([['snap-3', 'REQUESTED'], ['snap-2', 'REQUESTED'], ['snap-1', 'ASSIGNED']]));
    expect(payloads(naive).map((d) => d.tripUpdated.tripId).sort()).toEqual(['snap-1', 'snap-2']);
    await c.dispose();
  });

  it('refuses a cursor older than Kafka retains with CURSOR_EXPIRED, on an instance that does not hold it in memory', async () => {
    const c = await connectAs(g, 'ops-exp', 'ops');
    const sub = await subscribed(g, c, TRIP_UPDATED, { riderId: 'rider-exp' });
    await sink([tripRow('exp-1', 1, { rider_id: 'rider-exp' })]);
    await waitFor(() => sub.events.length === 1, 10_000);
    const cursor = payloads(sub)[0]!.tripUpdated.cursor;
    await c.dispose();
    // Changes it misses while away; then retention drops them (DeleteRecords moves the low watermark
    // exactly as retention does, deterministically).
    const placed = await kafka.produce(topic, [2, 3].map((seq) => upsertRecord('trip_history', tripRow('exp-1', seq, { rider_id: 'rider-exp' }))));
    await delivered(g, topic, placed);
    const { partition, offset } = placed[1]!;
    await kafka.deleteRecordsBefore(topic, partition, offset + 1);
    await waitFor(async () => (await kafka.admin.fetchTopicOffsets(topic)).find((o) => o.partition === partition)?.low === String(offset + 1));

    // Another gateway instance (or this one after a restart) has only Kafka to replay from.
    const other = await startRwGateway({ db, brokers: KAFKA_BROKERS, topicPrefix: prefix });
    try {
      const late = await connectAs(other, 'ops-exp', 'ops');
      const [error] = await late.subscribe(TRIP_UPDATED, { riderId: 'rider-exp', after: cursor }).error(20_000);
      expect(error).toMatchObject({ extensions: { code: 'CURSOR_EXPIRED' } });
      expect(error!.message).toMatch(/older than what Kafka retains.*query the current rows and subscribe without a cursor/);
      await late.dispose();
    } finally {
      await other.dispose();
    }
    // The instance that delivered them still holds them in memory (recentLimit) and resumes.
    const back = await connectAs(g, 'ops-exp', 'ops');
    const resumed = await subscribed(g, back, TRIP_UPDATED, { riderId: 'rider-exp', after: cursor });
    await waitFor(() => resumed.events.length === 2, 10_000);
    expect(seqs(payloads(resumed))).toEqual([['exp-1', 2], ['exp-1', 3]]);
    await back.dispose();
  });

  it('keeps a client that does not read within its buffer bound, then hands it the latest value of every key', async () => {
    const queueLimit = 10;
    const keys = ['slow-0', 'slow-1', 'slow-2'];
    const slow = await startRwGateway({ db, brokers: KAFKA_BROKERS, topicPrefix: prefix, env: { WAVEGATE_SUB_QUEUE_LIMIT: String(queueLimit) } });
    try {
      expect(slow.config.subscriptions.queueLimit).toBe(queueLimit);
      const c = await connectAs(slow, 'rider-slow', 'rider');
      const sub = await subscribed(slow, c, TRIP_UPDATED);
      // The most the hub held for any subscriber, sampled after every batch the feed routed to it.
      let maxBuffered = 0;
      const off = slow.rw.feed.subscribe(() => void (maxBuffered = Math.max(maxBuffered, slow.gateway.hub.buffered.max)));
      // Stop reading: what graphql-ws sends piles up in the socket buffers, and it pulls from the hub
      // only as fast as those accept. (graphql-ws pings every 12 s and drops a client that does not
      // answer within 12 s more: this phase takes a few seconds.)
      c.socket()!.pause();
      let seq = 0;
      const finals = new Map<string, number>();
      const round = (n: number) => Array.from({ length: n }, () => {
        const key = keys[seq % keys.length]!;
        finals.set(key, seq);
        return tripRow(key, seq++, { rider_id: 'rider-slow' });
      });
      for (let i = 0; i < 20; i++) await sink(round(500), slow); // 10,000 updates of 3 trips
      off();
      expect(sub.events).toHaveLength(0); // it really read nothing
      // The queue filled (the hub conflated), and never held more than the queue plus one change per key.
      expect(maxBuffered).toBeGreaterThanOrEqual(queueLimit);
      expect(maxBuffered).toBeLessThanOrEqual(queueLimit + keys.length);
      // The same bound on /metrics (whatever the hub holds right now: graphql-ws keeps pulling while the socket buffers take more).
      const gauge = await slow.metric('wavegate_subscription_buffered_max');
      expect(gauge).toBeGreaterThanOrEqual(0);
      expect(gauge).toBeLessThanOrEqual(queueLimit + keys.length);

      c.socket()!.resume();
      await waitFor(() => {
        const last = expectInOrderPerTrip(payloads(sub));
        return keys.every((k) => last.get(k) === finals.get(k));
      }, 30_000);
      const got = payloads(sub);
      expect(got.every((d) => d.tripUpdated.kind === 'UPDATE' && d.tripUpdated.trip?.riderId === 'rider-slow')).toBe(true); // no RESYNC
      expect(got.length).toBeLessThan(seq / 5); // conflated: far fewer than produced
      await waitFor(() => slow.gateway.hub.buffered.total === 0);
      await c.dispose();
    } finally {
      await slow.dispose();
    }
  });

  it('delivers every good change among 1,000 poison records, counts the poison on /metrics, never stops', async () => {
    const before = await g.metric('wavegate_feed_poison_total');
    const c = await connectAs(g, 'rider-poison', 'rider');
    const sub = await subscribed(g, c, TRIP_UPDATED);
    const good = (i: number, seq: number) => upsertRecord('trip_history', tripRow(`poison-${i % 11}`, seq, { rider_id: 'rider-poison' }));
    const key = (i: number) => Buffer.from(JSON.stringify({ trip_id: `poison-${i % 11}` }));
    const poisons: Array<(i: number) => SinkRecord> = [
      (i) => ({ key: key(i), value: Buffer.from('{"trip_id":') }), // not JSON
      (i) => ({ key: key(i), value: Buffer.from(JSON.stringify({ trip_id: `poison-${i % 11}` })) }), // columns missing
      (i) => ({ key: key(i), value: Buffer.from(JSON.stringify({ ...JSON.parse(good(i, 0).value.toString()), event_count: 'many' })) }),
      () => ({ key: null, value: good(0, 0).value }), // no key
      (i) => ({ key: key(i), value: Buffer.from([0xff, 0xfe, i % 256]) }), // not UTF-8
    ];
    const records: SinkRecord[] = [];
    let goods = 0;
    for (let i = 0; i < 1000; i++) {
      records.push(poisons[i % poisons.length]!(i));
      if (i % 2 === 0) records.push(good(i, goods++));
    }
    for (let i = 0; i < records.length; i += 250) await kafka.produce(topic, records.slice(i, i + 250));

    await waitFor(async () => sub.events.length === goods && (await g.metric('wavegate_feed_poison_total')) - before === 1000, 30_000, 100);
    const got = payloads(sub);
    expectInOrderPerTrip(got);
    expect(got.map((d) => seqOf(d.tripUpdated.trip!)).sort((a, b) => a - b)).toEqual(Array.from({ length: goods }, (_, i) => i));
    // The feed is still running and the gateway ready: the next good change arrives.
    expect(g.rw.feed.state.phase).toBe('running');
    await sink([tripRow('poison-after', goods, { rider_id: 'rider-poison' })]);
    await waitFor(() => sub.events.length === goods + 1, 10_000);
    await waitFor(async () => (await g.readyz()).status === 200, 10_000);
    await c.dispose();
  });
});


describe('wavegate serve with WAVEGATE_ENGINE=risingwave (PostgreSQL standing in for RisingWave, real Kafka broker)', () => {
  const env = () => ({
    WAVEGATE_ENGINE: 'risingwave', WAVEGATE_DATABASE_URL: db.url, WAVEGATE_KAFKA_BROKERS: KAFKA_BROKERS.join(','),
    WAVEGATE_KAFKA_TOPIC_PREFIX: prefix, WAVEGATE_PORT: '0', WAVEGATE_JWT_SECRET: TEST_SECRET,
  });

  it('opens the Kafka feed and the engine, serves queries and live changes, and stops gateway, then feed, then engine', async () => {
    const { io, out, log, signal } = captureIo(env());
    const exit = main(['serve'], io);
    const serving = await waitFor(() => log.lines.find((l) => l.msg === 'wavegate is serving'), 30_000);
    const url = String(serving!.fields['url']);
    const origin = new URL(url).origin;
    await waitFor(async () => (await fetch(`${origin}/readyz`)).status === 200, 20_000);

    const ops = await g.token('ops-serve', 'ops');
    const page = await gqlRequest<{ trips: { feedCursor: string } }>(url, '{ trips(first: 1) { edges { node { id } } feedCursor } }', undefined, ops);
    expect(page.status).toBe(200);
    const { feedCursor } = page.body.data!.trips;

    // Subscribing after the page's cursor: the change produced next arrives however long the subscription takes to register.
    const c = connectWs(url.replace(/^http/, 'ws'), { authorization: `Bearer ${ops}` });
    await c.connected;
    const sub = c.subscribe<TripChangeData>(TRIP_UPDATED, { riderId: 'rider-serve', after: feedCursor });
    await kafka.produce(topic, [upsertRecord('trip_history', tripRow('serve-1', 1, { rider_id: 'rider-serve' }))]);
    expect((await sub.next(15_000)).data?.tripUpdated).toMatchObject({ tripId: 'serve-1', trip: { riderId: 'rider-serve' } });
    await c.dispose();

    const joined = log.lines.find((l) => l.ns.startsWith('feed.kafka.kafkajs') && /joined the group/.test(l.msg));
    const groupId = String(joined?.fields['groupId']);
    expect(await kafka.groupIds()).toContain(groupId);
    signal();
    expect(await exit).toBe(0);
    expect(out.stderr).toBe('');
    const order = (pred: (l: RecordingLogger['lines'][number]) => boolean) => log.lines.findIndex(pred);
    expect(order((l) => l.msg === 'gateway stopped')).toBeLessThan(order((l) => l.msg === 'feed state' && l.fields['to'] === 'stopped'));
    expect(await kafka.groupIds()).not.toContain(groupId); // the feed left and deleted its group
  });

  it('exits 1 with ENGINE_UNAVAILABLE naming the missing view topics', async () => {
    const { io, out } = captureIo({ ...env(), WAVEGATE_KAFKA_TOPIC_PREFIX: uniquePrefix() });
    expect(await main(['serve'], io)).toBe(1);
    expect(out.stderr).toMatch(/ENGINE_UNAVAILABLE: Kafka topics missing: .*t[0-9a-f]+\.view\.trip_history/);
  });
});
