import { GatewayError, GatewayErrorCode } from '../../errors';
import type { Logger } from '../../log';
import { normalizePartial, normalizeRow, normalizeTimestamp } from '../../views/normalize';
import { findView } from '../../views/find';
import type { Registry } from '../../views/model';
import type { SqlExecutor } from '../../db/types';
import type { ChangeEvent, ChangeFeed, ChangeListener, FeedPosition, FeedStatus, ReplayRequest } from '../types';

interface ChangeRow {
  seq: number;
  view_name: string;
  op: string;
  key: Record<string, unknown>;
  row: Record<string, unknown> | null;
  old: Record<string, unknown> | null;
  committed_at: unknown;
}

const SELECT_CHANGES = `SELECT seq, view_name, op, key, row, old, committed_at
FROM wavegate.changes WHERE seq > $1 ORDER BY seq LIMIT $2`;

/**
 * One replay page: the next `$4` rows of view `$1` in (`$2`, `$3`] (the `w` window, read in index
 * order), those of them matching the filter when there is one (`$5` = `$6` in the key, the new row
 * or the old row, as engine/changeFilter.ts matches), plus one row (`hit` false) with the highest
 * seq in the window, so the next page starts after rows that did not match too.
 */
function replayPageSql(filtered: boolean): string {
  const match = filtered ? "WHERE key ->> $5 = $6 OR row ->> $5 = $6 OR old ->> $5 = $6" : '';
  return `WITH w AS (SELECT seq, view_name, op, key, row, old, committed_at FROM wavegate.changes
    WHERE view_name = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4)
  SELECT seq, view_name, op, key, row, old, committed_at, true AS hit FROM w ${match}
  UNION ALL SELECT max(seq), NULL, NULL, NULL, NULL, NULL, NULL, false FROM w
  ORDER BY hit DESC, seq`;
}

/** Rows read from the change log per round trip. */
const BATCH = 500;

function toEvent(views: Registry, r: ChangeRow): ChangeEvent {
  const view = findView(views, r.view_name);
  if (view === undefined) throw new Error(`change log names unknown view ${r.view_name}`);
  if (r.op !== 'insert' && r.op !== 'update' && r.op !== 'delete') throw new Error(`change log op ${r.op}`);
  return {
    view: view.name,
    op: r.op,
    key: normalizePartial(view, r.key),
    row: r.row === null ? null : normalizeRow(view, r.row),
    old: r.old === null ? null : normalizePartial(view, r.old),
    position: String(r.seq),
    committedAt: Date.parse(normalizeTimestamp(r.committed_at)),
  };
}

/**
 * The embedded engine's change feed: reads `wavegate.changes` (filled by the views' triggers in
 * the writing transaction) in sequence order whenever a NOTIFY says there is more. Positions are
 * sequence numbers, so the order is the commit order (PGlite runs one transaction at a time).
 * The feed id carries the database's epoch: cursors from another database are refused.
 */
export class EmbeddedFeed implements ChangeFeed {
  readonly id: string;
  private readonly listeners = new Set<ChangeListener>();
  private delivered: number;
  private reading: Promise<void> | undefined;
  private again = false;
  private lagMs = 0;
  private closed = false;

  constructor(
    private readonly db: SqlExecutor,
    private readonly views: Registry,
    epoch: string,
    startSeq: number,
    private readonly log: Logger,
  ) {
    this.id = `embedded:${epoch}`;
    this.delivered = startSeq;
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Called on NOTIFY (and once at start): reads and delivers everything new. Coalesces calls. */
  poke(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.reading !== undefined) {
      this.again = true;
      return this.reading;
    }
    this.reading = this.drain().finally(() => {
      this.reading = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        void this.poke();
      }
    });
    return this.reading;
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        const { rows } = await this.db.query<ChangeRow>(SELECT_CHANGES, [this.delivered, BATCH]);
        if (rows.length === 0) return;
        const batch = rows.map((r) => toEvent(this.views, r));
        this.delivered = Number(rows[rows.length - 1]!.seq);
        const last = batch[batch.length - 1]!;
        this.lagMs = Math.max(0, Date.now() - last.committedAt);
        for (const l of this.listeners) {
          try {
            l(batch);
          } catch (err) {
            this.log.error({ err }, 'change listener threw');
          }
        }
        if (rows.length < BATCH) return;
      }
    } catch (err) {
      if (!this.closed) this.log.error({ err }, 'reading the change log failed');
    }
  }

  /**
   * Pages of (cursor, delivered] of one view. Each page reads the next `pageSize` log rows of the
   * view (index changes_view_seq) and returns those matching the filter, which is evaluated in the
   * SQL: other subscribers' rows never leave the engine, and one page is one short statement, so
   * the engine serves other queries between pages.
   */
  async *replay(request: ReplayRequest): AsyncGenerator<readonly ChangeEvent[]> {
    const after = this.parse(request.after);
    const { rows: [first] } = await this.db.query<{ min: number | null }>(
      'SELECT min(seq) AS min FROM wavegate.changes', []);
    const oldest = first?.min === null || first?.min === undefined ? this.delivered + 1 : Number(first.min);
    if (after < oldest - 1) {
      throw new GatewayError(GatewayErrorCode.CURSOR_EXPIRED,
        'The cursor is older than the retained change log: query the current rows and subscribe without a cursor');
    }
    const upTo = this.delivered;
    const { filter, pageSize, view } = request;
    const sql = replayPageSql(filter !== undefined);
    for (let from = after; from < upTo;) {
      if (request.signal?.aborted === true || this.closed) return;
      const params: unknown[] = [view, from, upTo, pageSize];
      if (filter !== undefined) params.push(filter.column, filter.value);
      const { rows } = await this.db.query<ChangeRow & { hit: boolean }>(sql, params);
      // The last row is the page's extent (the highest seq read, matching or not); none read: done.
      const extent = rows.find((r) => !r.hit);
      if (extent === undefined || extent.seq === null) return;
      const page = rows.filter((r) => r.hit).map((r) => toEvent(this.views, r));
      if (page.length > 0) yield page;
      from = Number(extent.seq);
    }
  }

  isAfter(position: FeedPosition, cursor: FeedPosition): boolean {
    return this.parse(position) > this.parse(cursor);
  }

  advance(cursor: FeedPosition, position: FeedPosition): FeedPosition {
    return String(Math.max(this.parse(cursor), this.parse(position)));
  }

  head(): FeedPosition {
    return String(this.delivered);
  }

  status(): FeedStatus {
    // `pending` is not tracked here: every commit NOTIFYs and the reader drains the log at once,
    // so a backlog shows up as lagMs (commit -> delivery), not as a count.
    return { ready: !this.closed, lagMs: this.lagMs, pending: 0 };
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
  }

  private parse(p: FeedPosition): number {
    if (!/^\d{1,15}$/.test(p)) {
      throw new GatewayError(GatewayErrorCode.BAD_USER_INPUT, 'Malformed cursor');
    }
    return Number(p);
  }
}
