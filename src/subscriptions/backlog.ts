/**
 * The slow-consumer policy, in one place for the two buffers that keep what a consumer has not
 * taken yet: the hub's subscriber (changes, subscriber.ts) and a shared fan-out member whose socket
 * stopped taking data (payloads, graphql/fanout.ts). Up to `queueLimit` items in order; then the
 * latest item per row key, up to `conflateLimit` keys; past that, the owner drops the backlog for
 * one RESYNC (how it makes one differs, so it is the owner's).
 *
 * The backlog is the owner's own fields (the subscriber is one), not an object of its own. A drained
 * queue is replaced by a fresh empty array rather than emptied: an emptied array keeps the capacity
 * it grew to.
 */

/** What a backlog holds: an empty queue and no map when it holds nothing. */
export interface Backlog<T> {
  /** Items in order, oldest first. */
  queue: T[];
  /** Latest item per row key, in order of each key's latest change; present while conflating. */
  conflated: Map<string, T> | undefined;
}

/** Items a backlog holds: queued plus conflated. */
export function backlogSize<T>(b: Backlog<T>): number {
  return b.queue.length + (b.conflated?.size ?? 0);
}

/**
 * Queues `item` when nothing is conflated and fewer than `queueLimit` are queued; false when it
 * must be conflated instead ({@link conflate}). A caller whose key costs something to make makes it
 * only then.
 */
export function enqueue<T>(b: Backlog<T>, item: T, queueLimit: number): boolean {
  if (b.conflated !== undefined || b.queue.length >= queueLimit) return false;
  b.queue.push(item);
  return true;
}

/**
 * Keeps `item` as the latest for `key`, after every other key's latest (delete first, so delivered
 * positions stay increasing and no cursor covers a change still waiting behind it). False when the
 * conflated keys went past `conflateLimit`: the owner drops the backlog for one RESYNC.
 */
export function conflate<T>(b: Backlog<T>, key: string, item: T, conflateLimit: number): boolean {
  const conflated = (b.conflated ??= new Map());
  conflated.delete(key);
  conflated.set(key, item);
  return conflated.size <= conflateLimit;
}

/** Takes the next item: the oldest queued, then the oldest conflated key's; undefined when none. */
export function takeNext<T>(b: Backlog<T>): T | undefined {
  let item = b.queue.shift();
  if (item !== undefined && b.queue.length === 0) b.queue = [];
  if (item === undefined && b.conflated !== undefined) {
    const first = b.conflated.entries().next();
    if (first.done !== true) {
      b.conflated.delete(first.value[0]);
      item = first.value[1];
    }
  }
  if (b.queue.length === 0 && b.conflated?.size === 0) b.conflated = undefined; // caught up
  return item;
}
