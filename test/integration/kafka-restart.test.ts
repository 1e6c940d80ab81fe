/**
 * KafkaFeed across a broker restart. The test starts its OWN broker (scripts/kafka.sh with its own
 * name, ports and data dir) so stopping it disturbs no other test.
 */
import type { ChangeEvent } from '../../src/engine/types';
import { recordingLogger } from '../../src/log';
import { KafkaFeed } from '../../src/engine/risingwave/feed/kafkaFeed';
import type { Row } from '../../src/views/model';
import { upsertRecord } from '../fixtures/risingwave/encode';
import { KafkaTestClient, OwnBroker, requireBroker, TEST_FEED_TIMEOUTS, uniquePrefix } from '../helpers/kafka';
import { replayAll } from '../helpers/replay';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(180_000);

let broker: OwnBroker;

beforeAll(async () => {
  // Same precondition as the other Kafka tests: the jars are fetched and a broker can run here.
  await requireBroker();
  broker = await OwnBroker.create();
  await broker.start();
});
afterAll(async () => {
  await broker?.dispose();
});

const rider = (id: string, seq: number): Row => ({
  rider_id: id, trips: seq, completed_trips: 0, cancelled_trips: 0, total_spent: `${seq}.00`,
  avg_rating_given: null, ratings_given: 0, updated_at: new Date(Date.UTC(2026, 9, 5) + seq * 1000).toISOString(),
});

it('recovers after the broker stops and restarts mid-stream: nothing lost, nothing duplicated or reordered', async () => {
  const prefix = uniquePrefix();
  const client = await KafkaTestClient.connect(broker.brokers); // its clients reconnect after the restart
  const [topic] = await client.createViewTopics(prefix, ['rider_stats'], 3);
  const log = recordingLogger();
  const feed = new KafkaFeed({ brokers: broker.brokers, ...TEST_FEED_TIMEOUTS, topicPrefix: prefix, views: ['rider_stats'], log });
  const events: ChangeEvent[] = [];
  feed.subscribe((batch) => events.push(...batch));
  await feed.start();
  const start = feed.head();
  try {
    // `trips` counts up per rider: the order check below.
    let seq = 0;
    const batch = (n: number) => Array.from({ length: n }, () => upsertRecord('rider_stats', rider(`rider-${seq % 13}`, seq++)));
    await client.produce(topic!, batch(150));
    await waitFor(() => events.length === 150, 15_000);

    await broker.stop();
    await waitFor(() => !feed.status().ready, 30_000);
    expect(feed.status().ready).toBe(false);

    await broker.start(true);
    // Produce as soon as the broker is back, while the feed is still reconnecting: were it to
    // resume "at the latest offset" after rejoining, these would be skipped.
    await client.produce(topic!, batch(150));
    await waitFor(() => events.length >= 300 && feed.status().ready, 90_000);

    expect(events).toHaveLength(300);
    expect(new Set(events.map((e) => e.position)).size).toBe(300);
    expect(events.map((e) => e.row?.['trips']).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 300 }, (_, i) => i));
    const last = new Map<string, number>();
    for (const e of events) {
      const id = String(e.key['rider_id']);
      const trips = Number(e.row?.['trips']);
      expect(trips).toBeGreaterThan(last.get(id) ?? -1);
      last.set(id, trips);
    }
    expect(feed.state.phase).toBe('running');
    // It resumed where delivery stopped (seek on rejoin), not at the start of the log: without the seek
    // the rejoined group would re-read from the earliest offset and drop all 150 old records as duplicates.
    expect(feed.duplicateCount).toBeLessThan(150);
    // The cursor taken before the outage still replays all 300 changes (from memory).
    expect(await replayAll(feed, 'rider_stats', start)).toHaveLength(300);
    // The outage went through the logger (kafkajs connection errors, the feed's state changes).
    expect(log.lines.some((l) => l.msg === 'feed state' && l.fields['to'] !== 'running')).toBe(true);
  } finally {
    await feed.stop();
    await client.cleanup().catch(() => undefined);
  }
});
