/**
 * The meaning of a {@link ChangeFilter}, in one place: the hub routes live changes by it and the feeds
 * apply it while replaying, so a replayed change matches exactly when the live one did.
 */
import type { ChangeEvent, ChangeFilter } from './types';

/**
 * Distinct values `column` takes in the change: from the key, the new row and the old row, so a row
 * that moves between values (or is deleted) reaches subscribers of both. NULL matches no filter.
 */
export function filterValues(ev: ChangeEvent, column: string): string[] {
  const out: string[] = [];
  for (const source of [ev.key, ev.row, ev.old]) {
    const v = source?.[column];
    if (v === null || v === undefined) continue;
    const s = String(v);
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

/** Does the change match the filter (always, without one)? */
export function matchesFilter(ev: ChangeEvent, filter: ChangeFilter | undefined): boolean {
  return filter === undefined || filterValues(ev, filter.column).includes(filter.value);
}
