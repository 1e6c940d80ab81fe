import type { ColumnModel, ColumnType, Row } from './model';

/** What normalising needs of a view: its columns' types and its key. */
type ViewShape = { readonly columns: readonly Pick<ColumnModel, 'name' | 'type'>[]; readonly key: readonly string[] };

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Normalises a timestamptz from a JS Date, an epoch-ms number or Postgres/ISO text to ISO-8601 UTC (ms). */
export function normalizeTimestamp(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'number') return new Date(v).toISOString();
  if (typeof v === 'string') {
    // Postgres text: "2026-10-05 14:03:07.123456+00" -> ISO; JS accepts >3 fraction digits.
    let s = v.trim().replace(' ', 'T');
    if (/[+-]\d{2}$/.test(s)) s += ':00';
    const d = new Date(s);
    if (!Number.isNaN(d.getTime())) return d.toISOString();
  }
  throw new TypeError(`not a timestamp: ${String(v)}`);
}

/** Normalises a date from text, a JS Date (UTC midnight) or a day number to `YYYY-MM-DD`. */
export function normalizeDate(v: unknown): string {
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
  if (v instanceof Date) return `${v.getUTCFullYear()}-${pad(v.getUTCMonth() + 1)}-${pad(v.getUTCDate())}`;
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}[T ]/.test(v)) return v.slice(0, 10);
  throw new TypeError(`not a date: ${String(v)}`);
}

/** Normalises one value to the type's canonical JS form (see {@link ColumnType}). */
export function normalizeValue(type: ColumnType, v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'text':
      return String(v);
    case 'int': {
      const n = typeof v === 'bigint' ? Number(v) : Number(v);
      if (!Number.isSafeInteger(n)) throw new TypeError(`not a safe integer: ${String(v)}`);
      return n;
    }
    case 'float': {
      const n = Number(v);
      if (Number.isNaN(n) && v !== 'NaN') throw new TypeError(`not a number: ${String(v)}`);
      return n;
    }
    case 'numeric':
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'bigint') return String(v);
      throw new TypeError(`not a numeric: ${String(v)}`);
    case 'timestamptz':
      return normalizeTimestamp(v);
    case 'date':
      return normalizeDate(v);
    case 'bool':
      return normalizeBool(v);
  }
}

/** Normalises a boolean from a JS boolean or Postgres/JSON text (`t`/`f`, `true`/`false`). */
export function normalizeBool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 't' || v === 'true') return true;
  if (v === 'f' || v === 'false') return false;
  throw new TypeError(`not a boolean: ${String(v)}`);
}

/** Normalises a raw engine row to the view's canonical {@link Row}; unknown columns are dropped. */
export function normalizeRow(view: ViewShape, raw: Readonly<Record<string, unknown>>): Row {
  const out: Record<string, string | number | boolean | null> = {};
  for (const c of view.columns) out[c.name] = normalizeValue(c.type, raw[c.name]);
  return out;
}

/** Normalises only the named columns (e.g. key + indexed columns of an old row). */
export function normalizePartial(view: ViewShape, raw: Readonly<Record<string, unknown>>): Row {
  const out: Record<string, string | number | boolean | null> = {};
  for (const c of view.columns) if (c.name in raw) out[c.name] = normalizeValue(c.type, raw[c.name]);
  return out;
}

/** A stable string for a row's key, used as a map key by the hub and the loaders. */
export function keyString(view: ViewShape, row: Row): string {
  return view.key.length === 1 ? String(row[view.key[0] as string]) : JSON.stringify(view.key.map((k) => row[k]));
}

/**
 * `YYYY-MM-DD?HH:MM:SS` at the start of `v` (any character at 10) with digits where digits go, a
 * year of 1000–9999 and fields Date takes as they are (no Feb 30 rolling over to March). The
 * by-position timestamp paths share it: PostgreSQL text (graphql/build/rows.ts) and the Kafka sinks'
 * text (engine/risingwave/feed/decode.ts).
 */
export function civilFields(v: string): boolean {
  if (v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58) return false;
  const d = (i: number) => v.charCodeAt(i) - 48; // 0-9 for a digit, anything else out of range
  const y0 = d(0);
  // A year of 1000-9999: a leading 0 would make Date widen it.
  if (y0 < 1 || y0 > 9 || !digit(d(1)) || !digit(d(2)) || !digit(d(3))) return false;
  const pair = (i: number) => (digit(d(i)) && digit(d(i + 1)) ? d(i) * 10 + d(i + 1) : -1);
  const month = pair(5);
  const day = pair(8);
  const hour = pair(11);
  const minute = pair(14);
  const second = pair(17);
  if (month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return false;
  if (day > 28) {
    const year = Number(v.slice(0, 4));
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    if (day > (month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31)) return false;
  }
  return true;
}

const digit = (n: number) => n >= 0 && n <= 9;
