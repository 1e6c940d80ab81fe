import { type AstObject, isObj, list, only, sval } from '../ast';
import { SqlState } from '../sqlstate';
import { MAX_SERIES_ROWS } from './boundedSeries';

/**
 * Bounds on what allowlisted functions may produce, where the tree shows it before anything runs:
 * - `lpad(s, n[, fill])` / `rpad`: `n` must be an integer constant of at most {@link MAX_WIDTH};
 * - `format(fmt, ...)`: `fmt` must be a string constant; every field width in it is at most
 *   {@link MAX_WIDTH}, and a width taken from an argument (`%*s`) is refused (`format('%200000000s', '')`
 *   built a 200 MB string);
 * - `generate_subscripts(a, ...)` and `unnest(a)` over an array whose size the tree fixes (an
 *   `ARRAY[...]` list, `string_to_array` / `regexp_split_to_array` of a string built from
 *   constants) produce at most {@link MAX_SERIES_ROWS} rows, like `generate_series` (boundedSeries.ts).
 * What depends on the data (an array built from a view's rows, `string_agg` over a join) cannot be
 * bounded here: on the embedded engine the passthrough worker's deadline and memory limits stop it
 * (src/engine/embedded/isolated/), on RisingWave its statement_timeout and KILL.
 * `repeat` stays off the allowlist: its output is its input times the count, unbounded by either.
 */

/** Most characters one width (lpad/rpad length, format field width) may ask for. */
export const MAX_WIDTH = 10_000;

/** A refusal: SQLSTATE and message (the caller adds "through the SQL passthrough" and the position). */
export interface OutputRefusal {
  readonly state: string;
  readonly message: string;
}

const nameOf = (f: AstObject): string | undefined => {
  const parts = list(f['funcname']).map(sval);
  const name = parts[parts.length - 1];
  return parts.length === 1 || (parts.length === 2 && parts[0] === 'pg_catalog') ? name : undefined;
};

function intConst(e: unknown): number | undefined {
  const node = only(e);
  if (node?.[0] === 'A_Const' && isObj(node[1]['ival'])) return Number(node[1]['ival']['ival'] ?? 0);
  if (node?.[0] === 'TypeCast') return intConst(node[1]['arg']);
  return undefined;
}

function strConst(e: unknown): string | undefined {
  const node = only(e);
  if (node?.[0] === 'A_Const' && isObj(node[1]['sval'])) return String(node[1]['sval']['sval'] ?? '');
  if (node?.[0] === 'TypeCast') return strConst(node[1]['arg']);
  return undefined;
}

/** Field widths of a `format()` string; `'*'` for a width taken from an argument. */
export function formatWidths(fmt: string): Array<number | '*'> {
  const out: Array<number | '*'> = [];
  // %[argpos$][flags][width][type]; width is digits, `*` or `*n$` (PostgreSQL's text_format).
  const spec = /%(?:%|(?:\d+\$)?-?(\*(?:\d+\$)?|\d+)?[a-zA-Z]?)/g;
  for (const m of fmt.matchAll(spec)) {
    const w = m[1];
    if (w === undefined) continue;
    out.push(w.startsWith('*') ? '*' : Number(w));
  }
  return out;
}

/** Length of a string the tree fixes (constants, lpad/rpad/format of constants, `||`), else undefined. */
export function staticLength(e: unknown): number | undefined {
  const node = only(e);
  if (node === undefined) return undefined;
  const [type, v] = node;
  if (type === 'A_Const') return strConst(e)?.length ?? (intConst(e) !== undefined ? String(intConst(e)).length : undefined);
  if (type === 'TypeCast') return staticLength(v['arg']);
  if (type === 'A_Expr' && v['kind'] === 'AEXPR_OP' && list(v['name']).map(sval).join('.') === '||') {
    const l = staticLength(v['lexpr']);
    const r = staticLength(v['rexpr']);
    return l === undefined || r === undefined ? undefined : l + r;
  }
  if (type !== 'FuncCall') return undefined;
  const args = list(v['args']);
  switch (nameOf(v)) {
    case 'lpad':
    case 'rpad':
      return intConst(args[1]);
    case 'format': {
      const fmt = strConst(args[0]);
      if (fmt === undefined) return undefined;
      let n = fmt.length;
      for (const w of formatWidths(fmt)) n += w === '*' ? Infinity : w;
      for (const a of args.slice(1)) n += staticLength(a) ?? Infinity;
      return Number.isFinite(n) ? n : undefined;
    }
    case 'concat': {
      let n = 0;
      for (const a of args) n += staticLength(a) ?? Infinity;
      return Number.isFinite(n) ? n : undefined;
    }
    default:
      return undefined;
  }
}

/** Elements of an array the tree fixes, at most (ARRAY[...], string_to_array / regexp_split_to_array of a fixed string). */
export function staticArraySize(e: unknown): number | undefined {
  const node = only(e);
  if (node === undefined) return undefined;
  const [type, v] = node;
  if (type === 'TypeCast') return staticArraySize(v['arg']);
  if (type === 'A_ArrayExpr') return list(v['elements']).length;
  if (type === 'A_Const' && isObj(v['sval'])) {
    // An array literal '{a,b,c}': at most one element more than it has commas.
    return String(v['sval']['sval'] ?? '').split(',').length;
  }
  if (type !== 'FuncCall') return undefined;
  const name = nameOf(v);
  if (name !== 'string_to_array' && name !== 'regexp_split_to_array') return undefined;
  const len = staticLength(list(v['args'])[0]);
  return len === undefined ? undefined : len + 1;
}

/** Why this call of an allowlisted function is refused for what it could produce, or undefined. */
export function outputRefusal(name: string, f: AstObject): OutputRefusal | undefined {
  const args = list(f['args']);
  switch (name) {
    case 'lpad':
    case 'rpad': {
      const n = intConst(args[1]);
      if (n === undefined) return { state: SqlState.INSUFFICIENT_PRIVILEGE, message: `${name} needs a constant length` };
      if (n > MAX_WIDTH) return { state: SqlState.PROGRAM_LIMIT_EXCEEDED, message: `${name} may pad to at most ${MAX_WIDTH} characters` };
      return undefined;
    }
    case 'format': {
      if (f['func_variadic'] === true && args.length === 1) return { state: SqlState.INSUFFICIENT_PRIVILEGE, message: 'format needs a constant format string' };
      const fmt = strConst(args[0]);
      if (fmt === undefined) return { state: SqlState.INSUFFICIENT_PRIVILEGE, message: 'format needs a constant format string' };
      const widths = formatWidths(fmt);
      if (widths.includes('*')) return { state: SqlState.INSUFFICIENT_PRIVILEGE, message: 'format widths taken from arguments (%*s) are not allowed' };
      if (widths.some((w) => w !== '*' && w > MAX_WIDTH)) {
        return { state: SqlState.PROGRAM_LIMIT_EXCEEDED, message: `format field widths may be at most ${MAX_WIDTH}` };
      }
      return undefined;
    }
    case 'generate_subscripts':
    case 'unnest': {
      for (const a of args) {
        const size = staticArraySize(a);
        if (size !== undefined && size > MAX_SERIES_ROWS) {
          return { state: SqlState.PROGRAM_LIMIT_EXCEEDED, message: `${name} may produce at most ${MAX_SERIES_ROWS} rows from a constant array` };
        }
      }
      return undefined;
    }
    default:
      return undefined;
  }
}
