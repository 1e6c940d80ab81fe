/**
 * Keyset pagination of generated connections: the ORDER BY of a declared ordering, the WHERE that
 * selects the rows strictly after a cursor, and the page cursors themselves.
 *
 * Cursor format (opaque to clients, base64url JSON, see ../cursors.ts):
 * - `{ v: 1, t, id }` for an ordering of two columns (the format `trips` cursors have always had:
 *   `t` the first column, `id` the second), so cursors handed out before stay valid;
 * - `{ v: 2, k: [...] }` for any other ordering: one value per ordering column.
 * Values are what the engine returned; timestamps are the engine's own text with full precision
 * (a JS Date would drop microseconds and skip rows that share a millisecond). Every value is
 * checked against its column's type on the way in, so no forged cursor can make the engine's cast
 * fail (which would surface as an internal error) — `2026-13-45 99:99:99` is BAD_USER_INPUT here.
 */
import { errors } from '../../errors';
import type { ColumnType, OrderingModel, ViewModel } from '../../views/model';
import { decodeCursor, encodeCursor } from '../cursors';
import { validCivilTime } from './scalars';

/** One column of a keyset ordering, resolved against its view. */
export interface KeysetColumn {
  readonly column: string;
  readonly type: ColumnType;
  readonly desc: boolean;
  readonly nullsLast: boolean;
  readonly nullable: boolean;
  /** Alias of the column's exact text in the page statement (timestamps only), else undefined. */
  readonly textAlias: string | undefined;
}

/** A value of an ordering column in a cursor. */
export type CursorValue = string | number | boolean | null;

/** Longest text value accepted in a cursor. */
const MAX_TEXT = 1024;
// Timestamps as the engines print them: `2026-10-05 14:03:07.123456+00` (Postgres), `...+00:00` (RisingWave).
const TIMESTAMP_TEXT_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2})(?::?(\d{2})){0,2})?$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DECIMAL_RE = /^-?(0|[1-9]\d*)(\.\d+)?$/;
// NUL and the other C0 controls, and DEL.
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/** SQL cast of a parameter of each column type (text needs none). */
export const PARAM_CAST: Readonly<Record<ColumnType, string>> = {
  text: '',
  int: '::bigint',
  float: '::double precision',
  numeric: '::numeric',
  timestamptz: '::timestamptz',
  date: '::date',
  bool: '::boolean',
};

/** Resolves an ordering of `view` (columns exist: the declaration loader checked them). */
export function keysetColumns(view: ViewModel, ordering: OrderingModel): KeysetColumn[] {
  return ordering.columns.map((o, i) => {
    const c = view.columns.find((x) => x.name === o.column);
    if (c === undefined) throw errors.badConfig(`${view.name}: ordering column ${o.column} is not a column of the view`);
    return { column: c.name, type: c.type, desc: o.desc, nullsLast: o.nullsLast, nullable: c.nullable, textAlias: c.type === 'timestamptz' ? `wg_k${i}` : undefined };
  });
}

/** `ORDER BY` of the ordering (NULLS written out: the engines' defaults differ by direction). */
export function orderBySql(cols: readonly KeysetColumn[]): string {
  return `ORDER BY ${cols.map((c) => `${c.column} ${c.desc ? 'DESC' : 'ASC'}${c.nullable ? (c.nullsLast ? ' NULLS LAST' : ' NULLS FIRST') : ''}`).join(', ')}`;
}

/** Extra select items holding the exact text of timestamp ordering columns. */
export function cursorSelectSql(cols: readonly KeysetColumn[]): string[] {
  return cols.filter((c) => c.textAlias !== undefined).map((c) => `CAST(${c.column} AS varchar) AS ${c.textAlias}`);
}

type AddParam = (value: unknown) => string;

/**
 * Rows strictly after `values` in the ordering, expanded column by column (not a row comparison,
 * because of NULLs and mixed directions): OR over i of (columns before i equal AND column i after).
 */
export function keysetSql(cols: readonly KeysetColumn[], values: readonly CursorValue[], add: AddParam): string {
  const terms: string[] = [];
  const equal: string[] = [];
  cols.forEach((c, i) => {
    const v = values[i] ?? null;
    const after = afterSql(c, v, add);
    if (after !== undefined) terms.push(equal.length === 0 ? after : `(${[...equal, after].join(' AND ')})`);
    if (i < cols.length - 1) equal.push(v === null ? `${c.column} IS NULL` : `${c.column} = ${add(v)}${PARAM_CAST[c.type]}`);
  });
  return terms.length === 0 ? 'FALSE' : `(${terms.join(' OR ')})`;
}

/** Values of column `c` strictly after `v`; undefined when there are none. */
function afterSql(c: KeysetColumn, v: CursorValue, add: AddParam): string | undefined {
  if (v === null) return c.nullsLast ? undefined : `${c.column} IS NOT NULL`;
  const cmp = `${c.column} ${c.desc ? '<' : '>'} ${add(v)}${PARAM_CAST[c.type]}`;
  return c.nullable && c.nullsLast ? `(${cmp} OR ${c.column} IS NULL)` : cmp;
}

/** Encodes the cursor of a row whose ordering values are `values`. */
export function encodePageCursor(cols: readonly KeysetColumn[], values: readonly CursorValue[]): string {
  if (cols.length === 2) return encodeCursor({ v: 1, t: values[0] ?? null, id: values[1] ?? null });
  return encodeCursor({ v: 2, k: values });
}

const malformed = () => errors.badInput('Malformed page cursor: pass a cursor exactly as the API returned it');

/** Decodes a page cursor for the ordering `cols`; BAD_USER_INPUT when it is not one. */
export function decodePageCursor(cols: readonly KeysetColumn[], cursor: string): CursorValue[] {
  const v = decodeCursor(cursor, 'page');
  if ('feed' in v) throw malformed();
  let values: unknown[];
  if (v['v'] === 1 && cols.length === 2 && Object.keys(v).length === 3) values = [v['t'], v['id']];
  else if (v['v'] === 2 && Array.isArray(v['k']) && Object.keys(v).length === 2) values = v['k'];
  else throw malformed();
  if (values.length !== cols.length) throw malformed();
  return cols.map((c, i) => {
    const x = values[i];
    if (!validValue(c, x)) throw malformed();
    return x;
  });
}

/** A value the engine could have returned for the column. */
function validValue(c: KeysetColumn, x: unknown): x is CursorValue {
  if (x === null) return c.nullable;
  switch (c.type) {
    case 'text':
      return typeof x === 'string' && x.length > 0 && x.length <= MAX_TEXT && !CONTROL_RE.test(x);
    case 'int':
      return typeof x === 'number' && Number.isSafeInteger(x);
    case 'float':
      return typeof x === 'number' && Number.isFinite(x);
    case 'numeric':
      return typeof x === 'string' && x.length <= 100 && DECIMAL_RE.test(x);
    case 'timestamptz':
      return typeof x === 'string' && validTimestampText(x);
    case 'date': {
      const m = typeof x === 'string' ? DATE_RE.exec(x) : null;
      return m !== null && validCivilTime(Number(m[1]), Number(m[2]), Number(m[3]));
    }
    case 'bool':
      return typeof x === 'boolean';
  }
}

/**
 * A timestamp the engine could have printed: the pattern, and fields that are a real time in the
 * years 0001-9999.
 */
function validTimestampText(t: string): boolean {
  const m = TIMESTAMP_TEXT_RE.exec(t);
  if (m === null) return false;
  const n = (i: number) => Number(m[i] ?? 0);
  return validCivilTime(n(1), n(2), n(3), n(4), n(5), n(6), n(7), n(8));
}
