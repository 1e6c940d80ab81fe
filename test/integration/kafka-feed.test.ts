/**
 * KafkaFeed against the real broker `scripts/kafka.sh start` runs (KAFKA_BROKERS or 127.0.0.1:19092).
 * Each test uses its own topics (`t<random>.view.<view>`), created and deleted here. Records are
 * produced byte-for-byte as RisingWave's sink writes them (test/fixtures/risingwave/).
 */
import type { ChangeEvent } from '../../src/engine/types';
import { GatewayErrorCode, isGatewayError } from '../../src/errors';
import { recordingLogger } from '../../src/log';
import { decodeChange } from '../../src/engine/risingwave/feed/decode';
import { KafkaFeed, type KafkaFeedOptions, type PoisonReport } from '../../src/engine/risingwave/feed/kafkaFeed';
import type { Row } from '../../src/views/model';
import { upsertRecord, upsertTombstone } from '../fixtures/risingwave/encode';
import { loadFixture } from '../fixtures/risingwave/fixtures';
import { KAFKA_BROKERS, KafkaTestClient, requireBroker, TEST_FEED_TIMEOUTS, uniquePrefix, type SinkRecord } from '../helpers/kafka';
import { replayAll } from '../helpers/replay';
import { waitFor } from '../helpers/waitFor';

let client: KafkaTestClient;
const leftovers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  await requireBroker();
  client = await KafkaTestClient.connect();
});
afterEach(async () => {
  for (const dispose of leftovers.splice(0).reverse()) await dispose();
});
afterAll(async () => {
  await client?.cleanup();
});

/** A started feed (stopped after the test) and everything it delivered. */
async function startFeed(options: Omit<KafkaFeedOptions, 'brokers'>): Promise<{ feed: KafkaFeed; events: ChangeEvent[] }> {
  const feed = new KafkaFeed({ brokers: KAFKA_BROKERS, ...TEST_FEED_TIMEOUTS, ...options });
  const events: ChangeEvent[] = [];
  feed.subscribe((batch) => events.push(...batch));
  leftovers.push(() => feed.stop());
  await feed.start();
  return { feed, events };
}

/** A trip_history row in canonical form; `seq` goes into event_count and updated_at so order is checkable. */
function trip(id: string, seq: number, extra: Partial<Row> = {}): Row {
  return {
    trip_id: id, rider_id: 'rider-1', driver_id: `drv-${seq % 3}`, status: 'REQUESTED',
    pickup_lat: 37.7749, pickup_lng: -122.4194, dropoff_lat: 37.8044, dropoff_lng: -122.2712,
    requested_at: '2026-10-05T13:40:00.000Z', assigned_at: null, started_at: null, completed_at: null,
    cancelled_at: null, cancelled_by: null, fare_amount: '12.50', fare_currency: 'USD', paid_amount: null,
    distance_km: null, rider_rating: null, driver_rating: null,
    updated_at: new Date(Date.UTC(2026, 9, 5, 13, 40) + seq * 1000).toISOString(), event_count: seq, ...extra,
  };
}

/** `n` upserts spread over `keys` trips, event_count increasing per trip. */
function tripUpserts(n: number, keys: number, offset = 0): SinkRecord[] {
  return Array.from({ length: n }, (_, i) => upsertRecord('trip_history', trip(`ride-${(offset + i) % keys}`, offset + i)));
}

/** Asserts that within each key the event_count sequence strictly increases (nothing duplicated or reordered). */
function expectMonotonicPerKey(events: readonly ChangeEvent[]): void {
  const last = new Map<string, number>();
  for (const e of events) {
    if (e.row === null) continue;
    const id = String(e.key['trip_id']);
    const seq = Number(e.row['event_count']);
    expect([id, seq > (last.get(id) ?? -1)]).toEqual([id, true]);
    last.set(id, seq);
  }
}

describe('KafkaFeed on a real broker', () => {
  it('delivers RisingWave UPSERT records as ChangeEvents, in order per key, with positions', async () => {
    const prefix = uniquePrefix();
    const [topic] = await client.createViewTopics(prefix, ['trip_history'], 3);
    const log = recordingLogger();
    const { feed, events } = await startFeed({ topicPrefix: prefix, views: ['trip_history'], log });
    expect(feed.state.phase).toBe('running');

    const fixture = loadFixture('upsert-trip_history'); // a completed ride, then its tombstone
    const records = [...tripUpserts(60, 7), ...fixture];
    const placed = await client.produce(topic!, records);
    await waitFor(() => events.length === records.length, 15_000);

    // Per partition, positions are the produced offsets in order; the decoded changes are the records'.
    for (const p of [0, 1, 2]) {
      const want = placed.map((pl, i) => ({ ...pl, i })).filter((pl) => pl.partition === p);
      const got = events.filter((e) => e.position.startsWith(`${topic}:${p}:`));
      expect(got.map((e) => e.position)).toEqual(want.map((w) => `${topic}:${p}:${w.offset}`));
      expect(got.map(({ view, op, key, row, old }) => ({ view, op, key, row, old })))
        .toEqual(want.map((w) => decodeChange('trip_history', 'upsert', records[w.i]!)));
    }
    expectMonotonicPerKey(events);
    const tombstone = events.find((e) => e.op === 'delete');
    expect(tombstone).toMatchObject({ key: { trip_id: 'ride-0001' }, row: null, old: { trip_id: 'ride-0001' } });
    expect(events.every((e) => e.committedAt > Date.now() - 60_000)).toBe(true);

    // head() covers everything delivered; status is healthy with nothing pending.
    expect(events.every((e) => !feed.isAfter(e.position, feed.head()))).toBe(true);
    // (waited for: under CPU load a heartbeat can be late, and readiness follows the last contact)
    await waitFor(() => feed.status().ready && feed.status().pending === 0, 10_000);
    expect(feed.status().lagMs).toBeGreaterThanOrEqual(0);
    // kafkajs logs went to our logger (the setup file fails the test on console output).
    expect(log.lines.some((l) => l.ns.startsWith('feed.kafka.kafkajs.') && /joined the group/.test(l.msg))).toBe(true);
  });

  it('replays exactly the changes after a cursor, from memory and (on another instance) from Kafka', async () => {
    const prefix = uniquePrefix();
    const [topic] = await client.createViewTopics(prefix, ['trip_history', 'rider_stats'], 3);
    const a = await startFeed({ topicPrefix: prefix, views: ['trip_history', 'rider_stats'] });
    const start = a.feed.head();
    await client.produce(topic!, tripUpserts(40, 9));
    await waitFor(() => a.events.length === 40, 15_000);

    // The cursor a subscriber holds after the first 15 changes (as the hub builds it).
    const cursor = a.events.slice(0, 15).reduce((c, e) => a.feed.advance(c, e.position), start);
    const after = a.events.filter((e) => a.feed.isAfter(e.position, cursor));
    expect(after.length).toBeGreaterThan(0);
    const sortByPosition = (es: readonly ChangeEvent[]) => [...es].sort((x, y) => x.position.localeCompare(y.position, 'en', { numeric: true }));

    const fromMemory = await replayAll(a.feed, 'trip_history', cursor);
    expect(sortByPosition(fromMemory)).toEqual(sortByPosition(after));
    expect(await replayAll(a.feed, 'trip_history', a.feed.head())).toEqual([]);
    expect(await replayAll(a.feed, 'rider_stats', cursor)).toEqual([]);

    // A second gateway instance started later: the cursor predates it, so it reads Kafka.
    const b = await startFeed({ topicPrefix: prefix, views: ['trip_history', 'rider_stats'], recentLimit: 0 });
    expect(b.feed.head()).toBe(a.feed.head()); // it starts at the end of the log: nothing re-delivered
    const fromKafka = await replayAll(b.feed, 'trip_history', cursor);
    expect(sortByPosition(fromKafka)).toEqual(sortByPosition(after));
    expect([b.events.length, b.feed.duplicateCount]).toEqual([0, 0]);
    // Order within each partition is offset order.
    for (const p of [0, 1, 2]) {
      const offsets = fromKafka.filter((e) => e.position.startsWith(`${topic}:${p}:`)).map((e) => Number(e.position.split(':')[2]));
      expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    }
    // The replay consumer's group is gone afterwards.
    expect((await client.groupIds()).filter((g) => g.startsWith(`${b.feed.groupId}-replay`))).toEqual([]);
    // And the memory limit: with recentLimit 5 most of the 25 changes come from Kafka, same answer.
    const c = await startFeed({ topicPrefix: prefix, views: ['trip_history', 'rider_stats'], recentLimit: 5 });
    expect(sortByPosition(await replayAll(c.feed, 'trip_history', cursor))).toEqual(sortByPosition(after));
  });

  it('refuses cursors Kafka no longer holds, or that point past the log, with CURSOR_EXPIRED', async () => {
    const prefix = uniquePrefix();
    // DeleteRecords moves the low watermark exactly as retention would, but deterministically: a tiny
    // retention.ms races the test (the broker may drop records before the feed reads them).
    const [topic] = await client.createViewTopics(prefix, ['trip_history'], 1);
    const { feed, events } = await startFeed({ topicPrefix: prefix, views: ['trip_history'], recentLimit: 0 });
    const start = feed.head();
    await client.produce(topic!, tripUpserts(10, 10));
    await waitFor(() => events.length === 10, 15_000);
    const cursorAt = (n: number) => events.slice(0, n).reduce((c, e) => feed.advance(c, e.position), start);

    await client.deleteRecordsBefore(topic!, 0, 6);
    await waitFor(async () => (await client.admin.fetchTopicOffsets(topic!))[0]?.low === '6');

    const err = await replayAll(feed, 'trip_history', cursorAt(3)).catch((e: unknown) => e);
    expect(isGatewayError(err, GatewayErrorCode.CURSOR_EXPIRED)).toBe(true);
    expect((err as Error).message).toMatch(/older than what Kafka retains/);
    // A cursor that covers offset 5 needs only offsets from 6: still answerable.
    expect((await replayAll(feed, 'trip_history', cursorAt(6))).map((e) => e.position)).toEqual(events.slice(6).map((e) => e.position));

    const past = await replayAll(feed, 'trip_history', `k1;${topic}:${(500).toString(36)}`).catch((e: unknown) => e);
    expect(isGatewayError(past, GatewayErrorCode.CURSOR_EXPIRED)).toBe(true);
    const malformed = await replayAll(feed, 'trip_history', 'not-a-cursor').catch((e: unknown) => e);
    expect(isGatewayError(malformed, GatewayErrorCode.BAD_USER_INPUT)).toBe(true);
  });

  it('skips 1,000 poison records interleaved with good ones, counts and reports each, never stops', async () => {
    const prefix = uniquePrefix();
    const [topic] = await client.createViewTopics(prefix, ['trip_history'], 3);
    const reports: PoisonReport[] = [];
    const log = recordingLogger();
    const { feed, events } = await startFeed({ topicPrefix: prefix, views: ['trip_history'], log, onPoison: (r) => reports.push(r) });
    const key = (i: number) => Buffer.from(JSON.stringify({ trip_id: `ride-${i % 11}` }));
    const poisons: Array<(i: number) => SinkRecord> = [
      (i) => ({ key: key(i), value: Buffer.from('{"trip_id":') }), // not JSON
      (i) => ({ key: key(i), value: Buffer.from(JSON.stringify({ trip_id: `ride-${i % 11}` })) }), // columns missing
      (i) => ({ key: key(i), value: Buffer.from(JSON.stringify({ ...JSON.parse(upsertRecord('trip_history', trip(`ride-${i % 11}`, i)).value.toString()), event_count: 'many' })) }),
      () => ({ key: null, value: upsertRecord('trip_history', trip('ride-x', 0)).value }), // no key
      (i) => ({ key: key(i), value: Buffer.from([0xff, 0xfe, i % 256]) }), // not UTF-8
    ];
    const records: SinkRecord[] = [];
    let good = 0;
    for (let i = 0; i < 1000; i++) {
      records.push(poisons[i % poisons.length]!(i));
      if (i % 2 === 0) records.push(upsertRecord('trip_history', trip(`ride-${i % 11}`, 1000 + good++)));
    }
    for (let i = 0; i < records.length; i += 250) await client.produce(topic!, records.slice(i, i + 250));
    await waitFor(() => events.length === good && feed.poisonCount === 1000, 20_000);

    expect(reports).toHaveLength(1000);
    expect(new Set(reports.map((r) => `${r.partition}:${r.offset}`)).size).toBe(1000);
    expect(new Set(reports.map((r) => r.reason))).toEqual(new Set(['bad_json', 'missing_column', 'bad_type', 'bad_key', 'bad_utf8']));
    const logged = log.lines.filter((l) => l.msg === 'poison record skipped');
    expect(logged).toHaveLength(1000);
    expect(logged[0]!.fields).toEqual(expect.objectContaining({ topic, partition: expect.any(Number), offset: expect.any(Number), reason: expect.any(String) }));
    expectMonotonicPerKey(events);

    // Still running: the next good record arrives.
    await client.produce(topic!, [upsertRecord('trip_history', trip('ride-after', 5000))]);
    await waitFor(() => events.some((e) => e.key['trip_id'] === 'ride-after'), 10_000);
    expect(feed.state.phase).toBe('running');
  });

  it('gives every instance every partition (one group each) and deletes its group on stop', async () => {
    const prefix = uniquePrefix();
    const [topic] = await client.createViewTopics(prefix, ['trip_history'], 3);
    const a = await startFeed({ topicPrefix: prefix, views: ['trip_history'] });
    const b = await startFeed({ topicPrefix: prefix, views: ['trip_history'] });
    expect(a.feed.groupId).not.toBe(b.feed.groupId);
    expect(await client.groupIds()).toEqual(expect.arrayContaining([a.feed.groupId, b.feed.groupId]));

    await client.produce(topic!, tripUpserts(30, 10));
    await waitFor(() => a.events.length === 30 && b.events.length === 30, 15_000);
    const positions = (es: readonly ChangeEvent[]) => es.map((e) => e.position).sort(); // partitions interleave freely
    expect(positions(a.events)).toEqual(positions(b.events));
    expect(a.feed.head()).toBe(b.feed.head()); // the same cursor on both: resumable on either

    await a.feed.stop();
    await a.feed.stop(); // idempotent
    expect(a.feed.state.phase).toBe('stopped');
    expect(a.feed.status().ready).toBe(false);
    expect(await client.groupIds()).not.toContain(a.feed.groupId);
  });

  it('drops records re-delivered at or below the delivered offset (at-least-once)', async () => {
    const prefix = uniquePrefix();
    const [topic] = await client.createViewTopics(prefix, ['trip_history'], 1);
    const { feed, events } = await startFeed({ topicPrefix: prefix, views: ['trip_history'] });
    await client.produce(topic!, tripUpserts(20, 4));
    await waitFor(() => events.length === 20, 15_000);

    // Rewind the feed's own consumer: Kafka re-delivers offsets 5.. (as after a rebalance or retry).
    feed['consumer']!.seek({ topic: topic!, partition: 0, offset: '5' });
    await client.produce(topic!, tripUpserts(5, 4, 20));
    await waitFor(() => events.length === 25 && feed.duplicateCount >= 15, 15_000);
    expect(new Set(events.map((e) => e.position)).size).toBe(25);
    expectMonotonicPerKey(events);
  });

  it('decodes a DEBEZIUM sink: delete then tombstone make one delete', async () => {
    const prefix = uniquePrefix();
    const [topic] = await client.createViewTopics(prefix, ['driver_earnings_daily'], 2);
    const { events } = await startFeed({ topicPrefix: prefix, views: ['driver_earnings_daily'], format: 'debezium' });
    await client.produce(topic!, loadFixture('debezium-driver_earnings_daily'));
    await waitFor(() => events.length === 3, 15_000);
    await client.produce(topic!, [upsertTombstone('driver_earnings_daily', { driver_id: 'drv-42', day: '2026-10-05' })]);
    await client.produce(topic!, loadFixture('debezium-driver_earnings_daily').slice(0, 1));
    await waitFor(() => events.length === 4, 15_000);
    expect(events.map((e) => e.op)).toEqual(['insert', 'update', 'delete', 'insert']);
  });

  it.each<[string, Partial<KafkaFeedOptions>, RegExp]>([
    ['no brokers', { brokers: [] }, /brokers/],
    ['a topic prefix Kafka cannot name', { topicPrefix: 'view/' }, /topicPrefix/],
    ['heartbeat too slow for the session', { heartbeatIntervalMs: 4_000, sessionTimeoutMs: 10_000 }, /heartbeatIntervalMs/],
    ['staleness shorter than a fetch wait', { staleAfterMs: 500, maxWaitTimeMs: 1_000 }, /staleAfterMs/],
    ['a negative memory limit', { recentLimit: -1 }, /recentLimit/],
  ])('refuses %s with BAD_CONFIG', (_name, bad, message) => {
    let err: unknown;
    try {
      new KafkaFeed({ brokers: KAFKA_BROKERS, ...TEST_FEED_TIMEOUTS, ...bad });
    } catch (e) {
      err = e;
    }
    expect(isGatewayError(err, GatewayErrorCode.BAD_CONFIG)).toBe(true);
    expect((err as Error).message).toMatch(message);
  });

  it('fails to start with ENGINE_UNAVAILABLE naming a missing view topic', async () => {
    const prefix = uniquePrefix();
    await client.createViewTopics(prefix, ['trip_history'], 1);
    const feed = new KafkaFeed({ brokers: KAFKA_BROKERS, ...TEST_FEED_TIMEOUTS, topicPrefix: prefix, views: ['trip_history', 'rider_stats'] });
    const err = await feed.start().catch((e: unknown) => e);
    expect(isGatewayError(err, GatewayErrorCode.ENGINE_UNAVAILABLE)).toBe(true);
    expect((err as Error).message).toContain(`${prefix}rider_stats`);
    expect(feed.state.phase).toBe('stopped');
  });
});
