import { type AstObject, isObj, list, only, sval } from '../ast';

/**
 * `generate_series` is off the function allowlist (a value generator can make the embedded engine
 * produce rows its planner does not foresee), but pgjdbc needs it: its type lookup (TypeInfoCache,
 * run by getTypeInfo, getColumns and the first result column of a type it has not cached, such as
 * `interval`) reads `generate_series(1, array_upper(current_schemas(false), 1))`, and
 * getImportedKeys/getExportedKeys/getCrossReference read `generate_series(1, <max_index_keys>)`
 * (https://github.com/pgjdbc/pgjdbc/blob/REL42.7.13/pgjdbc/src/main/java/org/postgresql/jdbc/TypeInfoCache.java,
 * .../PgDatabaseMetaData.java). So integer series are allowed in exactly these forms:
 * - constant bounds (and an optional constant, non-zero step) producing at most
 *   {@link MAX_SERIES_ROWS} rows: the planner then knows the row count exactly (Postgres estimates
 *   `generate_series` over constants from its arguments), so the embedded engine's cost gate sees
 *   a cross join of several of them for what it is;
 * - a constant start and `array_upper(current_schemas(<boolean>), 1)` as the end: at most the
 *   length of the search path.
 */

/** Most rows one allowed `generate_series` call may produce. */
export const MAX_SERIES_ROWS = 1000;

function intConst(e: unknown): number | undefined {
  const node = only(e);
  if (node?.[0] === 'A_Const' && isObj(node[1]['ival'])) return Number(node[1]['ival']['ival'] ?? 0);
  // `-1` is parsed as a constant, but `- 1` with a cast or parentheses is an operator: not accepted.
  return undefined;
}

const funcName = (f: AstObject): string | undefined => {
  const parts = list(f['funcname']).map(sval);
  const name = parts[parts.length - 1];
  return parts.length === 1 || (parts.length === 2 && parts[0] === 'pg_catalog') ? name : undefined;
};

const plainCall = (f: AstObject): boolean =>
  f['agg_star'] !== true && f['agg_distinct'] !== true && f['func_variadic'] !== true && f['over'] === undefined
  && f['agg_order'] === undefined && f['agg_filter'] === undefined;

/** `array_upper(current_schemas(<bool>), 1)`. */
function searchPathLength(e: unknown): boolean {
  const node = only(e);
  if (node?.[0] !== 'FuncCall' || funcName(node[1]) !== 'array_upper' || !plainCall(node[1])) return false;
  const [schemas, dim, ...rest] = list(node[1]['args']);
  const inner = only(schemas);
  if (rest.length > 0 || intConst(dim) !== 1 || inner?.[0] !== 'FuncCall' || funcName(inner[1]) !== 'current_schemas' || !plainCall(inner[1])) return false;
  const args = list(inner[1]['args']);
  const flag = only(args[0]);
  return args.length === 1 && flag?.[0] === 'A_Const' && isObj(flag[1]['boolval']);
}

/** Why this `generate_series` call is refused, or undefined when it is one of the allowed forms. */
export function seriesRefusal(f: AstObject): string | undefined {
  const args = list(f['args']);
  if (!plainCall(f) || args.length < 2 || args.length > 3 || args.some((a) => isObj(a) && 'NamedArgExpr' in a)) {
    return 'only generate_series(start, stop[, step]) with integer constants is allowed';
  }
  const start = intConst(args[0]);
  const step = args.length === 3 ? intConst(args[2]) : 1;
  if (start === undefined || step === undefined || step === 0) return 'generate_series needs a constant start and a constant non-zero step';
  if (searchPathLength(args[1])) return undefined;
  const stop = intConst(args[1]);
  if (stop === undefined) return 'generate_series needs constant bounds';
  const rows = Math.max(0, Math.floor((stop - start) / step) + 1);
  return rows > MAX_SERIES_ROWS ? `generate_series may produce at most ${MAX_SERIES_ROWS} rows here` : undefined;
}
