/**
 * From hub deliveries to subscription payloads. The mapping iterator forwards `return()` straight
 * to the hub's iterator: an async generator could not, because its `return()` waits behind a
 * pending `next()`, so an unsubscribed client would stay registered until the next change.
 */
import type { ChangeEvent } from '../engine/types';
import type { Delivery, DeliveryIterator } from '../subscriptions/hub';
import type { Row } from '../views/model';
import { encodeFeedCursor } from './cursors';

/** What happened to a row (the `ChangeKind` enum of every change type). RESYNC: the subscriber fell behind; re-query, live changes follow. */
export enum ChangeKind {
  INSERT = 'INSERT',
  UPDATE = 'UPDATE',
  DELETE = 'DELETE',
  RESYNC = 'RESYNC',
}

/**
 * Maps each value of `source` with `fn` (awaited when it returns a promise), forwarding return/throw.
 * A class (methods on its prototype), not an object of closures: every live subscription holds one.
 */
export class MappedIterator<T, U, S extends AsyncIterator<T> = AsyncIterator<T>> implements AsyncIterableIterator<U> {
  constructor(protected readonly source: S, protected readonly fn: (value: T) => U | Promise<U>) {}

  next(): Promise<IteratorResult<U>> {
    return this.source.next().then((r) => this.map(r));
  }

  private async map(r: IteratorResult<T>): Promise<IteratorResult<U>> {
    return r.done === true ? { done: true, value: undefined } : { done: false, value: await this.fn(r.value) };
  }

  async return(): Promise<IteratorResult<U>> {
    await this.source.return?.();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<U>> {
    await this.source.return?.();
    throw error;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<U> {
    return this;
  }
}

/** Maps each value of `source` with `fn` (see {@link MappedIterator}). */
export function mapAsyncIterator<T, U>(source: AsyncIterator<T>, fn: (value: T) => U | Promise<U>): AsyncIterableIterator<U> {
  return new MappedIterator(source, fn);
}

/** A delivery in view-neutral form: kind, key, row after the change, and the opaque cursor. */
export interface ChangeView {
  readonly kind: ChangeKind;
  readonly key: Row | null;
  readonly row: Row | null;
  readonly cursor: string;
}

const KIND: { readonly [Op in ChangeEvent['op']]: ChangeKind } = {
  insert: ChangeKind.INSERT,
  update: ChangeKind.UPDATE,
  delete: ChangeKind.DELETE,
};

/** Converts a hub delivery, encoding its cursor for `feedId`. */
export function changeView(feedId: string, d: Delivery): ChangeView {
  const cursor = encodeFeedCursor(feedId, d.cursor);
  if (d.kind === 'resync') return { kind: ChangeKind.RESYNC, key: null, row: null, cursor };
  return { kind: KIND[d.event.op], key: d.event.key, row: d.event.op === 'delete' ? null : d.event.row, cursor };
}

/**
 * A method of the stream a generated subscription resolver returns ({@link DeliveryStream}): the root value of a RESYNC
 * event covering everything the iterator has handed out so far (its latest cursor), with `reason`.
 * The shared fan-out (websocket.ts) executes it for one slow member of a group.
 */
export const RESYNC_ROOT: unique symbol = Symbol('wavegate.resyncRoot');
/** Set by a generated subscription resolver on each root value it yields: the changed row's key (keyString), for conflation. */
export const CHANGE_KEY: unique symbol = Symbol('wavegate.changeKey');

/**
 * A method of the stream a generated subscription resolver returns ({@link DeliveryStream}): up to `max` root values that
 * are ready now, taken synchronously (what the next `next()` calls would give, in order), so the
 * shared fan-out can execute a run of changes together and write them to each socket at once.
 */
export const TAKE_READY: unique symbol = Symbol('wavegate.takeReady');

/**
 * A method of the stream a generated subscription resolver returns ({@link DeliveryStream}): resolves,
 * with nothing, once {@link TAKE_READY} has something to give or the stream has ended (then it
 * gives nothing). The shared fan-out waits with it instead of `next()`, so that a change never
 * travels through a promise that waited long enough to be in the old generation (see
 * subscriptions/subscriber.ts `waitReady`).
 */
export const WAIT_READY: unique symbol = Symbol('wavegate.waitReady');

/** A subscription's event stream as the generated resolvers return it. */
export interface ChangeStream extends AsyncIterableIterator<Record<string, unknown>> {
  [RESYNC_ROOT](reason: string): Record<string, unknown>;
  [TAKE_READY](max: number): Array<Record<string, unknown>>;
  [WAIT_READY](): Promise<void>;
}

/** True when `stream` (a subscription field's source stream) is a {@link ChangeStream}, as every generated one is. */
export function isChangeStream(stream: AsyncIterable<unknown>): stream is ChangeStream {
  const s = stream as Partial<Record<typeof RESYNC_ROOT | typeof TAKE_READY | typeof WAIT_READY, unknown>>;
  return typeof s[RESYNC_ROOT] === 'function' && typeof s[TAKE_READY] === 'function' && typeof s[WAIT_READY] === 'function';
}

/**
 * The stream a generated subscription resolver returns: the hub's deliveries mapped to root values
 * by `toRoot`, with {@link RESYNC_ROOT} (`resync`), {@link TAKE_READY} and {@link WAIT_READY} as methods.
 */
export class DeliveryStream extends MappedIterator<Delivery, Record<string, unknown>, DeliveryIterator> implements ChangeStream {
  constructor(
    deliveries: DeliveryIterator,
    toRoot: (d: Delivery) => Record<string, unknown>,
    private readonly resync: (reason: string) => Record<string, unknown>,
  ) {
    super(deliveries, toRoot);
  }

  [RESYNC_ROOT](reason: string): Record<string, unknown> {
    return this.resync(reason);
  }

  [TAKE_READY](max: number): Array<Record<string, unknown>> {
    // `fn` is the resolver's toRoot, which is synchronous (the constructor's parameter type).
    return this.source.takeReady(max).map((d) => this.fn(d) as Record<string, unknown>);
  }

  [WAIT_READY](): Promise<void> {
    return this.source.waitReady();
  }
}
