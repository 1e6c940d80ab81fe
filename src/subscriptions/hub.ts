/**
 * Fan-out of one {@link ChangeFeed} to many subscribers, each an async iterator of {@link Delivery}.
 * Transport-free: no graphql, graphql-ws or engine imports, no I/O (STYLE.md practice 1).
 *
 * - One upstream `feed.subscribe` per hub, taken on the first subscriber and released with the last
 *   (practice 13).
 * - Routing is indexed per view: key/indexed column -> value -> subscribers, plus "all rows".
 * - Per subscriber, deliveries follow feed order; a slow consumer is conflated to the latest change
 *   per key, then told to resync: memory per subscriber is bounded and nothing is dropped silently.
 * - A subscriber's cursor covers what it has been handed, not the whole feed: changes it does not
 *   match do not advance it, because resuming from it replays and filters again.
 */
import type { ChangeEvent, ChangeFeed, FeedPosition } from '../engine/types';
import { GatewayError, GatewayErrorCode, errors } from '../errors';
import { wholeOption } from '../config/env';
import { silentLogger, type Logger } from '../log';
import { keyString } from '../views/normalize';
import { VIEWS, type Row, type ViewDef, type ViewName } from '../views/registry';

/** What one subscriber wants: a view, an optional equality filter, its row policy and a resume cursor. */
export interface SubscriptionFilter {
  view: ViewName;
  /** Equality filter on one column: a key column (single-column key) or one of view.indexed; omitted = every row of the view. */
  column?: string;
  value?: string;
  /** Row policy, evaluated on every row (and on `old` for deletes) before it is queued: defence in depth on top of the filter. */
  allow: (row: Row) => boolean;
  /** Resume: deliver every change after this feed cursor, then live ones, with no gap and no duplicate. */
  after?: FeedPosition;
}

/** One item handed to a subscriber. */
export type Delivery =
  /** `cursor` = `feed.advance(previous cursor, event.position)`. */
  | { kind: 'change'; event: ChangeEvent; cursor: FeedPosition }
  /** The client must re-query; live changes continue after it. */
  | { kind: 'resync'; cursor: FeedPosition; reason: string };

/** Hub tuning (see `SubscriptionsConfig`). */
export interface HubOptions {
  /** Deliveries buffered per subscriber before conflation to latest-per-key. @default 1000 */
  queueLimit?: number;
  /** Distinct keys held while conflating before the subscriber gets a resync. @default 10000 */
  conflateLimit?: number;
  /** Root logger; the hub logs under `subscriptions.hub`. @default silentLogger */
  log?: Logger;
  /** Called with (Date.now() - event.committedAt) each time a change is handed to a subscriber's consumer. */
  onDelivered?: (latencyMs: number) => void;
}

type Pending = { kind: 'change'; event: ChangeEvent } | { kind: 'resync'; cursor: FeedPosition; reason: string };

/** Lifecycle of a subscriber; while replaying, live changes wait in `live` until the replay is queued. */
type Phase = { name: 'replaying'; live: ChangeEvent[] } | { name: 'live' } | { name: 'closed' };

interface Ctx {
  readonly feed: ChangeFeed;
  readonly queueLimit: number;
  readonly conflateLimit: number;
  readonly log: Logger;
  readonly onDelivered: ((latencyMs: number) => void) | undefined;
  detach(sub: Subscriber): void;
}

interface ViewIndex {
  readonly all: Set<Subscriber>;
  readonly byColumn: Map<string, Map<string, Set<Subscriber>>>;
}

function unreachable(x: never): never {
  throw new Error(`unreachable: ${JSON.stringify(x)}`);
}

/**
 * Distinct values `column` takes in the change: from the key, the new row and the old row, so a row
 * that moves between values (or is deleted) reaches subscribers of both. NULL matches no filter.
 */
function candidates(ev: ChangeEvent, column: string): string[] {
  const out: string[] = [];
  for (const source of [ev.key, ev.row, ev.old]) {
    const v = source?.[column];
    if (v === null || v === undefined) continue;
    const s = String(v);
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

/** The row the policy judges: the new row, or for deletes what is known of the old one (deny-safe). */
function policyRow(ev: ChangeEvent): Row {
  switch (ev.op) {
    case 'insert':
    case 'update':
      return ev.row ?? ev.key;
    case 'delete':
      return ev.old ?? ev.key;
    default:
      return unreachable(ev.op);
  }
}

/** One subscription: a bounded queue between the feed (push) and its consumer (pull). */
class Subscriber implements AsyncIterableIterator<Delivery> {
  phase: Phase;
  /** Covers everything handed to the consumer. */
  private cursor: FeedPosition;
  /** Covers everything accepted (handed or queued); a resync carries it. */
  private tail: FeedPosition;
  private readonly queue: Pending[] = [];
  /** Present while conflating. Re-inserted on each change so its order is feed order of the latest changes. */
  private conflated: Map<string, ChangeEvent> | undefined;
  /** Invariant: non-empty only while queue and conflated are empty. */
  private readonly waiters: Array<(r: IteratorResult<Delivery>) => void> = [];

  constructor(
    readonly id: number,
    readonly filter: SubscriptionFilter,
    readonly view: ViewDef,
    start: FeedPosition,
    private readonly ctx: Ctx,
  ) {
    this.cursor = start;
    this.tail = start;
    this.phase = filter.after === undefined ? { name: 'live' } : { name: 'replaying', live: [] };
  }

  /** Deliveries waiting for the consumer: queued plus conflated (at most queueLimit + conflateLimit). */
  get buffered(): number {
    return this.queue.length + (this.conflated?.size ?? 0);
  }

  /** Queues a change that passed filter and policy. */
  accept(ev: ChangeEvent): void {
    const { feed, queueLimit, conflateLimit, log } = this.ctx;
    this.tail = feed.advance(this.tail, ev.position);
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter({ done: false, value: this.deliver({ kind: 'change', event: ev }) });
      return;
    }
    if (this.conflated === undefined && this.queue.length < queueLimit) {
      this.queue.push({ kind: 'change', event: ev });
      return;
    }
    this.conflated ??= new Map();
    const key = keyString(this.view, ev.key);
    // Delete first so the entry moves to the end: delivered positions stay increasing, so the cursor
    // never covers a change that is still waiting behind it.
    this.conflated.delete(key);
    this.conflated.set(key, ev);
    if (this.conflated.size > conflateLimit) {
      this.conflated = undefined;
      this.queue.length = 0;
      this.queue.push({ kind: 'resync', cursor: this.tail, reason: 'subscriber fell too far behind; re-query' });
      log.warn({ subscriber: this.id, view: this.view.name, conflateLimit }, 'slow subscriber: buffer dropped, resync queued');
    }
  }

  next(): Promise<IteratorResult<Delivery>> {
    if (this.phase.name === 'closed') return Promise.resolve({ done: true, value: undefined });
    const item = this.take();
    if (item !== undefined) return Promise.resolve({ done: false, value: item });
    return new Promise((resolve) => this.waiters.push(resolve));
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
    this.phase = { name: 'closed' };
    this.queue.length = 0;
    this.conflated = undefined;
    this.ctx.detach(this);
    for (const w of this.waiters.splice(0)) w({ done: true, value: undefined });
  }

  private take(): Delivery | undefined {
    let item = this.queue.shift();
    if (item === undefined && this.conflated !== undefined) {
      const first = this.conflated.entries().next();
      if (first.done !== true) {
        this.conflated.delete(first.value[0]);
        item = { kind: 'change', event: first.value[1] };
      }
    }
    if (this.queue.length === 0 && this.conflated?.size === 0) this.conflated = undefined; // caught up
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

/** Checks a filter against the registry; returns its view. */
function validate(filter: SubscriptionFilter): ViewDef {
  if (!Object.hasOwn(VIEWS, filter.view)) throw errors.badInput(`unknown view: ${String(filter.view)}`);
  const view = VIEWS[filter.view];
  if (filter.column === undefined) {
    if (filter.value !== undefined) throw errors.badInput('a filter value needs a column');
    return view;
  }
  const filterable = [...(view.key.length === 1 ? view.key : []), ...view.indexed];
  if (!filterable.includes(filter.column)) {
    throw errors.badInput(`${view.name} cannot be filtered on ${filter.column}`, { column: filter.column, filterable });
  }
  if (filter.value === undefined) throw errors.badInput(`filter on ${filter.column} needs a value`);
  return view;
}

/** Fans one change feed out to filtered, policy-checked, resumable subscriber iterators. */
export class SubscriptionHub {
  private readonly ctx: Ctx;
  private readonly subs = new Set<Subscriber>();
  private readonly indexes = new Map<ViewName, ViewIndex>();
  private upstream: (() => void) | undefined;
  private lastId = 0;
  private closed = false;

  constructor(private readonly feed: ChangeFeed, options: HubOptions = {}) {
    this.ctx = {
      feed,
      queueLimit: wholeOption('queueLimit', options.queueLimit, 1000, 1),
      conflateLimit: wholeOption('conflateLimit', options.conflateLimit, 10_000, 1),
      log: (options.log ?? silentLogger).child('subscriptions.hub'),
      onDelivered: options.onDelivered,
      detach: (sub) => this.detach(sub),
    };
  }

  /** Rejects with GatewayError CURSOR_EXPIRED (from feed.replay) or BAD_USER_INPUT for a column that is neither the key nor indexed. */
  async subscribe(filter: SubscriptionFilter): Promise<AsyncIterableIterator<Delivery>> {
    if (this.closed) {
      throw new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, 'subscriptions are shutting down', { retriable: true });
    }
    const view = validate(filter);
    const sub = new Subscriber(++this.lastId, filter, view, filter.after ?? this.feed.head(), this.ctx);
    // Registered before replaying, so changes delivered during the replay are buffered, not lost.
    this.attach(sub);
    if (filter.after !== undefined) {
      try {
        await this.resume(sub, filter.after);
      } catch (err) {
        sub.finish();
        throw err;
      }
    }
    return sub;
  }

  /** Active subscriptions (for the metrics gauge). */
  get size(): number {
    return this.subs.size;
  }

  /**
   * Deliveries waiting for their consumers (queued or conflated), over all subscribers and for the
   * most backed-up one: what slow clients hold in memory (for the metrics gauges). O(subscribers).
   */
  get buffered(): { readonly total: number; readonly max: number } {
    let total = 0;
    let max = 0;
    for (const sub of this.subs) {
      const n = sub.buffered;
      total += n;
      if (n > max) max = n;
    }
    return { total, max };
  }

  /** Ends every iterator (return()) and unsubscribes from the feed. */
  close(): void {
    this.closed = true;
    for (const sub of [...this.subs]) sub.finish();
    this.release();
  }

  private async resume(sub: Subscriber, after: FeedPosition): Promise<void> {
    const replayed = await this.feed.replay(sub.view.name, after);
    if (sub.phase.name !== 'replaying') return; // closed while replaying
    // `through` covers every replayed change, matching or not, so a live change the replay already
    // held is recognised whatever the filter said about it.
    let through = after;
    for (const ev of replayed) {
      if (!this.feed.isAfter(ev.position, after)) continue;
      through = this.feed.advance(through, ev.position);
      if (this.matches(sub, ev) && this.allowed(sub, ev)) sub.accept(ev);
    }
    const live = sub.phase.live;
    sub.phase = { name: 'live' };
    for (const ev of live) if (this.feed.isAfter(ev.position, through)) sub.accept(ev);
  }

  private attach(sub: Subscriber): void {
    this.subs.add(sub);
    let index = this.indexes.get(sub.view.name);
    if (index === undefined) this.indexes.set(sub.view.name, (index = { all: new Set(), byColumn: new Map() }));
    const { column, value } = sub.filter;
    if (column === undefined || value === undefined) {
      index.all.add(sub);
    } else {
      let byValue = index.byColumn.get(column);
      if (byValue === undefined) index.byColumn.set(column, (byValue = new Map()));
      let set = byValue.get(value);
      if (set === undefined) byValue.set(value, (set = new Set()));
      set.add(sub);
    }
    this.upstream ??= this.feed.subscribe((batch) => {
      for (const ev of batch) this.route(ev);
    });
  }

  private detach(sub: Subscriber): void {
    if (!this.subs.delete(sub)) return;
    const index = this.indexes.get(sub.view.name);
    const { column, value } = sub.filter;
    if (index !== undefined) {
      if (column === undefined || value === undefined) {
        index.all.delete(sub);
      } else {
        const byValue = index.byColumn.get(column);
        const set = byValue?.get(value);
        set?.delete(sub);
        if (set?.size === 0) byValue?.delete(value);
        if (byValue?.size === 0) index.byColumn.delete(column);
      }
      if (index.all.size === 0 && index.byColumn.size === 0) this.indexes.delete(sub.view.name);
    }
    if (this.subs.size === 0) this.release();
  }

  private release(): void {
    const unsubscribe = this.upstream;
    this.upstream = undefined;
    unsubscribe?.();
  }

  /** Each subscriber sits in exactly one set, and candidate values are distinct: at most one offer each. */
  private route(ev: ChangeEvent): void {
    const index = this.indexes.get(ev.view);
    if (index === undefined) return;
    for (const sub of index.all) this.offer(sub, ev);
    for (const [column, byValue] of index.byColumn) {
      for (const value of candidates(ev, column)) {
        const set = byValue.get(value);
        if (set !== undefined) for (const sub of set) this.offer(sub, ev);
      }
    }
  }

  private offer(sub: Subscriber, ev: ChangeEvent): void {
    if (!this.allowed(sub, ev)) return;
    switch (sub.phase.name) {
      case 'replaying':
        sub.phase.live.push(ev);
        return;
      case 'live':
        sub.accept(ev);
        return;
      case 'closed':
        return;
      default:
        unreachable(sub.phase);
    }
  }

  private matches(sub: Subscriber, ev: ChangeEvent): boolean {
    const { column, value } = sub.filter;
    if (ev.view !== sub.view.name) return false;
    return column === undefined || value === undefined || candidates(ev, column).includes(value);
  }

  private allowed(sub: Subscriber, ev: ChangeEvent): boolean {
    try {
      return sub.filter.allow(policyRow(ev));
    } catch (err) {
      this.ctx.log.error({ subscriber: sub.id, view: ev.view, position: ev.position, err }, 'row policy threw; change skipped for this subscriber');
      return false;
    }
  }
}
