import { GatewayError, GatewayErrorCode } from '../../errors';
import type { Logger } from '../../log';
import { normalizePartial, normalizeRow, normalizeTimestamp } from '../../views/normalize';
import { VIEWS, type ViewName } from '../../views/registry';
import type { SqlExecutor } from '../../db/types';
import type { ChangeEvent, ChangeFeed, ChangeListener, FeedPosition, FeedStatus } from '../types';

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

/** Rows read from the change log per round trip. */
const BATCH = 500;

function toEvent(r: ChangeRow): ChangeEvent {
  const view = VIEWS[r.view_name as ViewName];
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
        const batch = rows.map(toEvent);
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

  async replay(view: ViewName, cursor: FeedPosition): Promise<readonly ChangeEvent[]> {
    const after = this.parse(cursor);
    const { rows: [first] } = await this.db.query<{ min: number | null }>(
      'SELECT min(seq) AS min FROM wavegate.changes', []);
    const oldest = first?.min === null || first?.min === undefined ? this.delivered + 1 : Number(first.min);
    if (after < oldest - 1) {
      throw new GatewayError(GatewayErrorCode.CURSOR_EXPIRED,
        'The cursor is older than the retained change log: query the current rows and subscribe without a cursor');
    }
    const upTo = this.delivered;
    const { rows } = await this.db.query<ChangeRow>(
      `SELECT seq, view_name, op, key, row, old, committed_at FROM wavegate.changes
       WHERE view_name = $1 AND seq > $2 AND seq <= $3 ORDER BY seq`, [view, after, upTo]);
    return rows.map(toEvent);
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
