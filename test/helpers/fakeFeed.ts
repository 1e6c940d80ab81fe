import { matchesFilter } from '../../src/engine/changeFilter';
import type { ChangeEvent, ChangeFeed, ChangeListener, FeedPosition, FeedStatus, ReplayRequest } from '../../src/engine/types';
import { GatewayError, GatewayErrorCode } from '../../src/errors';

/** A change as a test writes it: the fake assigns `position` (and `committedAt` unless given). */
export type ChangeInput = Omit<ChangeEvent, 'position' | 'committedAt'> & { committedAt?: number };

/**
 * When a held replay reads the log: `before` the gate opens (live changes emitted meanwhile reach only
 * listeners) or `after` (they are in the replay too, as well as at listeners).
 */
export type ReplaySnapshot = 'before' | 'after';

/**
 * In-memory {@link ChangeFeed} with integer positions ("1", "2", ...); a cursor is the last position it
 * covers ("0" = nothing). Keeps the last `retain` changes; replay of an older cursor rejects with
 * CURSOR_EXPIRED. Changes are delivered synchronously by {@link FakeFeed.emit}.
 */
export class FakeFeed implements ChangeFeed {
  readonly id = 'fake';
  /** feed.subscribe calls so far. */
  subscribeCalls = 0;
  /** Unsubscribe functions called so far. */
  unsubscribeCalls = 0;
  /** Every replay request, in order. */
  readonly replayRequests: ReplayRequest[] = [];
  /** The size of every replay page handed out, in order. */
  readonly pageSizes: number[] = [];
  private seq = 0;
  private readonly retained: ChangeEvent[] = [];
  private readonly listeners = new Set<ChangeListener>();
  private gate: { promise: Promise<void>; snapshot: ReplaySnapshot } | undefined;

  constructor(private readonly retain = Number.POSITIVE_INFINITY) {}

  /** Listeners registered now. */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Assigns positions, retains, and delivers the changes to every listener as one batch. */
  emit(inputs: readonly ChangeInput[]): ChangeEvent[] {
    const batch = inputs.map((c) => ({ ...c, committedAt: c.committedAt ?? Date.now(), position: String(++this.seq) }));
    this.retained.push(...batch);
    if (this.retained.length > this.retain) this.retained.splice(0, this.retained.length - this.retain);
    for (const l of [...this.listeners]) l(batch);
    return batch;
  }

  /** Makes the next replay wait until the returned function is called. */
  holdReplay(snapshot: ReplaySnapshot): () => void {
    let release!: () => void;
    this.gate = { promise: new Promise<void>((r) => (release = r)), snapshot };
    return release;
  }

  subscribe(listener: ChangeListener): () => void {
    this.subscribeCalls++;
    // Wrapped so the same function may be registered twice and each unsubscribe removes one.
    const entry: ChangeListener = (batch) => listener(batch);
    this.listeners.add(entry);
    return () => {
      this.unsubscribeCalls++;
      this.listeners.delete(entry);
    };
  }

  /** Pages of matching retained changes; a held replay (holdReplay) reads before or after its gate opens. */
  async *replay(request: ReplayRequest): AsyncGenerator<readonly ChangeEvent[]> {
    this.replayRequests.push(request);
    const { view, after: cursor, filter, pageSize } = request;
    const gate = this.gate;
    this.gate = undefined;
    const read = (): ChangeEvent[] => {
      const oldest = this.seq - this.retained.length; // the oldest cursor still covered
      if (Number(cursor) < oldest) {
        throw new GatewayError(GatewayErrorCode.CURSOR_EXPIRED, `cursor ${cursor} is older than ${oldest}`);
      }
      return this.retained.filter((e) => e.view === view && Number(e.position) > Number(cursor) && matchesFilter(e, filter));
    };
    let events: ChangeEvent[];
    if (gate === undefined) {
      events = read();
    } else if (gate.snapshot === 'before') {
      events = read();
      await gate.promise;
    } else {
      await gate.promise;
      events = read();
    }
    for (let i = 0; i < events.length; i += pageSize) {
      const page = events.slice(i, i + pageSize);
      this.pageSizes.push(page.length);
      yield page;
    }
  }

  isAfter(position: FeedPosition, cursor: FeedPosition): boolean {
    return Number(position) > Number(cursor);
  }

  advance(cursor: FeedPosition, position: FeedPosition): FeedPosition {
    return String(Math.max(Number(cursor), Number(position)));
  }

  head(): FeedPosition {
    return String(this.seq);
  }

  status(): FeedStatus {
    return { ready: true, lagMs: 0, pending: 0 };
  }
}

/** A trip_history change with the key and indexed columns set (`old` only when given). */
export function tripChange(
  op: ChangeEvent['op'],
  tripId: string,
  now: { rider_id?: string | null; driver_id?: string | null; status?: string } | null,
  old: { rider_id?: string | null; driver_id?: string | null } | null = null,
): ChangeInput {
  return {
    view: 'trip_history',
    op,
    key: { trip_id: tripId },
    row: now === null ? null : { trip_id: tripId, rider_id: null, driver_id: null, status: 'requested', ...now },
    old: old === null ? null : { trip_id: tripId, rider_id: null, driver_id: null, ...old },
  };
}
