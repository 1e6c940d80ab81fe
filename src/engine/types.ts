import type { Registry, Row } from '../views/model';

/** Kind of change to a view row. */
export type ChangeOp = 'insert' | 'update' | 'delete';

/**
 * A feed position: opaque outside the feed that made it. The embedded feed uses the change-log
 * sequence number; the Kafka feed uses partition offsets.
 */
export type FeedPosition = string;

/** One change to one view row, in the engine-neutral form every feed produces. */
export interface ChangeEvent {
  /** The view's name (one of the engine's {@link Engine.views}). */
  readonly view: string;
  readonly op: ChangeOp;
  /** The key columns of the row (normalised values). */
  readonly key: Row;
  /** The row after the change; null for deletes. */
  readonly row: Row | null;
  /**
   * Key and indexed columns of the row before the change, when the engine knows them
   * (the embedded engine always does for updates and deletes; Kafka upsert tombstones do not).
   */
  readonly old: Row | null;
  /** Where this change sits in its feed. */
  readonly position: FeedPosition;
  /** When the engine committed the change (ms since epoch), for lag and latency metrics. */
  readonly committedAt: number;
}

/** An equality filter on one column of a change: its key, new row or old row holds `value` there. */
export interface ChangeFilter {
  readonly column: string;
  readonly value: string;
}

/** What one replay reads (see {@link ChangeFeed.replay}). */
export interface ReplayRequest {
  readonly view: string;
  /** Changes after this cursor. */
  readonly after: FeedPosition;
  /** Only changes matching it (engine/changeFilter.ts), pushed into the read so others are never held. */
  readonly filter?: ChangeFilter;
  /** Most changes per page: what the replay holds in memory at once. */
  readonly pageSize: number;
  /** Aborted when nobody waits for the replay any more: reading stops (between pages at the latest). */
  readonly signal?: AbortSignal;
}

/** Listener for batches of changes, delivered in commit order. */
export type ChangeListener = (batch: readonly ChangeEvent[]) => void;

/** The change feed of an engine: every change to every published view, in commit order. */
export interface ChangeFeed {
  /** Identifies this feed's position space; cursors from another feed are refused. */
  readonly id: string;
  /** Registers for every change delivered from now on. Returns the unsubscribe function. */
  subscribe(listener: ChangeListener): () => void;
  /**
   * Pages of the changes of `request.view` after `request.after` that have already been delivered to
   * listeners, in feed order per key, each page at most `request.pageSize` changes, only those
   * matching `request.filter`. Reading happens as pages are taken, so memory stays at one page.
   * The first page rejects with CURSOR_EXPIRED when the cursor is older than the feed retains.
   */
  replay(request: ReplayRequest): AsyncIterable<readonly ChangeEvent[]>;
  /** Is the change at `position` after everything `cursor` covers? */
  isAfter(position: FeedPosition, cursor: FeedPosition): boolean;
  /** The cursor that covers `cursor` and the change at `position`. */
  advance(cursor: FeedPosition, position: FeedPosition): FeedPosition;
  /** The cursor covering every change delivered so far. */
  head(): FeedPosition;
  /** Feed health, for /readyz and /metrics. */
  status(): FeedStatus;
}

/** Feed health. */
export interface FeedStatus {
  readonly ready: boolean;
  /** ms between commit of the newest delivered change and its delivery. */
  readonly lagMs: number;
  /** Changes committed but not yet delivered. */
  readonly pending: number;
  /** Why the feed is not ready, when it can say (e.g. `Kafka feed is crashed`); shown by /readyz. */
  readonly detail?: string;
}

/** Per-query options of {@link Engine.query}. */
export interface QueryOptions {
  /**
   * The caller's deadline. Aborted before the statement starts: it is not started. Aborted while it
   * runs: an engine that can cancel a running statement cancels it (RisingWave: its session's
   * request or KILL), one that cannot (PGlite) lets it finish and discards the rows. Either way the query
   * rejects with `signal.reason` (the request's REQUEST_TIMEOUT).
   */
  readonly signal?: AbortSignal;
}

/** A statement running on an engine connection of its own, which can be stopped on the engine. */
export interface RunningStatement<R> {
  /** The rows, or the engine's error (a cancelled statement rejects). */
  readonly rows: Promise<R[]>;
  /** Asks the engine to stop the statement. Best effort: a failure is logged, never thrown. */
  cancel(): Promise<void>;
}

/** Rows read together with a feed cursor (see {@link Engine.snapshot}). */
export interface Snapshot<R> {
  /** Covers every change the feed had delivered when the read began; every change in it is in `rows`. */
  readonly cursor: FeedPosition;
  readonly rows: R[];
}

/** The engine behind the gateway: reads of the published views and their change feed. */
export interface Engine {
  readonly kind: 'embedded' | 'risingwave';
  /** The views it serves (from `config.views`): the hub, the SQL passthrough and GraphQL read them here. */
  readonly views: Registry;
  /** Runs a read-only statement over the published views; rows come back raw (see normalizeRow). */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<R[]>;
  /**
   * Runs a statement like {@link query}, such that `cancel()` stops it on the engine (the SQL
   * passthrough's timeout and CancelRequest). Absent on engines that cannot interrupt a running
   * statement (embedded: PGlite runs on this thread).
   */
  start?<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): RunningStatement<R>;
  /**
   * Reads `sql` together with a feed cursor such that every change the cursor covers is in the rows
   * (the snapshot-then-live handoff, docs/SUBSCRIPTIONS.md §3). Absent on engines whose reads see
   * every change their feed has delivered (embedded): there, `feed.head()` then `query` is enough.
   * Use `readWithFeedCursor` (src/engine/snapshot.ts), which picks.
   */
  snapshot?<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Snapshot<R>>;
  readonly feed: ChangeFeed;
  /** Can the engine serve reads now? */
  ready(): boolean;
  /** Releases connections and stops the feed. Idempotent. */
  close(): Promise<void>;
}

