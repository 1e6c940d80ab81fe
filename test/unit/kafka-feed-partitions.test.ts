/**
 * Partition tracking of the Kafka change feed (src/engine/risingwave/feed/partitions.ts): head(),
 * pending, the replay bound, which partitions lag a cursor, and waiting for progress. The feed
 * itself runs against the real broker in test/integration/kafka-feed.test.ts.
 */
import { PartitionTracker } from '../../src/engine/risingwave/feed/partitions';
import { decodeCursor, encodeCursor } from '../../src/engine/risingwave/feed/position';

describe('PartitionTracker', () => {
  it('tracks next/high per partition and derives head, pending and the delivered bound', () => {
    const started: string[] = [];
    const t = new PartitionTracker((topic, partition, next) => started.push(`${topic}:${partition}@${next}`));
    t.track('view.a', 0, 5);
    t.track('view.a', 1, 0);
    t.track('view.b', 0, 2);
    expect(started).toEqual(['view.a:0@5', 'view.a:1@0', 'view.b:0@2']);
    expect(decodeCursor(t.head())).toEqual(decodeCursor(encodeCursor(new Map([['view.a', new Map([[0, 4], [1, -1]])], ['view.b', new Map([[0, 1]])]]))));
    expect(t.pending()).toBe(0);

    const s = t.get('view.a', 1)!;
    s.next = 3;
    s.high = 10;
    const before = t.head();
    expect(t.head()).toBe(before); // cached until progress
    t.progressed();
    expect(t.head()).not.toBe(before);
    expect(decodeCursor(t.head()).get('view.a')?.get(1)).toBe(2);
    expect(t.pending()).toBe(7);
    expect(t.delivered('view.a')).toEqual(new Map([[0, 4], [1, 2]]));
    expect(t.delivered('view.none')).toEqual(new Map());
    expect(t.get('view.a', 9)).toBeUndefined();
  });

  it('names the partitions that have not delivered what a cursor covers', () => {
    const t = new PartitionTracker();
    t.track('view.a', 0, 5); // delivered up to 4
    t.track('view.a', 1, 3); // delivered up to 2
    const cursor = decodeCursor(encodeCursor(new Map([['view.a', new Map([[0, 4], [1, 6]])]])));
    expect(t.behind('view.a', cursor)).toEqual([1]);
    t.get('view.a', 1)!.next = 7;
    expect(t.behind('view.a', cursor)).toEqual([]);
  });

  it('wakes waiters on progress and on wakeAll, and after their timeout otherwise', async () => {
    jest.useFakeTimers();
    try {
      const t = new PartitionTracker();
      const woke: string[] = [];
      void t.waitForProgress(10_000).then(() => woke.push('progress'));
      t.progressed();
      await jest.advanceTimersByTimeAsync(0);
      expect(woke).toEqual(['progress']);
      void t.waitForProgress(10_000).then(() => woke.push('wakeAll'));
      t.wakeAll();
      await jest.advanceTimersByTimeAsync(0);
      void t.waitForProgress(500).then(() => woke.push('timeout'));
      await jest.advanceTimersByTimeAsync(499);
      expect(woke).toEqual(['progress', 'wakeAll']);
      await jest.advanceTimersByTimeAsync(1);
      expect(woke).toEqual(['progress', 'wakeAll', 'timeout']);
      expect(jest.getTimerCount()).toBe(0); // woken waiters clear their timers
    } finally {
      jest.useRealTimers();
    }
  });
});
