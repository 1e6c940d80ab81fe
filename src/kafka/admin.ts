/**
 * Admin calls that wait out partition leadership moving. A KRaft broker answers
 * NOT_LEADER_FOR_PARTITION, LEADER_NOT_AVAILABLE or UNKNOWN_TOPIC_OR_PARTITION for a topic created
 * moments before (seen under load in test/integration/kafka-feed.test.ts), where kafkajs gives up
 * at once (or, for `waitForLeaders`, on UNKNOWN_TOPIC_OR_PARTITION): these helpers retry instead.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';

/** Broker answers that mean "this partition's leader is not in place yet (or moved)": worth a retry. */
const LEADER_MOVING: ReadonlySet<string> = new Set(['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION']);

/** Offsets of every partition of a topic, as `admin.fetchTopicOffsets` returns them. */
export type TopicOffsets = Awaited<ReturnType<Admin['fetchTopicOffsets']>>;

/**
 * `admin.fetchTopicOffsets(topic)`, retried with backoff (50 ms doubling to 1 s) while the broker
 * says a partition's leader is not in place. kafkajs retries only UNKNOWN_TOPIC_OR_PARTITION and
 * gives up at once on NOT_LEADER_FOR_PARTITION. Any other error, or the last attempt's, propagates.
 * Callers bound the total time (KafkaFeed: startTimeoutMs, replayTimeoutMs).
 */
export async function fetchTopicOffsets(admin: Pick<Admin, 'fetchTopicOffsets'>, topic: string, attempts = 8): Promise<TopicOffsets> {
  for (let attempt = 1, delay = 50; ; attempt++, delay = Math.min(1_000, delay * 2)) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (err) {
      const type = (err as { type?: unknown }).type;
      if (attempt >= attempts || typeof type !== 'string' || !LEADER_MOVING.has(type)) throw err;
      await sleep(delay);
    }
  }
}

/**
 * Creates topics (an existing one is left as it is) and waits until every partition has a leader.
 * kafkajs' own `waitForLeaders` gives up on UNKNOWN_TOPIC_OR_PARTITION, which a KRaft broker
 * answers while the new topic's metadata propagates: that is waited out here.
 */
export async function createTopicsAndWait(admin: Admin, topics: ReadonlyArray<{ topic: string; numPartitions: number; configEntries?: Array<{ name: string; value: string }> }>, timeoutMs = 30_000): Promise<void> {
  await admin.createTopics({ topics: topics.map((t) => ({ ...t })), waitForLeaders: false });
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(500, delay * 2)) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
      if (meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (err) {
      const type = (err as { type?: unknown }).type;
      if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw err;
    }
    if (Date.now() > deadline) throw new Error(`topics ${topics.map((t) => t.topic).join(', ')} have no partition leaders after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, delay));
  }
}
