/**
 * Fan-out of one {@link ChangeFeed} to many subscribers, each an async iterator of {@link Delivery}.
 * Transport-free: no graphql or graphql-ws, no I/O; it knows the engine only through the ChangeFeed
 * interface (engine/types.ts), so unit tests drive it with a fake feed.
 *
 * - One upstream `feed.subscribe` per hub, taken on the first subscriber and released with the last
 *   (ref-counted, as graphql-yoga's redis event target holds one Redis subscription per topic).
 * - Routing is indexed per view: key/indexed column -> value -> subscribers, plus "all rows".
 * - Per subscriber, deliveries follow feed order; a slow consumer is conflated to the latest change
 *   per key, then told to resync: memory per subscriber is bounded and nothing is dropped silently.
 * - A subscriber's cursor covers what it has been handed, not the whole feed: changes it does not
 *   match do not advance it, because resuming from it replays and filters again.
 * - Resumes read the feed in pages with the filter pushed down, and are capped (replay.ts).
 * The subscriber itself (queue, conflation, resync) is subscriber.ts.
 */
import { filterValues } from '../engine/changeFilter';
import type { ChangeEvent, ChangeFeed, ChangeFilter } from '../engine/types';
import { GatewayError, GatewayErrorCode, errors } from '../errors';
import { wholeOption } from '../config/env';
import { silentLogger, type Logger } from '../log';
import { observeLegSince } from '../legs';
import { findView } from '../views/find';
import { bundledRegistry } from '../views/load';
import type { Registry, Row, ViewModel } from '../views/model';
import { ReplaySlots, replayInto, type ReplayCaps, type SubscribeScope } from './replay';
import { Subscriber, type Delivery, type DeliveryIterator, type SubscriberCtx, type SubscriptionFilter } from './subscriber';

export type { Delivery, DeliveryIterator, SubscriptionFilter } from './subscriber';
export type { SubscribeScope } from './replay';

/** Hub tuning (see `SubscriptionsConfig`). */
export interface HubOptions extends ReplayCaps {
  /** Deliveries buffered per subscriber before conflation to latest-per-key. @default 1000 */
  queueLimit?: number;
  /** Distinct keys held while conflating before the subscriber gets a resync. @default 10000 */
  conflateLimit?: number;
  /** Changes per replay page when a subscriber resumes from a cursor. @default 500 */
  replayPageSize?: number;
  /** The views subscriptions may name (the engine's, `engine.views`). @default bundledRegistry() */
  views?: Registry;
  /** Root logger; the hub logs under `subscriptions.hub`. @default silentLogger */
  log?: Logger;
  /** Called with (Date.now() - event.committedAt) each time a change is handed to a subscriber's consumer. */
  onDelivered?: (latencyMs: number) => void;
}

interface ViewIndex {
  readonly all: Set<Subscriber>;
  readonly byColumn: Map<string, Map<string, Set<Subscriber>>>;
}

function unreachable(x: never): never {
  throw new Error(`unreachable: ${JSON.stringify(x)}`);
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

/** Checks a filter against the registry; returns its view. */
function validate(views: Registry, filter: SubscriptionFilter): ViewModel {
  const view = findView(views, filter.view);
  if (view === undefined) throw errors.badInput(`unknown view: ${String(filter.view)}`);
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
  private readonly ctx: SubscriberCtx;
  private readonly replaySlots: ReplaySlots;
  private readonly replayPageSize: number;
  private readonly subs = new Set<Subscriber>();
  private readonly indexes = new Map<string, ViewIndex>();
  private readonly views: Registry;
  private upstream: (() => void) | undefined;
  private lastId = 0;
  private closed = false;
  /** Client subscriptions served by another subscriber (a shared execution's members beyond its first). */
  private shared = 0;
  /** What transports hold for slow clients besides the subscribers' queues (the shared fan-out's backlogs). */
  private readonly bufferedSources = new Set<() => { readonly total: number; readonly max: number }>();

  constructor(private readonly feed: ChangeFeed, options: HubOptions = {}) {
    this.ctx = {
      feed,
      queueLimit: wholeOption('queueLimit', options.queueLimit, 1000, 1),
      conflateLimit: wholeOption('conflateLimit', options.conflateLimit, 10_000, 1),
      log: (options.log ?? silentLogger).child('subscriptions.hub'),
      onDelivered: options.onDelivered,
      detach: (sub) => this.detach(sub),
    };
    this.views = options.views ?? bundledRegistry();
    this.replaySlots = new ReplaySlots(options);
    this.replayPageSize = wholeOption('replayPageSize', options.replayPageSize, 500, 1);
  }

  /**
   * Rejects with GatewayError CURSOR_EXPIRED (from feed.replay), BAD_USER_INPUT for a column that
   * is neither the key nor indexed, TOO_MANY_REQUESTS when a resume is over a replay cap for `scope`.
   */
  async subscribe(filter: SubscriptionFilter, scope?: SubscribeScope): Promise<DeliveryIterator> {
    let view: ViewModel;
    let releaseSlot: (() => void) | undefined;
    try {
      if (this.closed) {
        throw new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, 'subscriptions are shutting down', { retriable: true });
      }
      view = validate(this.views, filter);
      releaseSlot = filter.after !== undefined ? this.replaySlots.acquire(scope) : undefined;
    } catch (err) {
      filter.release?.(); // no subscriber was made: its finish() will not release
      throw err;
    }
    const sub = new Subscriber(++this.lastId, filter, view, filter.after ?? this.feed.head(), this.ctx);
    // Registered before replaying, so changes delivered during the replay are buffered, not lost.
    this.attach(sub);
    if (filter.after !== undefined) {
      try {
        await this.resume(sub, filter.after);
      } catch (err) {
        sub.finish();
        throw err;
      } finally {
        releaseSlot?.();
      }
    }
    return sub;
  }

  /** Resumes (replays) running now. */
  get replaying(): number {
    return this.replaySlots.running;
  }

  /** Active subscriptions (for the metrics gauge): hub subscribers plus the client subscriptions sharing them. */
  get size(): number {
    return this.subs.size + this.shared;
  }

  /** Hub subscribers (a shared execution holds one for all its client subscriptions). */
  get subscriberCount(): number {
    return this.subs.size;
  }

  /**
   * Counts `delta` client subscriptions that share an existing subscriber (the transport's shared
   * fan-out: N members of one group hold one subscriber and count N - 1 here).
   */
  countShared(delta: number): void {
    this.shared = Math.max(0, this.shared + delta);
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
    for (const source of this.bufferedSources) {
      const b = source();
      total += b.total;
      if (b.max > max) max = b.max;
    }
    return { total, max };
  }

  /** Adds what a transport buffers for slow clients to {@link buffered}; returns its removal. */
  addBufferedSource(source: () => { readonly total: number; readonly max: number }): () => void {
    this.bufferedSources.add(source);
    return () => void this.bufferedSources.delete(source);
  }

  /** Ends every iterator (return()) and unsubscribes from the feed. */
  close(): void {
    this.closed = true;
    for (const sub of [...this.subs]) sub.finish();
    this.release();
  }

  private resume(sub: Subscriber, after: string): Promise<void> {
    const { column, value } = sub.filter;
    const filter: ChangeFilter | undefined = column !== undefined && value !== undefined ? { column, value } : undefined;
    return replayInto(this.feed, { sub, filter, pageSize: this.replayPageSize, wants: (ev) => this.matches(sub, ev) && this.allowed(sub, ev) }, after);
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
      const t0 = performance.now();
      for (const ev of batch) this.route(ev);
      observeLegSince('hub', t0);
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
      for (const value of filterValues(ev, column)) {
        const set = byValue.get(value);
        if (set !== undefined) for (const sub of set) this.offer(sub, ev);
      }
    }
  }

  private offer(sub: Subscriber, ev: ChangeEvent): void {
    if (!this.allowed(sub, ev)) return;
    switch (sub.phase.name) {
      case 'replaying':
        sub.hold(ev);
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
    return column === undefined || value === undefined || filterValues(ev, column).includes(value);
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
