import type { Engine } from '../../types';
import { type CopyRows, type CopyView, ident } from './protocol';

/**
 * Where the passthrough worker's read copy comes from: the embedded engine's own views and change
 * log, read on the main thread in short statements (a page of rows, a page of changes), so that
 * keeping the copy never holds the engine for long.
 *
 * Consistency: the copy is loaded page by page while writes go on, then every change logged after
 * the load began is applied in log order. Each change carries the key and the whole new row (the
 * trigger in ddl.ts writes both), so re-applying a change the load already saw is harmless and the
 * copy converges on the engine's state; statements only run after the load and its catch-up.
 */

/** Rows per page of the initial load. */
export const LOAD_PAGE_ROWS = 1000;
/** Change-log rows read per round trip. */
export const CHANGE_PAGE_ROWS = 1000;

interface RawChange {
  seq: number | bigint | string;
  view_name: string;
  op: string;
  key: string;
  row: string | null;
}

export class CopySource {
  constructor(private readonly engine: Engine, private readonly pageRows = LOAD_PAGE_ROWS) {}

  /** The published views with the column types the engine gives them. */
  async views(): Promise<CopyView[]> {
    const out: CopyView[] = [];
    for (const v of this.engine.views.views) {
      const cols = await this.engine.query<{ name: string; type: string }>(
        `SELECT a.attname::text AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type
           FROM pg_catalog.pg_attribute a
          WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, [`public.${v.name}`]);
      const registry = new Set(v.columns.map((c) => c.name));
      out.push({ name: v.name, key: v.key, columns: cols.filter((c) => registry.has(c.name)).map((c) => ({ name: c.name, type: c.type })) });
    }
    return out;
  }

  /** The newest change-log position (0 when the log is empty). */
  async head(): Promise<number> {
    const [row] = await this.engine.query<{ max: unknown }>('SELECT max(seq) AS max FROM wavegate.changes');
    return row?.max === null || row?.max === undefined ? 0 : Number(row.max);
  }

  /** The rows of `view`, a page at a time, in key order (keyset paging: each page is an index range). */
  async *pages(view: CopyView): AsyncGenerator<CopyRows> {
    const keys = view.key.map(ident);
    const keyList = keys.join(', ');
    let after: unknown[] | undefined;
    for (;;) {
      const where = after === undefined ? '' : `WHERE (${keyList}) > (${keys.map((_, i) => `$${i + 2}`).join(', ')})`;
      const rows = await this.engine.query<Record<string, unknown>>(
        `SELECT to_jsonb(v)::text AS __wg_j, ${keyList} FROM public.${ident(view.name)} v ${where} ORDER BY ${keyList} LIMIT $1`,
        [this.pageRows, ...(after ?? [])]);
      if (rows.length === 0) return;
      yield { view: view.name, deleteKeys: undefined, rows: `[${rows.map((r) => String(r['__wg_j'])).join(',')}]` };
      if (rows.length < this.pageRows) return;
      const last = rows[rows.length - 1]!;
      after = keys.map((k) => last[k]);
    }
  }

  /**
   * The changes after `seq`, up to {@link CHANGE_PAGE_ROWS} of them, folded into the last state of
   * each key per view; `'gap'` when the log no longer holds all of them (pruned): reload the copy.
   */
  async changesAfter(seq: number): Promise<{ readonly batches: CopyRows[]; readonly last: number; readonly more: boolean } | 'gap'> {
    const [oldest] = await this.engine.query<{ min: unknown }>('SELECT min(seq) AS min FROM wavegate.changes');
    if (oldest?.min !== null && oldest?.min !== undefined && Number(oldest.min) > seq + 1) return 'gap';
    const rows = await this.engine.query<RawChange>(
      `SELECT seq, view_name, op, key::text AS key, row::text AS row FROM wavegate.changes
        WHERE seq > $1 ORDER BY seq LIMIT $2`, [seq, CHANGE_PAGE_ROWS]);
    const perView = new Map<string, Map<string, string | null>>();
    for (const r of rows) {
      let keys = perView.get(r.view_name);
      if (keys === undefined) perView.set(r.view_name, (keys = new Map()));
      // jsonb prints keys in one canonical order, so the same key is the same text.
      keys.delete(r.key);
      keys.set(r.key, r.op === 'delete' ? null : r.row);
    }
    const batches = [...perView].map(([view, keys]): CopyRows => {
      const live = [...keys.values()].filter((row): row is string => row !== null);
      return { view, deleteKeys: `[${[...keys.keys()].join(',')}]`, rows: live.length > 0 ? `[${live.join(',')}]` : undefined };
    });
    const last = rows.length === 0 ? seq : Number(rows[rows.length - 1]!.seq);
    return { batches, last, more: rows.length === CHANGE_PAGE_ROWS };
  }
}
