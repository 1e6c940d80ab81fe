import type { Engine } from '../engine/types';
import type { Logger } from '../log';
import { VIEWS, type ViewName } from '../views/registry';
import { catalogRule } from './catalog';
import type { AstObject } from './guard';
import { INT_OIDS, Oid, oidOfRegtype, oidOfTypeName, REGISTRY_OID } from './types';

/**
 * What a SELECT returns: column names and type OIDs, for RowDescription. Engine.query gives rows as
 * objects without field metadata, so names and types are worked out here:
 * 1. statically from the client's parse tree, the way Postgres names columns (FigureColname) and
 *    types them, with `*` expanded from the view registry, CTEs, subqueries and the catalog's own
 *    column lists (read once per catalog relation from the engine);
 * 2. where a type is still unknown, by asking the engine: `pg_typeof` over the statement under
 *    `LIMIT 0` (planned, not executed); cached per statement text;
 * 3. failing that, from the values themselves (see values.ts).
 */

/** One result column. `typeOid` undefined = not known yet. */
export interface ColumnInfo {
  readonly name: string;
  readonly typeOid: number | undefined;
}

/** A FROM item as far as column lookup needs it. `columns` undefined = unknown shape. */
interface Rel {
  readonly alias: string;
  readonly columns: readonly ColumnInfo[] | undefined;
  /** false: reachable by qualified name only (the sides of a JOIN ... USING). */
  readonly star?: boolean;
}

type Ctes = ReadonlyMap<string, readonly ColumnInfo[] | undefined>;

const isObj = (v: unknown): v is AstObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const sval = (v: unknown): string | undefined => (isObj(v) && isObj(v['String']) ? String(v['String']['sval'] ?? '') : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const only = (node: unknown): [string, AstObject] | undefined => {
  if (!isObj(node)) return undefined;
  const [k] = Object.keys(node);
  const v = k === undefined ? undefined : node[k];
  return k !== undefined && isObj(v) ? [k, v] : undefined;
};

/** Catalog relation → its columns (from the engine). */
export type CatalogColumns = ReadonlyMap<string, readonly ColumnInfo[] | undefined>;

/** Static description of a SELECT tree. */
export interface StaticDescription {
  /** undefined when the column list cannot be worked out statically. */
  readonly columns: readonly ColumnInfo[] | undefined;
  /** Inferred types of `$n` (index n-1), where the tree shows them. */
  readonly paramTypes: ReadonlyMap<number, number>;
}

/** Relations of the catalog a tree reads (for {@link ResultDescriber.catalogColumns}). */
export function catalogRelations(tree: unknown): string[] {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!isObj(v)) return;
    const rv = v['RangeVar'];
    if (isObj(rv)) {
      const schema = rv['schemaname'] as string | undefined;
      const name = String(rv['relname']);
      if (schema === 'pg_catalog' || schema === 'information_schema') out.add(`${schema}.${name}`);
      else if (schema === undefined && name.startsWith('pg_')) out.add(`pg_catalog.${name}`);
    }
    Object.values(v).forEach(walk);
  };
  walk(tree);
  return [...out];
}

/** Works out names and types statically (step 1). Pure: catalog columns are passed in. */
export function describeStatically(tree: AstObject, catalog: CatalogColumns): StaticDescription {
  const params = new Map<number, number>();
  const d = new StaticDescriber(catalog, params);
  let columns: readonly ColumnInfo[] | undefined;
  try {
    columns = d.select(tree, new Map());
  } catch {
    columns = undefined;
  }
  return { columns, paramTypes: params };
}

class StaticDescriber {
  constructor(private readonly catalog: CatalogColumns, private readonly params: Map<number, number>) {}

  select(s: AstObject, outer: Ctes): readonly ColumnInfo[] | undefined {
    const ctes = new Map(outer);
    const w = s['withClause'];
    if (isObj(w)) {
      for (const c of list(w['ctes'])) {
        const cte = isObj(c) && isObj(c['CommonTableExpr']) ? c['CommonTableExpr'] : undefined;
        if (cte === undefined) continue;
        const q = only(cte['ctequery']);
        let cols: readonly ColumnInfo[] | undefined;
        if (q?.[0] === 'SelectStmt') {
          // A recursive CTE's shape is its non-recursive term's.
          const body = q[1]['op'] !== undefined && q[1]['op'] !== 'SETOP_NONE' && isObj(q[1]['larg']) ? q[1]['larg'] : q[1];
          cols = this.select(body, ctes);
        }
        ctes.set(String(cte['ctename']), rename(cols, list(cte['aliascolnames']).map(sval)));
      }
    }
    if (s['op'] !== undefined && s['op'] !== 'SETOP_NONE') {
      const l = isObj(s['larg']) ? this.select(s['larg'], ctes) : undefined;
      const r = isObj(s['rarg']) ? this.select(s['rarg'], ctes) : undefined;
      if (l === undefined) return undefined;
      return l.map((c, i) => ({ name: c.name, typeOid: c.typeOid ?? r?.[i]?.typeOid }));
    }
    const values = list(s['valuesLists']);
    if (values.length > 0) {
      const first = only(values[0]);
      const items = first?.[0] === 'List' ? list(first[1]['items']) : [];
      return items.map((e, i) => ({ name: `column${i + 1}`, typeOid: this.expr(e, []) }));
    }
    const rels: Rel[] = [];
    for (const item of list(s['fromClause'])) this.fromItem(item, ctes, rels);
    for (const key of ['whereClause', 'havingClause']) this.expr(s[key], rels);
    const out: ColumnInfo[] = [];
    for (const t of list(s['targetList'])) {
      const rt = isObj(t) && isObj(t['ResTarget']) ? t['ResTarget'] : undefined;
      if (rt === undefined) return undefined;
      const val = rt['val'];
      const ref = only(val);
      if (ref?.[0] === 'ColumnRef') {
        const fields = list(ref[1]['fields']);
        const last = fields[fields.length - 1];
        if (isObj(last) && 'A_Star' in last) {
          const qual = fields.length >= 2 ? sval(fields[fields.length - 2]) : undefined;
          const from = qual === undefined ? rels.filter((r) => r.star !== false) : rels.filter((r) => r.alias === qual);
          if (from.length === 0) return undefined;
          for (const r of from) {
            if (r.columns === undefined) return undefined;
            out.push(...r.columns);
          }
          continue;
        }
      }
      const name = (rt['name'] as string | undefined) ?? figureColname(val) ?? '?column?';
      out.push({ name, typeOid: this.expr(val, rels) });
    }
    for (const key of ['limitCount', 'limitOffset']) this.noteParam(s[key], Oid.int8);
    return out;
  }

  private fromItem(item: unknown, ctes: Ctes, rels: Rel[]): void {
    const node = only(item);
    if (node === undefined) return;
    const [kind, v] = node;
    const alias = isObj(v['alias']) ? v['alias'] : undefined;
    const aliasName = alias === undefined ? undefined : String(alias['aliasname']);
    const colnames = alias === undefined ? [] : list(alias['colnames']).map(sval);
    switch (kind) {
      case 'RangeVar': {
        const schema = v['schemaname'] as string | undefined;
        const name = String(v['relname']);
        let cols: readonly ColumnInfo[] | undefined;
        if (schema === undefined && ctes.has(name)) cols = ctes.get(name);
        else if ((schema === undefined || schema === 'public') && Object.prototype.hasOwnProperty.call(VIEWS, name)) {
          cols = VIEWS[name as ViewName].columns.map((c) => ({ name: c.name, typeOid: REGISTRY_OID[c.type] }));
        } else {
          const s = schema ?? 'pg_catalog';
          cols = this.catalog.get(`${s}.${name}`);
          const rule = s === 'pg_catalog' || s === 'information_schema' ? catalogRule(s, name) : undefined;
          if (cols !== undefined && rule?.columns !== undefined) {
            const masked = rule.columns.map((c) => (typeof c === 'string' ? c : c.name));
            cols = masked.map((m) => cols!.find((c) => c.name === m) ?? { name: m, typeOid: Oid.text });
          }
        }
        rels.push({ alias: aliasName ?? name, columns: rename(cols, colnames) });
        return;
      }
      case 'RangeSubselect': {
        const q = only(v['subquery']);
        const cols = q?.[0] === 'SelectStmt' ? this.select(q[1], ctes) : undefined;
        rels.push({ alias: aliasName ?? '', columns: rename(cols, colnames) });
        return;
      }
      case 'JoinExpr': {
        const inner: Rel[] = [];
        this.fromItem(v['larg'], ctes, inner);
        this.fromItem(v['rarg'], ctes, inner);
        this.expr(v['quals'], inner);
        const using = list(v['usingClause']).map(sval).filter((n): n is string => n !== undefined);
        if (v['isNatural'] === true) {
          rels.push(...inner.map((r) => ({ ...r, columns: undefined })));
          return;
        }
        if (aliasName !== undefined || using.length > 0) {
          // USING merges columns: `*` shows each merged column once, first; qualified names still
          // reach both sides.
          const all = inner.every((r) => r.columns !== undefined) ? inner.flatMap((r) => r.columns!) : undefined;
          const cols = all === undefined ? undefined
            : [...using.map((n) => all.find((c) => c.name === n) ?? { name: n, typeOid: undefined }), ...all.filter((c) => !using.includes(c.name))];
          if (aliasName !== undefined) {
            rels.push({ alias: aliasName, columns: rename(cols, colnames) });
            return;
          }
          rels.push({ alias: '', columns: cols }, ...inner.map((r) => ({ ...r, star: false })));
          return;
        }
        rels.push(...inner);
        return;
      }
      default:
        rels.push({ alias: aliasName ?? '', columns: undefined });
    }
  }

  /** Type of an expression; also records parameter types it reveals. */
  expr(e: unknown, rels: readonly Rel[]): number | undefined {
    const node = only(e);
    if (node === undefined) return undefined;
    const [kind, v] = node;
    switch (kind) {
      case 'ColumnRef':
        return this.column(list(v['fields']).map(sval), rels);
      case 'A_Const':
        if (isObj(v['ival'])) return Oid.int4;
        if (isObj(v['fval'])) return Oid.numeric;
        if (isObj(v['boolval'])) return Oid.bool;
        return Oid.text;
      case 'TypeCast': {
        const t = isObj(v['typeName']) ? v['typeName'] : {};
        const names = list(t['names']).map(sval);
        const oid = oidOfTypeName(names[names.length - 1] ?? '', list(t['arrayBounds']).length > 0);
        this.noteParam(v['arg'], oid);
        this.expr(v['arg'], rels);
        return oid;
      }
      case 'FuncCall':
        return this.func(v, rels);
      case 'A_Expr':
        return this.operator(v, rels);
      case 'BoolExpr':
        list(v['args']).forEach((a) => this.expr(a, rels));
        return Oid.bool;
      case 'NullTest':
      case 'BooleanTest':
        return Oid.bool;
      case 'SubLink': {
        const type = v['subLinkType'];
        if (type === 'EXISTS_SUBLINK' || type === 'ANY_SUBLINK' || type === 'ALL_SUBLINK') return Oid.bool;
        if (type === 'EXPR_SUBLINK') {
          const q = only(v['subselect']);
          return q?.[0] === 'SelectStmt' ? this.select(q[1], new Map())?.[0]?.typeOid : undefined;
        }
        return undefined;
      }
      case 'CaseExpr': {
        for (const w of list(v['args'])) {
          const cw = only(w);
          if (cw?.[0] === 'CaseWhen') {
            this.expr(cw[1]['expr'], rels);
            const t = this.expr(cw[1]['result'], rels);
            if (t !== undefined && !isNullConst(cw[1]['result'])) return t;
          }
        }
        return this.expr(v['defresult'], rels);
      }
      case 'CoalesceExpr':
      case 'MinMaxExpr': {
        const types = list(v['args']).map((a) => this.expr(a, rels));
        return types.find((t, i) => t !== undefined && !isNullConst(list(v['args'])[i]));
      }
      case 'SQLValueFunction':
        return SQL_VALUE_TYPES[String(v['op'])];
      case 'CollateClause':
        return this.expr(v['arg'], rels);
      default:
        return undefined;
    }
  }

  private column(fields: ReadonlyArray<string | undefined>, rels: readonly Rel[]): number | undefined {
    const name = fields[fields.length - 1];
    if (name === undefined) return undefined;
    if (fields.length >= 2) {
      const qual = fields[fields.length - 2];
      const r = rels.find((x) => x.alias === qual);
      return r?.columns?.find((c) => c.name === name)?.typeOid;
    }
    for (const r of rels) {
      const c = r.columns?.find((x) => x.name === name);
      if (c !== undefined) return c.typeOid;
    }
    return undefined;
  }

  private noteParam(e: unknown, oid: number | undefined): void {
    const node = only(e);
    if (node?.[0] === 'ParamRef' && oid !== undefined) {
      const n = Number(node[1]['number'] ?? 0);
      if (n > 0 && !this.params.has(n)) this.params.set(n, oid);
    }
  }

  private operator(v: AstObject, rels: readonly Rel[]): number | undefined {
    const kind = String(v['kind']);
    const op = list(v['name']).map(sval).pop() ?? '';
    const l = this.expr(v['lexpr'], rels);
    const rexpr = v['rexpr'];
    const r = Array.isArray(rexpr) ? (rexpr.map((x) => this.expr(x, rels)).find((t) => t !== undefined)) : this.expr(rexpr, rels);
    // `col = $1`, `$1 < col`, `col IN ($1, $2)`: the parameter takes the other side's type.
    this.noteParam(v['lexpr'], r);
    if (Array.isArray(rexpr)) rexpr.forEach((x) => this.noteParam(x, l));
    else this.noteParam(rexpr, l);
    if (kind !== 'AEXPR_OP') return kind === 'AEXPR_NULLIF' ? l : Oid.bool;
    if (['=', '<>', '!=', '<', '>', '<=', '>=', '~', '~*', '!~', '!~*', '~~', '!~~', '~~*', '!~~*', '@>', '<@', '&&', '?', '?|', '?&'].includes(op)) return Oid.bool;
    if (op === '||') return l === Oid.jsonb ? Oid.jsonb : Oid.text;
    if (op === '->>' || op === '#>>') return Oid.text;
    if (op === '->' || op === '#>') return l;
    if (['+', '-', '*', '/', '%'].includes(op)) return arithmetic(op, l, r);
    return undefined;
  }

  private func(v: AstObject, rels: readonly Rel[]): number | undefined {
    const name = list(v['funcname']).map(sval).pop() ?? '';
    const args = list(v['args']);
    const argTypes = args.map((a) => this.expr(a, rels));
    const a0 = argTypes[0];
    if (v['agg_star'] === true && name === 'count') return Oid.int8;
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
        return a0 === Oid.float8 && args.length === 1 ? Oid.float8 : Oid.numeric;
      case 'date_trunc':
        return argTypes[1] === Oid.timestamp ? Oid.timestamp : argTypes[1] === Oid.interval ? Oid.interval : Oid.timestamptz;
      case 'timezone':
        return argTypes[1] === Oid.timestamp ? Oid.timestamptz : argTypes[1] === Oid.timestamptz ? Oid.timestamp : undefined;
      default:
        return undefined;
    }
  }
}

function isNullConst(e: unknown): boolean {
  const n = only(e);
  return n?.[0] === 'A_Const' && n[1]['isnull'] === true;
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

const SQL_VALUE_TYPES: Readonly<Record<string, number>> = {
  SVFOP_CURRENT_DATE: Oid.date, SVFOP_CURRENT_TIME: Oid.timetz, SVFOP_CURRENT_TIME_N: Oid.timetz,
  SVFOP_CURRENT_TIMESTAMP: Oid.timestamptz, SVFOP_CURRENT_TIMESTAMP_N: Oid.timestamptz, SVFOP_LOCALTIME: Oid.time,
  SVFOP_LOCALTIME_N: Oid.time, SVFOP_LOCALTIMESTAMP: Oid.timestamp, SVFOP_LOCALTIMESTAMP_N: Oid.timestamp,
  SVFOP_CURRENT_ROLE: Oid.name, SVFOP_CURRENT_USER: Oid.name, SVFOP_USER: Oid.name, SVFOP_SESSION_USER: Oid.name,
  SVFOP_CURRENT_CATALOG: Oid.name, SVFOP_CURRENT_SCHEMA: Oid.name,
};

const SQL_VALUE_NAMES: Readonly<Record<string, string>> = {
  SVFOP_CURRENT_DATE: 'current_date', SVFOP_CURRENT_TIME: 'current_time', SVFOP_CURRENT_TIME_N: 'current_time',
  SVFOP_CURRENT_TIMESTAMP: 'current_timestamp', SVFOP_CURRENT_TIMESTAMP_N: 'current_timestamp',
  SVFOP_LOCALTIME: 'localtime', SVFOP_LOCALTIME_N: 'localtime', SVFOP_LOCALTIMESTAMP: 'localtimestamp',
  SVFOP_LOCALTIMESTAMP_N: 'localtimestamp', SVFOP_CURRENT_ROLE: 'current_role', SVFOP_CURRENT_USER: 'current_user',
  SVFOP_USER: 'user', SVFOP_SESSION_USER: 'session_user', SVFOP_CURRENT_CATALOG: 'current_catalog',
  SVFOP_CURRENT_SCHEMA: 'current_schema',
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

/** Postgres' FigureColname: the name a result column gets without an alias. */
export function figureColname(e: unknown): string | undefined {
  const node = only(e);
  if (node === undefined) return undefined;
  const [kind, v] = node;
  switch (kind) {
    case 'ColumnRef': {
      const fields = list(v['fields']);
      return sval(fields[fields.length - 1]);
    }
    case 'A_Indirection': {
      const ind = list(v['indirection']);
      const last = sval(ind[ind.length - 1]);
      return last ?? figureColname(v['arg']);
    }
    case 'FuncCall': {
      const names = list(v['funcname']);
      return sval(names[names.length - 1]);
    }
    case 'A_Expr':
      return v['kind'] === 'AEXPR_NULLIF' ? 'nullif' : undefined;
    case 'TypeCast': {
      const inner = figureColname(v['arg']);
      if (inner !== undefined && strength(v['arg']) > 1) return inner;
      const names = list(isObj(v['typeName']) ? v['typeName']['names'] : []);
      return sval(names[names.length - 1]) ?? inner;
    }
    case 'CollateClause':
      return figureColname(v['arg']);
    case 'SubLink': {
      const type = v['subLinkType'];
      if (type === 'EXISTS_SUBLINK') return 'exists';
      if (type === 'ARRAY_SUBLINK') return 'array';
      if (type === 'EXPR_SUBLINK') {
        const q = only(v['subselect']);
        const t = q?.[0] === 'SelectStmt' ? list(q[1]['targetList'])[0] : undefined;
        const rt = isObj(t) && isObj(t['ResTarget']) ? t['ResTarget'] : undefined;
        return rt === undefined ? undefined : (rt['name'] as string | undefined) ?? figureColname(rt['val']);
      }
      return undefined;
    }
    case 'CaseExpr':
      return 'case';
    case 'A_ArrayExpr':
      return 'array';
    case 'RowExpr':
      return 'row';
    case 'CoalesceExpr':
      return 'coalesce';
    case 'MinMaxExpr':
      return v['op'] === 'IS_LEAST' ? 'least' : 'greatest';
    case 'SQLValueFunction':
      return SQL_VALUE_NAMES[String(v['op'])];
    case 'GroupingFunc':
      return 'grouping';
    case 'XmlExpr':
      return String(v['op'] ?? '').replace(/^IS_/, '').toLowerCase() || undefined;
    default:
      return undefined;
  }
}

/** FigureColnameInternal's strength: 2 for a real name, 1 for a keyword-ish one, 0 for none. */
function strength(e: unknown): number {
  const node = only(e);
  if (node === undefined) return 0;
  switch (node[0]) {
    case 'ColumnRef': case 'FuncCall': case 'A_Indirection': case 'SubLink': case 'CollateClause':
      return figureColname(e) === undefined ? 0 : 2;
    case 'CaseExpr': case 'A_ArrayExpr': case 'RowExpr': case 'CoalesceExpr': case 'MinMaxExpr': case 'SQLValueFunction':
    case 'GroupingFunc': case 'XmlExpr':
      return 2;
    case 'TypeCast':
      return strength(node[1]['arg']) > 1 ? 2 : 1;
    case 'A_Expr':
      return node[1]['kind'] === 'AEXPR_NULLIF' ? 2 : 0;
    default:
      return 0;
  }
}

function rename(cols: readonly ColumnInfo[] | undefined, names: ReadonlyArray<string | undefined>): readonly ColumnInfo[] | undefined {
  if (cols === undefined || names.length === 0) return cols;
  return cols.map((c, i) => ({ name: names[i] ?? c.name, typeOid: c.typeOid }));
}

// ---------------------------------------------------------------------------------------------
// Engine-backed steps (catalog column lists, type probes), cached.

/** Column lists of catalog relations and type probes, cached per engine. */
export class ResultDescriber {
  private readonly catalogCache = new Map<string, Promise<readonly ColumnInfo[] | undefined>>();
  private readonly probeCache = new Map<string, readonly number[] | undefined>();

  constructor(private readonly engine: Engine, private readonly log: Logger, private readonly cacheSize = 500) {}

  /** Columns of the catalog relations `tree` reads. */
  async catalogColumns(tree: unknown): Promise<CatalogColumns> {
    const out = new Map<string, readonly ColumnInfo[] | undefined>();
    for (const rel of catalogRelations(tree)) out.set(rel, await this.columnsOf(rel));
    return out;
  }

  private columnsOf(rel: string): Promise<readonly ColumnInfo[] | undefined> {
    let p = this.catalogCache.get(rel);
    if (p === undefined) {
      p = this.engine.query<{ name: string; oid: string | number }>(
        `SELECT a.attname::text AS name, (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END)::int8 AS oid
           FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
          WHERE a.attrelid = ($1::text)::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, [rel])
        .then((rows) => (rows.length === 0 ? undefined : rows.map((r) => ({ name: r.name, typeOid: Number(r.oid) }))))
        .catch((err: unknown) => {
          this.log.debug({ rel, err: err instanceof Error ? err.message : String(err) }, 'catalog columns unavailable');
          this.catalogCache.delete(rel);
          return undefined;
        });
      this.catalogCache.set(rel, p);
    }
    return p;
  }

  /**
   * Step 2: exact types of the `n` result columns of `sql` (the engine SQL), from `pg_typeof` under
   * `LIMIT 0` (the statement is planned, not run). Domains resolve to their base type.
   * undefined when the engine cannot answer.
   */
  async probeTypes(sql: string, n: number, params: readonly unknown[]): Promise<readonly number[] | undefined> {
    const key = `${n}\0${sql}`;
    if (this.probeCache.has(key)) return this.probeCache.get(key);
    const aliases = Array.from({ length: n }, (_, i) => `c${i}`);
    // regtype printed as text: works wherever pg_typeof does (Postgres, PGlite, RisingWave).
    const selects = aliases.map((a, i) => `pg_catalog.pg_typeof(w.${a})::text AS t${i}`);
    const probe = `SELECT ${selects.join(', ')} FROM (SELECT 1) AS __wg_d LEFT JOIN (SELECT * FROM (\n${sql}\n) AS __wg_s LIMIT 0) AS w(${aliases.join(', ')}) ON true`;
    let result: readonly number[] | undefined;
    try {
      const [row] = await this.engine.query<Record<string, string | null>>(probe, params.map(() => null));
      result = row === undefined ? undefined : aliases.map((_, i) => oidOfRegtype(String(row[`t${i}`] ?? 'text')) ?? Oid.text);
    } catch (err) {
      this.log.debug({ err: err instanceof Error ? err.message : String(err) }, 'type probe failed');
      result = undefined;
    }
    if (this.probeCache.size >= this.cacheSize) this.probeCache.delete(this.probeCache.keys().next().value!);
    this.probeCache.set(key, result);
    return result;
  }

  /** Column names of `sql` when the tree could not tell them (duplicates collapse). */
  async probeNames(sql: string, params: readonly unknown[]): Promise<readonly string[] | undefined> {
    try {
      const [row] = await this.engine.query<Record<string, unknown>>(
        `SELECT w.* FROM (SELECT 1) AS __wg_d LEFT JOIN (SELECT * FROM (\n${sql}\n) AS __wg_s LIMIT 0) AS w ON true`, params.map(() => null));
      return row === undefined ? undefined : Object.keys(row);
    } catch (err) {
      this.log.debug({ err: err instanceof Error ? err.message : String(err) }, 'name probe failed');
      return undefined;
    }
  }
}
