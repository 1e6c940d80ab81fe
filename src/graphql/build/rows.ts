/**
 * Engine rows → normalised rows ({@link Row}): only the columns a statement selected, each in the
 * canonical form of its type (views/normalize.ts). One loop per row over a column list computed
 * once per statement shape; no closures per row.
 */
import type { ColumnType, Row, ViewModel } from '../../views/model';
import { normalizeValue } from '../../views/normalize';

/** The columns of a statement's rows with their types, in select order. */
export type RowColumns = ReadonlyArray<{ readonly name: string; readonly type: ColumnType }>;

/** One value in canonical form. */
export function normalizeColumnValue(type: ColumnType, v: unknown): string | number | boolean | null {
  if (type !== 'bool') return normalizeValue(type, v);
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v;
  if (v === 't' || v === 'true') return true;
  if (v === 'f' || v === 'false') return false;
  throw new TypeError(`not a boolean: ${String(v)}`);
}

/** Normalises the `cols` of an engine row. */
export function normalizeColumns(cols: RowColumns, raw: Readonly<Record<string, unknown>>): Row {
  const out: Record<string, string | number | boolean | null> = {};
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i]!;
    out[c.name] = normalizeColumnValue(c.type, raw[c.name]);
  }
  return out;
}

/** The {@link RowColumns} of `names` (in the view's column order). */
export function rowColumns(view: ViewModel, names: ReadonlySet<string> | readonly string[]): RowColumns {
  const set = names instanceof Set ? names : new Set(names);
  return view.columns.filter((c) => set.has(c.name)).map((c) => ({ name: c.name, type: c.type }));
}
