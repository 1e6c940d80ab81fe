/**
 * One subscriber of the hub (hub.ts): a bounded queue between the feed (push) and its consumer
 * (pull). Memory per subscriber is bounded: queueLimit deliveries, then conflation to the latest
 * change per key up to conflateLimit keys, then one resync (the policy of backlog.ts); while a resume replays, live changes wait
 * in a buffer of at most queueLimit (beyond it they are dropped and read again from the feed).
 */
import type { ChangeEvent, ChangeFeed, FeedPosition } from '../engine/types';
import type { Logger } from '../log';
import { keyString } from '../views/normalize';
import { backlogSize, conflate, enqueue, takeNext, type Backlog } from './backlog';
import type { Row, ViewModel } from '../views/model';

/** What one subscriber wants: a view, an optional equality filter, its row policy and a resume cursor. */
export interface SubscriptionFilter {
  view: string;
  /** Equality filter on one column: a key column (single-column key) or one of view.indexed; omitted = every row of the view. */
  column?: string;
  value?: string;
  /** Row policy, evaluated on every row (and on `old` for deletes) before it is queued: defence in depth on top of the filter. */
  allow: (row: Row) => boolean;
  /** Resume: deliver every change after this feed cursor, then live ones, with no gap and no duplicate. */
  after?: FeedPosition;
  /**
   * Called once when the subscription ends, however it ends (or when subscribing fails): releases
   * what `allow` holds, e.g. its lookup sets (subscriptions/lookups.ts).
   */
  release?: () => void;
}

/** One item handed to a subscriber. */
export type Delivery =
  /** `cursor` = `feed.advance(previous cursor, event.position)`. */
  | { kind: 'change'; event: ChangeEvent; cursor: FeedPosition }
  /** The client must re-query; live changes continue after it. */
  | { kind: 'resync'; cursor: FeedPosition; reason: string };

type Waiter = (r: IteratorResult<Delivery>) => void;

/** A subscriber as its consumer sees it: an async iterator that can also take what is ready now. */
export interface DeliveryIterator extends AsyncIterableIterator<Delivery> {
  /**
   * Up to `max` deliveries that are ready now, taken synchronously: exactly what the next `next()`
   * calls would resolve with, in order. Call it only with no `next()` pending.
   */
  takeReady(max: number): Delivery[];
  /**
   * Resolves, with nothing, once a delivery is ready for {@link takeReady} or the iterator has ended
   * (then takeReady gives nothing). The pull protocol of the shared fan-out, in place of `next()`:
   * a subscriber waits seconds for its next change, long enough for its pending promise to reach
   * V8's old generation, and a promise resolved with the delivery would then keep the delivery (row,
   * root value, payload) alive through every young-generation collection until the next full one,
   * promoted with it. A wake-up carries nothing; the delivery is taken by the woken, young frame.
   * One wait at a time, and never alongside a pending `next()`.
   */
  waitReady(): Promise<void>;
}

/** What waitReady() returns when a delivery is ready already (or the iterator ended). */
const READY: Promise<void> = Promise.resolve();

/** An item of a subscriber's backlog: a change, or a resync (which replaces the backlog). */
export type Pending = { kind: 'change'; event: ChangeEvent } | { kind: 'resync'; cursor: FeedPosition; reason: string };

/**
 * Lifecycle of a subscriber. While replaying, live changes wait in `live` until the replay is
 * queued; past queueLimit they are dropped and `overflowed` is set, and the replay reads on.
 */
export type Phase = { name: 'replaying'; live: ChangeEvent[]; overflowed: boolean } | { name: 'live' } | { name: 'closed' };

/** What subscribers share with their hub. */
export interface SubscriberCtx {
  readonly feed: ChangeFeed;
  readonly queueLimit: number;
  readonly conflateLimit: number;
  readonly log: Logger;
  readonly onDelivered: ((latencyMs: number) => void) | undefined;
  detach(sub: Subscriber): void;
}

/** The phases without state, shared by every subscriber. */
const LIVE: Phase = Object.freeze({ name: 'live' });
const CLOSED: Phase = Object.freeze({ name: 'closed' });

function unreachable(x: never): never {
  throw new Error(`unreachable: ${JSON.stringify(x)}`);
}

/** One subscription: a bounded queue between the feed (push) and its consumer (pull). */
export class Subscriber implements DeliveryIterator, Backlog<Pending> {
  phase: Phase;
  /** Covers everything handed to the consumer. */
  private cursor: FeedPosition;
  /** Covers everything accepted (handed or queued); a resync carries it. */
  private tail: FeedPosition;
  /**
   * The backlog (backlog.ts, the slow-consumer policy): queued deliveries, then the latest change per
   * key while conflating. Public only for backlog.ts's functions.
   */
  queue: Pending[] = [];
  conflated: Map<string, Pending> | undefined;
  /**
   * The consumer's pending `next()` calls, oldest first: the first in a field (an idle subscriber has
   * one), more (never expected of a `for await`) in an array made when needed.
   * Invariant: present only while queue and conflated are empty.
   */
  private waiter: Waiter | undefined;
  private moreWaiters: Waiter[] | undefined;
  /** The pending waitReady(): woken (with nothing) when a delivery is queued or the subscriber finishes. */
  private wake: (() => void) | undefined;
  /** Made on first use (only resumes read it): an idle live subscriber holds none. */
  private ended: AbortController | undefined;

  constructor(
    readonly id: number,
    readonly filter: SubscriptionFilter,
    readonly view: ViewModel,
    start: FeedPosition,
    private readonly ctx: SubscriberCtx,
  ) {
    this.cursor = start;
    this.tail = start;
    this.phase = filter.after === undefined ? LIVE : { name: 'replaying', live: [], overflowed: false };
  }

  /** Aborted when the subscriber finishes: a replay for it stops reading. */
  get signal(): AbortSignal {
    if (this.phase.name === 'closed' && this.ended === undefined) return AbortSignal.abort();
    return (this.ended ??= new AbortController()).signal;
  }

  /** A live change while replaying: buffered, or dropped past queueLimit (the replay reads it again). */
  hold(ev: ChangeEvent): void {
    if (this.phase.name !== 'replaying') return;
    if (this.phase.overflowed) return;
    if (this.phase.live.length >= this.ctx.queueLimit) {
      this.phase.live.length = 0;
      this.phase.overflowed = true;
      return;
    }
    this.phase.live.push(ev);
  }

  /** Drops what is queued and tells the consumer to re-query (covering everything accepted so far). */
  resync(reason: string): void {
    this.conflated = undefined;
    this.queue.length = 0;
    const item: Pending = { kind: 'resync', cursor: this.tail, reason };
    const waiter = this.shiftWaiter();
    if (waiter !== undefined) {
      waiter({ done: false, value: this.deliver(item) });
      return;
    }
    this.queue.push(item);
    this.wakeUp();
  }

  /** Deliveries waiting for the consumer: queued plus conflated (at most queueLimit + conflateLimit). */
  get buffered(): number {
    return backlogSize(this);
  }

  /** Queues a change that passed filter and policy. */
  accept(ev: ChangeEvent): void {
    const { feed, queueLimit, conflateLimit, log } = this.ctx;
    this.tail = feed.advance(this.tail, ev.position);
    const waiter = this.shiftWaiter();
    if (waiter !== undefined) {
      waiter({ done: false, value: this.deliver({ kind: 'change', event: ev }) });
      return;
    }
    const item: Pending = { kind: 'change', event: ev };
    if (enqueue(this, item, queueLimit)) {
      this.wakeUp();
      return;
    }
    // No wakeUp() when conflating: a wait is armed only while nothing is queued or conflated, and
    // conflation starts only behind a full queue (the hub takes queueLimit ≥ 1).
    if (!conflate(this, keyString(this.view, ev.key), item, conflateLimit)) {
      this.resync('subscriber fell too far behind; re-query');
      log.warn({ subscriber: this.id, view: this.view.name, conflateLimit }, 'slow subscriber: buffer dropped, resync queued');
    }
  }

  next(): Promise<IteratorResult<Delivery>> {
    if (this.phase.name === 'closed') return Promise.resolve({ done: true, value: undefined });
    const item = this.take();
    if (item !== undefined) return Promise.resolve({ done: false, value: item });
    return new Promise((resolve) => {
      if (this.waiter === undefined) this.waiter = resolve;
      else (this.moreWaiters ??= []).push(resolve);
    });
  }

  takeReady(max: number): Delivery[] {
    const out: Delivery[] = [];
    if (this.phase.name === 'closed' || this.waiter !== undefined) return out;
    while (out.length < max) {
      const item = this.take();
      if (item === undefined) break;
      out.push(item);
    }
    return out;
  }

  waitReady(): Promise<void> {
    if (this.phase.name === 'closed' || this.queue.length > 0 || this.conflated !== undefined) return READY;
    return new Promise((resolve) => (this.wake = resolve));
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private shiftWaiter(): Waiter | undefined {
    const first = this.waiter;
    this.waiter = this.moreWaiters?.shift();
    if (this.moreWaiters?.length === 0) this.moreWaiters = undefined;
    return first;
  }

  return(): Promise<IteratorResult<Delivery>> {
    this.finish();
    return Promise.resolve({ done: true, value: undefined });
  }

  throw(error?: unknown): Promise<IteratorResult<Delivery>> {
    this.finish();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Delivery> {
    return this;
  }

  /** Ends the iterator and leaves the hub. Idempotent. */
  finish(): void {
    if (this.phase.name === 'closed') return;
    this.phase = CLOSED;
    this.ended?.abort();
    this.queue.length = 0;
    this.conflated = undefined;
    this.ctx.detach(this);
    try {
      this.filter.release?.();
    } catch (err) {
      this.ctx.log.error({ subscriber: this.id, err }, 'subscription release threw');
    }
    for (let w = this.shiftWaiter(); w !== undefined; w = this.shiftWaiter()) w({ done: true, value: undefined });
    this.wakeUp();
  }

  private take(): Delivery | undefined {
    const item = takeNext(this);
    return item === undefined ? undefined : this.deliver(item);
  }

  private deliver(item: Pending): Delivery {
    switch (item.kind) {
      case 'change':
        this.cursor = this.ctx.feed.advance(this.cursor, item.event.position);
        try {
          this.ctx.onDelivered?.(Date.now() - item.event.committedAt);
        } catch (err) {
          this.ctx.log.error({ subscriber: this.id, err }, 'onDelivered threw'); // a metrics bug must not stop delivery
        }
        return { kind: 'change', event: item.event, cursor: this.cursor };
      case 'resync':
        this.cursor = item.cursor;
        return { kind: 'resync', cursor: item.cursor, reason: item.reason };
      default:
        return unreachable(item);
    }
  }
}
