/**
 * Fair sharing of engine queries between clients: at most `concurrency` queries run at once, at
 * most `perKey` of them for one key (a viewer), and waiting queries are granted round-robin over
 * keys, so a client with thousands of queued queries delays another client's query by at most one
 * of its own per free slot, never by its whole backlog. Waits end early when the caller's signal
 * aborts (its request deadline passed): the query is then never started. No I/O, no timers.
 */
import { wholeOption } from '../config/env';
import { errors } from '../errors';

/** Options of {@link QueryScheduler}. */
export interface QuerySchedulerOptions {
  /** Queries running at once over all keys. @default 1 */
  readonly concurrency?: number;
  /** Queries running at once for one key. @default 2 */
  readonly perKey?: number;
  /** Queries of one key waiting for a slot; more are refused with TOO_MANY_REQUESTS. @default 200 */
  readonly queueLimit?: number;
}

interface Waiter {
  readonly grant: () => void;
}

interface KeyState {
  running: number;
  readonly queue: Waiter[];
}

/** The reason an aborted signal carries, as an Error to reject with. */
export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error(String(r ?? 'aborted'));
}

/** Round-robin, per-key limited admission of engine queries; see the module comment. */
export class QueryScheduler {
  private readonly concurrency: number;
  private readonly perKey: number;
  private readonly queueLimit: number;
  private running = 0;
  private readonly keys = new Map<string, KeyState>();
  /** Keys with waiting queries, in turn order (a Set keeps insertion order; a served key moves to the back). */
  private readonly turns = new Set<string>();

  constructor(o: QuerySchedulerOptions = {}) {
    this.concurrency = wholeOption('concurrency', o.concurrency, 1, 1);
    this.perKey = wholeOption('perKey', o.perKey, 2, 1);
    this.queueLimit = wholeOption('queueLimit', o.queueLimit, 200, 1);
  }

  /** Queries running now. */
  get active(): number {
    return this.running;
  }

  /** Queries waiting for a slot now, over all keys. */
  get waiting(): number {
    let n = 0;
    for (const s of this.keys.values()) n += s.queue.length;
    return n;
  }

  /**
   * Runs `task` once a slot is free for `key`. Rejects with the signal's reason when it aborts
   * before the task starts, and with TOO_MANY_REQUESTS when `key` already has queueLimit waiting.
   */
  async run<T>(key: string, signal: AbortSignal | undefined, task: () => Promise<T>): Promise<T> {
    signal?.throwIfAborted();
    await this.acquire(key, signal);
    try {
      signal?.throwIfAborted();
      return await task();
    } finally {
      this.release(key);
    }
  }

  private state(key: string): KeyState {
    let s = this.keys.get(key);
    if (s === undefined) this.keys.set(key, (s = { running: 0, queue: [] }));
    return s;
  }

  private acquire(key: string, signal: AbortSignal | undefined): Promise<void> {
    const s = this.state(key);
    if (s.queue.length >= this.queueLimit) {
      throw errors.tooMany(`Too many queries waiting for this client (${this.queueLimit}); retry later`, 'viewerQueueLimit', this.queueLimit);
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = s.queue.indexOf(waiter);
        if (i < 0) return; // already granted: run() checks the signal before the task
        s.queue.splice(i, 1);
        this.forget(key, s);
        reject(abortReason(signal!));
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      s.queue.push(waiter);
      this.turns.add(key);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.dispatch();
    });
  }

  private release(key: string): void {
    this.running--;
    const s = this.keys.get(key);
    if (s !== undefined) {
      s.running--;
      this.forget(key, s);
    }
    this.dispatch();
  }

  /** Grants free slots, one key at a time in turn order. */
  private dispatch(): void {
    while (this.running < this.concurrency) {
      let granted = false;
      for (const key of this.turns) {
        const s = this.keys.get(key);
        if (s === undefined || s.queue.length === 0) {
          this.turns.delete(key);
          continue;
        }
        if (s.running >= this.perKey) continue;
        const waiter = s.queue.shift()!;
        s.running++;
        this.running++;
        // To the back of the line: every other waiting key gets a turn first.
        this.turns.delete(key);
        if (s.queue.length > 0) this.turns.add(key);
        waiter.grant();
        granted = true;
        break;
      }
      if (!granted) return;
    }
  }

  /** Drops the state of a key with nothing running or waiting (keys are viewers: unbounded over time). */
  private forget(key: string, s: KeyState): void {
    if (s.queue.length === 0) this.turns.delete(key);
    if (s.running === 0 && s.queue.length === 0) this.keys.delete(key);
  }
}
