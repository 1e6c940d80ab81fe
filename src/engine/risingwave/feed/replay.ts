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
 * Either way the changes come out in pages of at most `pageSize`, only those matching the filter
 * (engine/changeFilter.ts): records are filtered as they are decoded, and the consumer waits while
 * a full page is not yet taken, so one replay holds at most two pages and one fetch (its fetches are
 * capped at REPLAY_FETCH_BYTES) whatever the size of the topic.
 */
import { within } from '../../../util/within';
import { fetchTopicOffsets } from '../../../kafka/admin';
import type { Admin, Kafka, KafkaMessage } from '../../../kafka/client';
import { matchesFilter } from '../../changeFilter';
import type { ChangeEvent, ChangeFilter } from '../../types';
import { GatewayError, GatewayErrorCode } from '../../../errors';
import type { Logger } from '../../../log';
import type { PartitionTracker } from './partitions';
import * as pos from './position';

/** ENGINE_UNAVAILABLE, retriable: the feed cannot answer now, a retry may succeed. */
export const feedUnavailable = (message: string, cause?: unknown): GatewayError =>
  new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, message, { retriable: true, cause });

const expired = (message: string) => new GatewayError(GatewayErrorCode.CURSOR_EXPIRED, message);

/** The fields of a Kafka record that decoding reads. */
export type SinkRecord = Pick<KafkaMessage, 'key' | 'value' | 'timestamp' | 'offset'>;

/**
 * A delivered record as the feed's ring of recent changes keeps it: key and value copied out of the
 * fetch buffer into one Buffer (off the V8 heap), decoded again only when a resume reads it. Keeping
 * decoded changes instead held ~1.2 KB of objects per record for `recentLimit` records: at 2,000
 * records/s every one of them lived ~5 s, was promoted to the old generation and made major
 * collections (and their pauses) more frequent.
 */
export interface RecentRecord {
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: string;
  /** The key's bytes, then the value's. */
  readonly bytes: Buffer;
  /** Bytes of the key in `bytes`; -1: the record had no key. */
  readonly keyLength: number;
  /** False: the value was null (a tombstone). */
  readonly hasValue: boolean;
}

/** Copies what {@link RecentRecord} keeps of a fetched record. */
export function recentRecord(partition: number, m: SinkRecord): RecentRecord {
  const key = m.key;
  const value = m.value;
  const keyLength = key === null ? -1 : key.length;
  const bytes = Buffer.allocUnsafe(Math.max(0, keyLength) + (value?.length ?? 0));
  key?.copy(bytes, 0);
  value?.copy(bytes, Math.max(0, keyLength));
  return { partition, offset: m.offset, timestamp: m.timestamp, bytes, keyLength, hasValue: value !== null };
}

/** The record again, as decoding reads it. */
export function recordOf(r: RecentRecord): SinkRecord {
  const k = Math.max(0, r.keyLength);
  return {
    key: r.keyLength < 0 ? null : r.bytes.subarray(0, k),
    value: r.hasValue ? r.bytes.subarray(k) : null,
    timestamp: r.timestamp,
    offset: r.offset,
  };
}

/** What a replay needs from its feed. */
export interface ReplayDeps {
  readonly kafka: Pick<Kafka, 'consumer'>;
  readonly admin: Pick<Admin, 'fetchTopicOffsets' | 'deleteGroups'>;
  readonly partitions: PartitionTracker;
  readonly recent: pos.RecentChanges<RecentRecord>;
  readonly log: Logger;
  /** The feed's group id; replay groups are `<groupId>-replay-<n>`. */
  readonly groupId: string;
  readonly replayTimeoutMs: number;
  readonly maxWaitTimeMs: number;
  readonly retries: number;
  /** Decodes a record into its change (null: no change, or poison, which the live feed already reported). */
  readonly decode: (view: string, topic: string, partition: number, m: SinkRecord) => ChangeEvent | null;
  readonly isStopped: () => boolean;
}

/** Bytes one replay consumer fetches at most per request (kafkajs `maxBytes`; its default is 10 MiB). */
export const REPLAY_FETCH_BYTES = 1024 * 1024;

/** Per partition being read: the next offset wanted, and the last one. */
interface Range {
  next: number;
  readonly to: number;
}

/** What one replay reads besides the cursor: the filter, the page size, and who may stop it. */
export interface ReplayReadOptions {
  readonly filter?: ChangeFilter;
  readonly pageSize: number;
  readonly signal?: AbortSignal;
}

/**
 * One page at a time from the consumer (producer) to the replay's reader: put() waits while the
 * previous page has not been taken, so the consumer stops fetching instead of buffering the topic.
 */
class PageHandoff<T> {
  private page: T[] | undefined;
  private done = false;
  private failure: { error: unknown } | undefined;
  private wakeTaker: (() => void) | undefined;
  private wakeGiver: (() => void) | undefined;

  async put(page: T[]): Promise<void> {
    while (this.page !== undefined && !this.done) await new Promise<void>((r) => (this.wakeGiver = r));
    if (this.done) return;
    this.page = page;
    this.wakeTaker?.();
  }

  /** No more pages (or the reader left): wakes both sides. */
  finish(error?: unknown): void {
    if (error !== undefined && this.failure === undefined) this.failure = { error };
    this.done = true;
    this.wakeTaker?.();
    this.wakeGiver?.();
  }

  /** The next page; undefined at the end. Rejects with what finish() was given. */
  async take(): Promise<T[] | undefined> {
    while (this.page === undefined && !this.done) await new Promise<void>((r) => (this.wakeTaker = r));
    const page = this.page;
    if (page !== undefined) {
      this.page = undefined;
      this.wakeGiver?.();
      return page;
    }
    if (this.failure !== undefined) throw this.failure.error;
    return undefined;
  }
}

/** The replays of one feed. */
export class FeedReplay {
  private replays = 0;

  constructor(private readonly d: ReplayDeps) {}

  /** Pages of the changes of `view` (on `topic`) after `cursor`, up to what the feed has delivered. */
  async *replay(view: string, topic: string, cursor: pos.Coverage, o: ReplayReadOptions): AsyncGenerator<readonly ChangeEvent[]> {
    const deadline = Date.now() + this.d.replayTimeoutMs;
    await this.catchUp(topic, cursor, deadline);
    const bound = this.d.partitions.delivered(topic);
    const held = this.d.recent.since(topic, bound, cursor);
    if (held !== undefined) {
      const recent: ChangeEvent[] = [];
      for (const r of held) {
        const e = this.d.decode(view, topic, r.partition, recordOf(r));
        if (e !== null && matchesFilter(e, o.filter)) recent.push(e);
      }
      for (let i = 0; i < recent.length; i += o.pageSize) yield recent.slice(i, i + o.pageSize);
      return;
    }
    yield* this.readTopic(view, topic, cursor, bound, deadline, o);
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

  /** Reads (cursor, bound] of each partition of `topic` with a short-lived consumer, in pages. */
  private async *readTopic(view: string, topic: string, cursor: pos.Coverage, bound: ReadonlyMap<number, number>, deadline: number,
    o: ReplayReadOptions): AsyncGenerator<readonly ChangeEvent[]> {
    const ranges = await this.rangesToRead(topic, cursor, bound);
    if (ranges.size === 0) return;
    const groupId = `${this.d.groupId}-replay-${++this.replays}`;
    // Short fetch waits: once the range is read, disconnect() waits for the in-flight fetch.
    const maxWaitTimeInMs = Math.min(100, this.d.maxWaitTimeMs);
    const consumer = this.d.kafka.consumer({
      groupId, maxWaitTimeInMs, maxBytes: REPLAY_FETCH_BYTES, maxBytesPerPartition: REPLAY_FETCH_BYTES,
      allowAutoTopicCreation: false, retry: { retries: this.d.retries },
    });
    const pages = new PageHandoff<ChangeEvent>();
    const done = () => [...ranges.values()].every((r) => r.next > r.to);
    const stop = () => pages.finish();
    o.signal?.addEventListener('abort', stop, { once: true });
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
      if (done()) pages.finish();
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const r = ranges.get(batch.partition);
          if (r === undefined) return;
          let page: ChangeEvent[] = [];
          for (const m of batch.messages) {
            const offset = Number(m.offset);
            if (offset < r.next || offset > r.to) continue;
            const event = this.d.decode(view, topic, batch.partition, m);
            r.next = offset + 1;
            if (event === null || !matchesFilter(event, o.filter)) continue;
            page.push(event);
            if (page.length >= o.pageSize) {
              await pages.put(page);
              page = [];
            }
          }
          if (page.length > 0) await pages.put(page);
        },
      });
      for (;;) {
        if (o.signal?.aborted === true) return;
        const page = await within(pages.take(), Math.max(0, deadline - Date.now()), () => feedUnavailable(`Replaying ${topic} from Kafka took longer than ${this.d.replayTimeoutMs} ms`));
        if (page === undefined) return;
        yield page;
      }
    } finally {
      o.signal?.removeEventListener('abort', stop);
      pages.finish(); // a consumer waiting to hand over a page gives up, so disconnect() can finish
      await consumer.disconnect().catch((err: unknown) => this.d.log.warn({ err, groupId }, 'replay consumer disconnect failed'));
      await this.d.admin.deleteGroups([groupId]).catch((err: unknown) => this.d.log.warn({ err, groupId }, 'deleting the replay group failed'));
    }
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
      ranges.set(partition, { next: from, to });
    }
    return ranges;
  }
}
