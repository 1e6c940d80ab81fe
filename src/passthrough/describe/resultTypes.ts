import { INT_OIDS, Oid } from '../types';

/**
 * Result types of operators and functions, the way Postgres resolves them for the types the views
 * and the catalog use (staticDescription.ts asks; undefined = not known statically, the engine is
 * asked instead).
 */

/** Type of an `A_Expr` of `kind` with operator `op` over operand types `l` and `r`. */
export function operatorType(kind: string, op: string, l: number | undefined, r: number | undefined): number | undefined {
  if (kind !== 'AEXPR_OP') return kind === 'AEXPR_NULLIF' ? l : Oid.bool;
  if (BOOLEAN_OPERATORS.has(op)) return Oid.bool;
  if (op === '||') return l === Oid.jsonb ? Oid.jsonb : Oid.text;
  if (op === '->>' || op === '#>>') return Oid.text;
  if (op === '->' || op === '#>') return l;
  if (['+', '-', '*', '/', '%'].includes(op)) return arithmetic(op, l, r);
  return undefined;
}

const BOOLEAN_OPERATORS: ReadonlySet<string> = new Set([
  '=', '<>', '!=', '<', '>', '<=', '>=', '~', '~*', '!~', '!~*', '~~', '!~~', '~~*', '!~~*', '@>', '<@', '&&', '?', '?|', '?&',
]);

/** Result type of calling `name` with arguments of `argTypes` (`count(*)`: `aggStar`). */
export function functionType(name: string, argTypes: ReadonlyArray<number | undefined>, aggStar: boolean): number | undefined {
  const a0 = argTypes[0];
  if (aggStar && name === 'count') return Oid.int8;
  const fixed = FUNCTION_TYPES[name];
  if (fixed !== undefined) return fixed;
  switch (name) {
    case 'sum':
      return a0 === undefined ? undefined : INT_OIDS.has(a0) ? (a0 === Oid.int8 ? Oid.numeric : Oid.int8)
        : a0 === Oid.float4 || a0 === Oid.float8 ? Oid.float8 : a0 === Oid.interval ? Oid.interval : Oid.numeric;
    case 'avg':
      return a0 === undefined ? undefined : a0 === Oid.float4 || a0 === Oid.float8 ? Oid.float8 : a0 === Oid.interval ? Oid.interval : Oid.numeric;
    case 'min': case 'max': case 'abs': case 'ceil': case 'ceiling': case 'floor': case 'sign': case 'lag': case 'lead':
    case 'first_value': case 'last_value': case 'nth_value': case 'any_value':
      return a0;
    case 'round': case 'trunc':
      return a0 === Oid.float8 && argTypes.length === 1 ? Oid.float8 : Oid.numeric;
    case 'date_trunc':
      return argTypes[1] === Oid.timestamp ? Oid.timestamp : argTypes[1] === Oid.interval ? Oid.interval : Oid.timestamptz;
    case 'timezone':
      return argTypes[1] === Oid.timestamp ? Oid.timestamptz : argTypes[1] === Oid.timestamptz ? Oid.timestamp : undefined;
    default:
      return undefined;
  }
}

function arithmetic(op: string, l: number | undefined, r: number | undefined): number | undefined {
  if (l === undefined || r === undefined) return undefined;
  if (INT_OIDS.has(l) && INT_OIDS.has(r)) return l === Oid.int8 || r === Oid.int8 ? Oid.int8 : Oid.int4;
  const floaty = (t: number) => t === Oid.float8 || t === Oid.float4;
  const numericy = (t: number) => t === Oid.numeric || INT_OIDS.has(t);
  if ((floaty(l) || numericy(l)) && (floaty(r) || numericy(r))) return floaty(l) || floaty(r) ? Oid.float8 : Oid.numeric;
  if ((l === Oid.timestamptz || l === Oid.timestamp) && (r === Oid.timestamptz || r === Oid.timestamp) && op === '-') return Oid.interval;
  if ((l === Oid.timestamptz || l === Oid.timestamp) && r === Oid.interval) return l;
  if (l === Oid.date && r === Oid.date && op === '-') return Oid.int4;
  if (l === Oid.date && INT_OIDS.has(r)) return Oid.date;
  if (l === Oid.interval && r === Oid.interval) return Oid.interval;
  return undefined;
}

/** Types of the SQL-standard value functions (`SQLValueFunction.op`: CURRENT_DATE, CURRENT_USER, ...). */
export const SQL_VALUE_TYPES: Readonly<Record<string, number>> = {
  SVFOP_CURRENT_DATE: Oid.date, SVFOP_CURRENT_TIME: Oid.timetz, SVFOP_CURRENT_TIME_N: Oid.timetz,
  SVFOP_CURRENT_TIMESTAMP: Oid.timestamptz, SVFOP_CURRENT_TIMESTAMP_N: Oid.timestamptz, SVFOP_LOCALTIME: Oid.time,
  SVFOP_LOCALTIME_N: Oid.time, SVFOP_LOCALTIMESTAMP: Oid.timestamp, SVFOP_LOCALTIMESTAMP_N: Oid.timestamp,
  SVFOP_CURRENT_ROLE: Oid.name, SVFOP_CURRENT_USER: Oid.name, SVFOP_USER: Oid.name, SVFOP_SESSION_USER: Oid.name,
  SVFOP_CURRENT_CATALOG: Oid.name, SVFOP_CURRENT_SCHEMA: Oid.name,
};

const T = Oid.text;
const B = Oid.bool;
/** Functions whose result type does not depend on their arguments. */
const FUNCTION_TYPES: Readonly<Record<string, number>> = {
  count: Oid.int8, row_number: Oid.int8, rank: Oid.int8, dense_rank: Oid.int8, ntile: Oid.int4, percent_rank: Oid.float8,
  cume_dist: Oid.float8, regr_count: Oid.int8, now: Oid.timestamptz, clock_timestamp: Oid.timestamptz,
  statement_timestamp: Oid.timestamptz, transaction_timestamp: Oid.timestamptz, extract: Oid.numeric,
  date_part: Oid.float8, to_date: Oid.date, to_timestamp: Oid.timestamptz, to_number: Oid.numeric, make_date: Oid.date,
  make_timestamptz: Oid.timestamptz, make_timestamp: Oid.timestamp, age: Oid.interval, make_interval: Oid.interval,
  stddev: Oid.numeric, variance: Oid.numeric, corr: Oid.float8,
  to_char: T, lower: T, upper: T, initcap: T, concat: T, concat_ws: T, substr: T, substring: T, replace: T, translate: T,
  trim: T, btrim: T, ltrim: T, rtrim: T, format: T, quote_ident: T, quote_literal: T, quote_nullable: T, md5: T,
  split_part: T, regexp_replace: T, regexp_substr: T, string_agg: T, array_to_string: T, left: T, right: T, reverse: T,
  to_hex: T, chr: T, overlay: T, encode: T, format_type: T, pg_get_expr: T, pg_get_constraintdef: T,
  pg_get_indexdef: T, pg_get_partkeydef: T, pg_get_function_arguments: T, pg_get_function_identity_arguments: T,
  pg_get_function_result: T, obj_description: T, col_description: T, shobj_description: T, version: T,
  current_setting: T, pg_size_pretty: T, json_typeof: T, jsonb_typeof: T, jsonb_pretty: T, json_extract_path_text: T,
  jsonb_extract_path_text: T,
  pg_get_userbyid: Oid.name, current_database: Oid.name, current_schema: Oid.name, pg_encoding_to_char: Oid.name,
  pg_table_is_visible: B, pg_type_is_visible: B, pg_function_is_visible: B, starts_with: B, regexp_like: B,
  pg_is_in_recovery: B, bool_and: B, bool_or: B, every: B, isfinite: B, jsonb_path_exists: B, jsonb_path_match: B,
  length: Oid.int4, char_length: Oid.int4, character_length: Oid.int4, octet_length: Oid.int4, bit_length: Oid.int4,
  strpos: Oid.int4, position: Oid.int4, array_length: Oid.int4, cardinality: Oid.int4, ascii: Oid.int4,
  regexp_count: Oid.int4, json_array_length: Oid.int4, jsonb_array_length: Oid.int4, num_nulls: Oid.int4,
  num_nonnulls: Oid.int4, pg_char_to_encoding: Oid.int4, width_bucket: Oid.int4,
  to_json: Oid.json, row_to_json: Oid.json, array_to_json: Oid.json, json_build_object: Oid.json,
  json_build_array: Oid.json, json_agg: Oid.json, json_object_agg: Oid.json, json_object: Oid.json,
  to_jsonb: Oid.jsonb, jsonb_build_object: Oid.jsonb, jsonb_build_array: Oid.jsonb, jsonb_agg: Oid.jsonb,
  jsonb_object_agg: Oid.jsonb, jsonb_object: Oid.jsonb, jsonb_set: Oid.jsonb, jsonb_strip_nulls: Oid.jsonb,
  gen_random_uuid: Oid.uuid, random: Oid.float8, pi: Oid.float8, sqrt: Oid.float8, cbrt: Oid.float8,
};
