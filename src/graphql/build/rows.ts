/**
 * Engine rows → normalised rows ({@link Row}): only the columns a statement selected, each in the
 * canonical form of its type (views/normalize.ts). One loop per row over a column list computed
 * once per statement shape; no closures per row.
 */
import type { ColumnType, Row, ViewModel } from '../../views/model';
import { civilFields, normalizeValue } from '../../views/normalize';

/** The columns of a statement's rows with their types, in select order. */
export type RowColumns = ReadonlyArray<{ readonly name: string; readonly type: ColumnType }>;

const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * PostgreSQL's text of a UTC timestamptz (`2026-10-05 14:03:07.123456+00`, what RisingWave and
 * PostgreSQL send with TimeZone UTC) straight to ISO-8601 with milliseconds, by position: the same
 * string `normalizeTimestamp` makes (extra fraction digits are cut, as `Date` does), without a regex
 * and a `Date` per value (~7 % of a page's CPU). Undefined for any other shape (another offset,
 * years outside 1000–9999, BC): those take the general path.
 */
export function fastUtcTimestamp(v: string): string | undefined {
  const n = v.length;
  // "YYYY-MM-DD HH:MM:SS" + optional ".f{1,6}" + "+00"
  if (n < 22 || n > 29 || v.charCodeAt(n - 3) !== 43 /* + */ || v.charCodeAt(n - 2) !== 48 || v.charCodeAt(n - 1) !== 48) return undefined;
  if (v.charCodeAt(10) !== 32 || !civilFields(v)) return undefined;
  let ms = '000';
  if (n > 22) {
    if (v.charCodeAt(19) !== 46 /* . */ || n === 23) return undefined;
    for (let i = 20; i < n - 3; i++) if (!isDigit(v.charCodeAt(i))) return undefined;
    ms = (v.slice(20, Math.min(23, n - 3)) + '00').slice(0, 3);
  }
  return `${v.slice(0, 10)}T${v.slice(11, 19)}.${ms}Z`;
}

/**
 * Whether `v` is already what `normalizeTimestamp` makes of it (`2026-10-05T14:03:07.123Z`, years
 * 1000–9999, real calendar fields), so the DateTime scalar can send it as it is.
 */
export function isCanonicalTimestamp(v: string): boolean {
  return v.length === 24 && v.charCodeAt(10) === 84 /* T */ && v.charCodeAt(19) === 46 && v.charCodeAt(23) === 90 /* Z */
    && isDigit(v.charCodeAt(20)) && isDigit(v.charCodeAt(21)) && isDigit(v.charCodeAt(22)) && civilFields(v);
}

/** One value in canonical form. */
export function normalizeColumnValue(type: ColumnType, v: unknown): string | number | boolean | null {
  if (type === 'timestamptz' && typeof v === 'string') return fastUtcTimestamp(v) ?? normalizeValue(type, v);
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
