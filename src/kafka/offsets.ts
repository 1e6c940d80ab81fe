import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';

/** Broker answers that mean "this partition's leader is not in place yet (or moved)": worth a retry. */
const LEADER_MOVING: ReadonlySet<string> = new Set(['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION']);

/** Offsets of every partition of a topic, as `admin.fetchTopicOffsets` returns them. */
export type TopicOffsets = Awaited<ReturnType<Admin['fetchTopicOffsets']>>;

/**
 * `admin.fetchTopicOffsets(topic)`, retried with backoff (50 ms doubling to 1 s) while the broker
 * says a partition's leader is not in place. kafkajs retries only UNKNOWN_TOPIC_OR_PARTITION and
 * gives up at once on NOT_LEADER_FOR_PARTITION, which a KRaft broker answers for a topic created
 * moments before (seen in test/integration/kafka-feed.test.ts). Any other error, or the last
 * attempt's, propagates. Callers bound the total time (KafkaFeed: startTimeoutMs, replayTimeoutMs).
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
