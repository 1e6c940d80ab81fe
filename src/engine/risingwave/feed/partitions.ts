/**
 * Partition tracking of the Kafka change feed: per view-topic partition, the next offset to
 * deliver and the latest high watermark seen. This is the feed's only record of where it is — its
 * consumer group never commits offsets (kafkaFeed.ts seeks to `next` on every group join) — and the
 * source of head() (the cursor covering everything delivered), of status().pending, and of the
 * bound a replay reads up to (replay.ts). Replays that wait for delivery to catch up with a cursor
 * wait here for progress.
 */
import * as pos from './position';

/** Where delivery stands in one partition. Mutated by the feed as it delivers. */
export interface PartitionState {
  /** The next offset to deliver; everything below was delivered (or skipped as poison). */
  next: number;
  /** The partition's high watermark as of the latest fetch (at least `next`). */
  high: number;
}

/** Every tracked partition of every view topic, plus progress notification. */
export class PartitionTracker {
  private readonly topics = new Map<string, Map<number, PartitionState>>();
  private readonly waiters = new Set<() => void>();
  private headCache: string | undefined;

  /** `onTrack` runs for each newly tracked partition (the feed starts its in-memory replay window there). */
  constructor(private readonly onTrack: (topic: string, partition: number, next: number) => void = () => undefined) {}

  /** Starts tracking a partition whose delivery begins at `next` (replacing earlier state). */
  track(topic: string, partition: number, next: number): PartitionState {
    let ps = this.topics.get(topic);
    if (ps === undefined) this.topics.set(topic, (ps = new Map()));
    const state = { next, high: next };
    ps.set(partition, state);
    this.onTrack(topic, partition, next);
    this.headCache = undefined;
    return state;
  }

  /** The state of one partition, or undefined when it is not tracked. */
  get(topic: string, partition: number): PartitionState | undefined {
    return this.topics.get(topic)?.get(partition);
  }

  /** Per partition of `topic`: the last delivered offset (`next - 1`; -1 = nothing yet). */
  delivered(topic: string): Map<number, number> {
    return new Map([...(this.topics.get(topic) ?? [])].map(([p, s]) => [p, s.next - 1]));
  }

  /** Partitions of `topic` that have not yet delivered everything `cursor` covers. */
  behind(topic: string, cursor: pos.Coverage): number[] {
    return [...(this.topics.get(topic) ?? [])].filter(([p, s]) => (pos.coveredOffset(cursor, topic, p) ?? -1) >= s.next).map(([p]) => p);
  }

  /** Records not yet delivered: Σ over partitions of (high watermark − next offset). */
  pending(): number {
    let n = 0;
    for (const ps of this.topics.values()) for (const s of ps.values()) n += Math.max(0, s.high - s.next);
    return n;
  }

  /** The cursor covering everything delivered so far (cached until the next progress). */
  head(): string {
    this.headCache ??= pos.encodeCursor(new Map([...this.topics].map(([t, ps]) => [t, new Map([...ps].map(([p, s]) => [p, s.next - 1]))])));
    return this.headCache;
  }

  /**
   * Delivery moved on: head() is recomputed and waiters wake. Call before handing the batch to
   * listeners (they may read head()); woken waiters continue only after the caller's synchronous code.
   */
  progressed(): void {
    this.headCache = undefined;
    this.wakeAll();
  }

  /** Resolves at the next progressed() or wakeAll(), or after `timeoutMs`. */
  waitForProgress(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      this.waiters.add(wake);
    });
  }

  /** Wakes every waiter (on progress, and at stop so that no replay waits for a stopped feed). */
  wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }
}
