/**
 * The slow-consumer policy (src/subscriptions/backlog.ts) that the hub's subscribers and the shared
 * fan-out's slow members both keep: queue, then latest per key, then the owner's RESYNC.
 */
import { backlogSize, conflate, enqueue, takeNext, type Backlog } from '../../src/subscriptions/backlog';

const empty = (): Backlog<string> => ({ queue: [], conflated: undefined });
const drain = (b: Backlog<string>): string[] => {
  const out: string[] = [];
  for (let x = takeNext(b); x !== undefined; x = takeNext(b)) out.push(x);
  return out;
};

describe('backlog', () => {
  it('queues up to queueLimit in order, then conflates by key (a key that changes again moves to the end); takes queued first', () => {
    const b = empty();
    expect([enqueue(b, 'a1', 2), enqueue(b, 'b1', 2), enqueue(b, 'a2', 2)]).toEqual([true, true, false]);
    expect(conflate(b, 'a', 'a2', 10)).toBe(true);
    expect(conflate(b, 'c', 'c1', 10)).toBe(true);
    expect(conflate(b, 'a', 'a3', 10)).toBe(true);
    // once conflating, nothing is queued even below queueLimit
    expect(takeNext(b)).toBe('a1');
    expect(enqueue(b, 'd1', 2)).toBe(false);
    expect(backlogSize(b)).toBe(3);
    expect(drain(b)).toEqual(['b1', 'c1', 'a3']);
    expect(b).toEqual({ queue: [], conflated: undefined }); // caught up: no map
    expect(enqueue(b, 'e1', 2)).toBe(true);
  });

  it('says when the conflated keys went past conflateLimit; a queueLimit of 0 conflates from the first item', () => {
    const b = empty();
    expect(enqueue(b, 'x', 0)).toBe(false);
    expect(conflate(b, 'k1', 'x', 2)).toBe(true);
    expect(conflate(b, 'k2', 'y', 2)).toBe(true);
    expect(conflate(b, 'k1', 'z', 2)).toBe(true); // same key: still 2
    expect(conflate(b, 'k3', 'w', 2)).toBe(false);
    expect(backlogSize(b)).toBe(3);
  });

  it('a drained queue is replaced by a fresh array, not emptied (an emptied array keeps its grown capacity)', () => {
    const b = empty();
    enqueue(b, 'a', 5);
    const first = b.queue;
    expect(takeNext(b)).toBe('a');
    expect(b.queue).toEqual([]);
    expect(b.queue).not.toBe(first);
  });
});
