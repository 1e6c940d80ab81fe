/**
 * Replay for the Kafka change feed: the changes of one view after a cursor, up to what this feed
 * instance has delivered (docs/SUBSCRIPTIONS.md, "Resume: `after: cursor`").
 *
 * 1. Catch up: a cursor made by a faster gateway instance can be ahead of this one; wait until this
 *    instance has delivered what the cursor covers (bounded by replayTimeoutMs). A cursor past the
 *    end of the log (the topic was re-created) is CURSOR_EXPIRED.
 * 2. Answer from memory (the last `recentLimit` delivered changes, position.ts RecentChanges) when
 *    they reach back to the cursor;
 * 3. otherwise read (cursor, delivered] of each partition with a short-lived consumer in a group of
 *    its own (deleted afterwards). CURSOR_EXPIRED when Kafka no longer retains a needed offset.
 */
import { within } from '../../../util/within';
import { fetchTopicOffsets } from '../../../kafka/admin';
import type { Admin, Kafka, KafkaMessage } from '../../../kafka/client';
import type { ChangeEvent } from '../../types';
import { GatewayError, GatewayErrorCode } from '../../../errors';
import type { Logger } from '../../../log';
import type { ViewName } from '../../../views/registry';
import type { PartitionTracker } from './partitions';
import * as pos from './position';

/** ENGINE_UNAVAILABLE, retriable: the feed cannot answer now, a retry may succeed. */
export const feedUnavailable = (message: string, cause?: unknown): GatewayError =>
  new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, message, { retriable: true, cause });

const expired = (message: string) => new GatewayError(GatewayErrorCode.CURSOR_EXPIRED, message);

/** What a replay needs from its feed. */
export interface ReplayDeps {
  readonly kafka: Pick<Kafka, 'consumer'>;
  readonly admin: Pick<Admin, 'fetchTopicOffsets' | 'deleteGroups'>;
  readonly partitions: PartitionTracker;
  readonly recent: pos.RecentChanges<ChangeEvent>;
  readonly log: Logger;
  /** The feed's group id; replay groups are `<groupId>-replay-<n>`. */
  readonly groupId: string;
  readonly replayTimeoutMs: number;
  readonly maxWaitTimeMs: number;
  readonly retries: number;
  /** Decodes a record into its change (null: no change, or poison, which the live feed already reported). */
  readonly decode: (view: ViewName, topic: string, partition: number, m: KafkaMessage) => ChangeEvent | null;
  readonly isStopped: () => boolean;
}

/** Per partition being read: the next offset wanted, the last one, what was read. */
interface Range {
  next: number;
  readonly to: number;
  readonly events: ChangeEvent[];
}

/** The replays of one feed. */
export class FeedReplay {
  private replays = 0;

  constructor(private readonly d: ReplayDeps) {}

  /** Changes of `view` (on `topic`) after `cursor`, up to what the feed has delivered. */
  async replay(view: ViewName, topic: string, cursor: pos.Coverage): Promise<readonly ChangeEvent[]> {
    const deadline = Date.now() + this.d.replayTimeoutMs;
    await this.catchUp(topic, cursor, deadline);
    const bound = this.d.partitions.delivered(topic);
    return this.d.recent.since(topic, bound, cursor) ?? this.readTopic(view, topic, cursor, bound, deadline);
  }

  /** Waits until every partition of `topic` is delivered up to what `cursor` covers. */
  private async catchUp(topic: string, cursor: pos.Coverage, deadline: number): Promise<void> {
    const behind = () => this.d.partitions.behind(topic, cursor);
    if (behind().length === 0) return;
    const offsets = await fetchTopicOffsets(this.d.admin, topic);
    for (const p of behind()) {
      const high = Number(offsets.find((o) => o.partition === p)?.high ?? 0);
      if ((pos.coveredOffset(cursor, topic, p) ?? -1) >= high) {
        throw expired(`The cursor points past the end of ${topic} partition ${p} (re-created topic?): query the current rows and subscribe without a cursor`);
      }
    }
    while (behind().length > 0) {
      if (this.d.isStopped()) throw feedUnavailable('the Kafka feed stopped');
      const left = deadline - Date.now();
      if (left <= 0) throw feedUnavailable('This gateway instance is behind the cursor; retry shortly');
      await this.d.partitions.waitForProgress(left);
    }
  }

  /** Reads (cursor, bound] of each partition of `topic` with a short-lived consumer. */
  private async readTopic(view: ViewName, topic: string, cursor: pos.Coverage, bound: ReadonlyMap<number, number>, deadline: number): Promise<ChangeEvent[]> {
    const ranges = await this.rangesToRead(topic, cursor, bound);
    if (ranges.size === 0) return [];
    const groupId = `${this.d.groupId}-replay-${++this.replays}`;
    // Short fetch waits: once the range is read, disconnect() waits for the in-flight fetch.
    const maxWaitTimeInMs = Math.min(100, this.d.maxWaitTimeMs);
    const consumer = this.d.kafka.consumer({ groupId, maxWaitTimeInMs, allowAutoTopicCreation: false, retry: { retries: this.d.retries } });
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const done = () => [...ranges.values()].every((r) => r.next > r.to);
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      for (const partition of payload.memberAssignment[topic] ?? []) {
        const r = ranges.get(partition);
        if (r !== undefined) consumer.seek({ topic, partition, offset: String(r.next) });
        else consumer.pause([{ topic, partitions: [partition] }]);
      }
    });
    // Control records and compaction gaps never reach eachBatch; the batch end offset still moves.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const r = ranges.get(payload.partition);
      if (r !== undefined) r.next = Math.max(r.next, Number(payload.lastOffset) + 1);
      if (done()) finish();
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const r = ranges.get(batch.partition);
          if (r === undefined) return;
          for (const m of batch.messages) {
            const offset = Number(m.offset);
            if (offset < r.next || offset > r.to) continue;
            const event = this.d.decode(view, topic, batch.partition, m);
            if (event !== null) r.events.push(event);
            r.next = offset + 1;
          }
        },
      });
      await within(finished, Math.max(0, deadline - Date.now()), () => feedUnavailable(`Replaying ${topic} from Kafka took longer than ${this.d.replayTimeoutMs} ms`));
    } finally {
      await consumer.disconnect().catch((err: unknown) => this.d.log.warn({ err, groupId }, 'replay consumer disconnect failed'));
      await this.d.admin.deleteGroups([groupId]).catch((err: unknown) => this.d.log.warn({ err, groupId }, 'deleting the replay group failed'));
    }
    return [...ranges.keys()].sort((a, b) => a - b).flatMap((p) => ranges.get(p)!.events);
  }

  /** (cursor, bound] per partition, skipping empty ones; CURSOR_EXPIRED when Kafka dropped a needed offset. */
  private async rangesToRead(topic: string, cursor: pos.Coverage, bound: ReadonlyMap<number, number>): Promise<Map<number, Range>> {
    const offsets = await fetchTopicOffsets(this.d.admin, topic);
    const ranges = new Map<number, Range>();
    for (const [partition, to] of bound) {
      const from = (pos.coveredOffset(cursor, topic, partition) ?? -1) + 1;
      if (from > to) continue;
      const low = Number(offsets.find((o) => o.partition === partition)?.low ?? 0);
      if (from < low) {
        throw expired(`The cursor is older than what Kafka retains for ${topic} partition ${partition} (needs offset ${from}, oldest is ${low}): query the current rows and subscribe without a cursor`);
      }
      ranges.set(partition, { next: from, to, events: [] });
    }
    return ranges;
  }
}
