/**
 * Lookup sets for subscriptions: the {@link LookupSets} a subscription's row test
 * (src/permissions/compile.ts `rowTest`) asks when its permission reads another view, e.g. a rider
 * reading driver_stats rows of "the drivers of my trips" (`driver_id IN (SELECT driver_id FROM
 * trip_history WHERE rider_id = <sub>)`).
 *
 * - A set is loaded by one query on the lookup view when a subscription starts ({@link LookupHub.acquire}),
 *   then kept fresh from that view's changes in the engine's change feed, and dropped when the last
 *   subscription holding it releases it. Sets are shared (ref-counted) by subscriptions with the same
 *   lookup and the same claim values.
 * - Each set remembers which lookup-view row (by key) contributed which value, so an update that
 *   moves a row out of the set, or a delete, removes exactly that row's contribution.
 * - Changes that arrive while a set loads are buffered and applied after the query, in feed order:
 *   each row's contribution ends as its latest change says, whether or not the query saw it.
 * - Bounded: at most `maxRows` contributing rows per set (a larger set refuses the subscription
 *   with TOO_MANY_REQUESTS; one that grows past it afterwards fails closed: it matches nothing, with
 *   one warning) and at most `maxSets` sets at once.
 * - Ordering: subscribe the hub through {@link LookupHub.feedThrough}, so a batch of changes updates
 *   the sets before the hub routes that same batch (a reassigned trip removes the old driver before
 *   that driver's next change is judged).
 * Transport-free like the hub: no graphql or engine implementation imports.
 */
import type { Viewer } from '../auth/viewer';
import type { ChangeEvent, ChangeFeed, ChangeListener, Engine } from '../engine/types';
import { errors } from '../errors';
import { wholeOption } from '../config/env';
import { silentLogger, type Logger } from '../log';
import { lookupWhereTest, predicateSqlLiteral, viewOf, type LookupPredicate, type LookupSets } from '../permissions/compile';
import { ident } from '../permissions/sqlText';
import { normalizeValue } from '../views/normalize';
import type { ColumnType, Predicate, Registry, Row, ViewModel } from '../views/model';

/** Tuning of {@link LookupHub}. */
export interface LookupHubOptions {
  /** Rows of the lookup view one set may hold. @default 10_000 */
  maxRows?: number;
  /** Sets held at once, over all subscriptions. @default 10_000 */
  maxSets?: number;
  /** Root logger; logs under `subscriptions.lookups` (never claim values). @default silentLogger */
  log?: Logger;
}

/**
 * The sets one subscription holds (a {@link LookupSets} for `rowTest`); `release` when it ends
 * (idempotent; pass it as the hub filter's `release`). A lookup it does not hold matches nothing.
 */
export interface HeldLookups extends LookupSets {
  release(): void;
}

/** What a predicate without lookups holds: no set (a row test that asks anyway matches nothing). */
const HOLDS_NOTHING: HeldLookups = Object.freeze({ has: () => false, release: () => undefined });

interface LookupSet {
  readonly key: string;
  readonly view: ViewModel;
  readonly select: string;
  readonly test: (row: Row) => boolean;
  /** Row key → the value that row puts in the set. */
  readonly contributions: Map<string, string>;
  /** Value → how many rows contribute it. */
  readonly counts: Map<string, number>;
  refs: number;
  /** Changes seen while the set loads (applied after the query), or undefined once loaded. */
  pending: ChangeEvent[] | undefined;
  ready: Promise<void>;
  /** Grew past maxRows: matches nothing from then on. */
  overflowed: boolean;
}

/** Every lookup inside `p`. */
function lookupsIn(p: Predicate, out: LookupPredicate[] = []): LookupPredicate[] {
  switch (p.kind) {
    case 'all':
    case 'none':
    case 'eq':
    case 'in':
      return out;
    case 'lookup':
      out.push(p);
      return out;
    case 'and':
    case 'or':
      for (const q of p.of) lookupsIn(q, out);
      return out;
    default: {
      const never: never = p;
      throw new Error(`unknown predicate ${JSON.stringify(never)}`);
    }
  }
}

/** A key value in the normalised form the feed uses. */
function keyValue(type: ColumnType, v: unknown): string | number | boolean | null {
  if (type === 'bool') return v === null || v === undefined ? null : v === true || v === 't' || v === 'true';
  return normalizeValue(type, v);
}

/** Holds the lookup sets of the running subscriptions (see the file comment). */
export class LookupHub {
  private readonly sets = new Map<string, LookupSet>();
  private readonly byView = new Map<string, Set<LookupSet>>();
  private readonly maxRows: number;
  private readonly maxSets: number;
  private readonly log: Logger;
  private upstream: (() => void) | undefined;
  private lastBatch: readonly ChangeEvent[] | undefined;

  constructor(private readonly engine: Pick<Engine, 'query' | 'feed'>, private readonly registry: Registry, options: LookupHubOptions = {}) {
    this.maxRows = wholeOption('maxRows', options.maxRows, 10_000, 1);
    this.maxSets = wholeOption('maxSets', options.maxSets, 10_000, 1);
    this.log = (options.log ?? silentLogger).child('subscriptions.lookups');
  }

  /** Sets held now (for tests and gauges). */
  get size(): number {
    return this.sets.size;
  }

  /**
   * `feed` with every batch shown to the lookup sets before the listener sees it: give this to the
   * subscription hub, so sets change before the rows they guard are judged.
   */
  feedThrough(feed: ChangeFeed): ChangeFeed {
    return new Proxy(feed, {
      get: (target, prop, receiver) => {
        if (prop === 'subscribe') {
          return (listener: ChangeListener) => target.subscribe((batch) => {
            this.observe(batch);
            listener(batch);
          });
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /**
   * Loads (or shares) the sets the lookups of `p` need for `viewer`. Rejects with TOO_MANY_REQUESTS
   * when a set is over `maxRows` or `maxSets` are held; nothing stays held then.
   */
  async acquire(p: Predicate, viewer: Viewer): Promise<HeldLookups> {
    const lookups = lookupsIn(p);
    if (lookups.length === 0) return HOLDS_NOTHING; // most subscriptions: nothing to load, nothing per subscription
    const held: LookupSet[] = [];
    const mine = new Map<LookupPredicate, LookupSet>();
    const release = () => {
      mine.clear();
      for (const s of held.splice(0)) this.unref(s);
    };
    try {
      for (const lookup of lookups) {
        const set = this.ref(lookup, viewer);
        held.push(set);
        mine.set(lookup, set);
        await set.ready;
      }
    } catch (err) {
      release();
      throw err;
    }
    const ready = (set: LookupSet | undefined): set is LookupSet => set !== undefined && set.pending === undefined && !set.overflowed;
    return {
      // Fast path: the lookup and viewer objects the row test was compiled from. Otherwise by the
      // set's identity (lookup + claim values); a set this subscription does not hold matches nothing.
      has: (lookup, v, value) => {
        let set = v === viewer ? mine.get(lookup) : undefined;
        if (set === undefined) {
          const key = this.keyOf(lookup, v);
          set = held.find((s) => s.key === key);
        }
        return ready(set) && set.counts.has(value);
      },
      release,
    };
  }

  /** Drops every set and the feed subscription. */
  close(): void {
    this.sets.clear();
    this.byView.clear();
    this.detach();
  }

  /** A set's identity: the lookup and its where with the viewer's claims as literals. */
  private keyOf(p: LookupPredicate, viewer: Viewer): string {
    return JSON.stringify([p.view, p.select, predicateSqlLiteral(p.where, viewer, this.registry) ?? null]);
  }

  private ref(p: LookupPredicate, viewer: Viewer): LookupSet {
    const key = this.keyOf(p, viewer);
    const existing = this.sets.get(key);
    if (existing !== undefined) {
      existing.refs++;
      return existing;
    }
    if (this.sets.size >= this.maxSets) throw errors.tooMany('Too many permission lookups are held; retry later', 'maxLookupSets', this.maxSets);
    const view = viewOf(this.registry, p.view);
    const set: LookupSet = {
      key, view, select: p.select, test: lookupWhereTest(p, viewer), contributions: new Map(), counts: new Map(),
      refs: 1, pending: [], ready: Promise.resolve(), overflowed: false,
    };
    this.sets.set(key, set);
    let forView = this.byView.get(view.name);
    if (forView === undefined) this.byView.set(view.name, (forView = new Set()));
    forView.add(set);
    this.attach();
    set.ready = this.load(set, p, viewer);
    // A failed load is reported to the acquirer (ready rejects); the set is dropped by its unref.
    set.ready.catch(() => undefined);
    return set;
  }

  private unref(set: LookupSet): void {
    if (--set.refs > 0) return;
    if (this.sets.get(set.key) !== set) return;
    this.sets.delete(set.key);
    const forView = this.byView.get(set.view.name);
    forView?.delete(set);
    if (forView?.size === 0) this.byView.delete(set.view.name);
    if (this.sets.size === 0) this.detach();
  }

  private async load(set: LookupSet, p: LookupPredicate, viewer: Viewer): Promise<void> {
    const where = predicateSqlLiteral(p.where, viewer, this.registry);
    const cols = [...new Set([...set.view.key, set.select])];
    const sql = `SELECT ${cols.map(ident).join(', ')} FROM ${ident(set.view.name)}${where === undefined ? '' : ` WHERE ${where}`} LIMIT ${this.maxRows + 1}`;
    const rows = await this.engine.query<Record<string, unknown>>(sql);
    if (rows.length > this.maxRows) {
      throw errors.tooMany(`A permission lookup through ${set.view.name} holds more than ${this.maxRows} rows`, 'maxLookupRows', this.maxRows);
    }
    for (const raw of rows) {
      const value = raw[set.select];
      if (typeof value === 'string') this.add(set, this.rowKey(set.view, raw), value);
    }
    const pending = set.pending ?? [];
    set.pending = undefined;
    for (const ev of pending) this.apply(set, ev);
  }

  private attach(): void {
    this.upstream ??= this.engine.feed.subscribe((batch) => this.observe(batch));
  }

  private detach(): void {
    const unsubscribe = this.upstream;
    this.upstream = undefined;
    unsubscribe?.();
  }

  /** Applies a batch once (it may come both through feedThrough and the own subscription). */
  private observe(batch: readonly ChangeEvent[]): void {
    if (batch === this.lastBatch) return;
    this.lastBatch = batch;
    for (const ev of batch) {
      const sets = this.byView.get(ev.view);
      if (sets === undefined) continue;
      for (const set of sets) {
        if (set.pending === undefined) {
          this.apply(set, ev);
        } else if (set.pending.length < this.maxRows) {
          set.pending.push(ev);
        } else if (!set.overflowed) {
          set.overflowed = true;
          this.log.warn({ view: set.view.name, maxRows: this.maxRows }, 'lookup set overflowed while loading: it matches nothing until released');
        }
      }
    }
  }

  private rowKey(view: ViewModel, row: Readonly<Record<string, unknown>>): string {
    return JSON.stringify(view.key.map((k) => keyValue(view.columns.find((c) => c.name === k)?.type ?? 'text', row[k])));
  }

  /** A change's effect: the row's previous contribution goes, its new one (if it passes) comes. */
  private apply(set: LookupSet, ev: ChangeEvent): void {
    const key = this.rowKey(set.view, ev.key);
    const before = set.contributions.get(key);
    if (before !== undefined) {
      set.contributions.delete(key);
      const n = (set.counts.get(before) ?? 1) - 1;
      if (n <= 0) set.counts.delete(before);
      else set.counts.set(before, n);
    }
    const row = ev.op === 'delete' ? null : ev.row;
    if (row === null || !set.test(row)) return;
    const value = row[set.select];
    if (typeof value === 'string') this.add(set, key, value);
  }

  private add(set: LookupSet, key: string, value: string): void {
    if (set.contributions.has(key)) return;
    if (set.contributions.size >= this.maxRows) {
      if (!set.overflowed) {
        set.overflowed = true;
        this.log.warn({ view: set.view.name, maxRows: this.maxRows }, 'lookup set over its row cap: it matches nothing until released');
      }
      return;
    }
    set.contributions.set(key, value);
    set.counts.set(value, (set.counts.get(value) ?? 0) + 1);
  }
}
