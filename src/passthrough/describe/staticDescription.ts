import { findView } from '../../views/find';
import { bundledRegistry } from '../../views/load';
import type { Registry } from '../../views/model';
import { type AstObject, isObj, list, only, sval } from '../ast';
import { type CatalogFlavor, catalogRule } from '../catalog';
import { Oid, REGISTRY_OID } from '../types';
import { figureColname } from './columnNames';
import { ExpressionTyper, type Rel } from './expressionTypes';

/**
 * Step 1 of describing a result (describer.ts has the overview): names and types worked out from
 * the client's parse tree alone, the way Postgres names columns (columnNames.ts) and types them
 * (expressionTypes.ts, resultTypes.ts), with `*` expanded from the view registry, CTEs, subqueries
 * and the catalog's own column lists (passed in). Pure: no engine access here.
 */

/** One result column. `typeOid` undefined = not known yet. */
export interface ColumnInfo {
  readonly name: string;
  readonly typeOid: number | undefined;
}

/** Catalog relation → its columns (from the engine). */
export type CatalogColumns = ReadonlyMap<string, readonly ColumnInfo[] | undefined>;

/** Static description of a SELECT tree. */
export interface StaticDescription {
  /** undefined when the column list cannot be worked out statically. */
  readonly columns: readonly ColumnInfo[] | undefined;
  /** Inferred types of `$n` (index n-1), where the tree shows them. */
  readonly paramTypes: ReadonlyMap<number, number>;
}

type Ctes = ReadonlyMap<string, readonly ColumnInfo[] | undefined>;

/** Relations of the catalog a tree reads (`schema.name`), whose column lists step 1 needs. */
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

/**
 * Works out names and types statically (step 1). Pure: the engine's catalog columns are passed in,
 * with the flavour of its catalog (which decides how catalog.ts masks them).
 */
export function describeStatically(tree: AstObject, catalog: CatalogColumns, flavor: CatalogFlavor = 'postgres', views: Registry = bundledRegistry()): StaticDescription {
  const params = new Map<number, number>();
  const d = new StaticDescriber(catalog, params, flavor, views);
  let columns: readonly ColumnInfo[] | undefined;
  try {
    columns = d.select(tree, new Map());
  } catch {
    columns = undefined;
  }
  return { columns, paramTypes: params };
}

/** Describes one SELECT tree: FROM items, `*` expansion, target names; set operations and VALUES. */
class StaticDescriber {
  private readonly types: ExpressionTyper;

  constructor(private readonly catalog: CatalogColumns, params: Map<number, number>, private readonly flavor: CatalogFlavor,
    private readonly views: Registry) {
    this.types = new ExpressionTyper(params, (select) => this.select(select, new Map()));
  }

  select(s: AstObject, outer: Ctes): readonly ColumnInfo[] | undefined {
    const ctes = this.withClause(s, outer);
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
      return items.map((e, i) => ({ name: `column${i + 1}`, typeOid: this.types.expr(e, []) }));
    }
    const rels: Rel[] = [];
    for (const item of list(s['fromClause'])) this.fromItem(item, ctes, rels);
    for (const key of ['whereClause', 'havingClause']) this.types.expr(s[key], rels);
    const out: ColumnInfo[] = [];
    for (const t of list(s['targetList'])) {
      const rt = isObj(t) && isObj(t['ResTarget']) ? t['ResTarget'] : undefined;
      if (rt === undefined) return undefined;
      const val = rt['val'];
      const star = this.star(val, rels);
      if (star === 'unknown') return undefined;
      if (star !== undefined) {
        out.push(...star);
        continue;
      }
      const name = (rt['name'] as string | undefined) ?? figureColname(val) ?? '?column?';
      out.push({ name, typeOid: this.types.expr(val, rels) });
    }
    for (const key of ['limitCount', 'limitOffset']) this.types.noteParam(s[key], Oid.int8);
    return out;
  }

  /** The CTEs visible in `s`'s body: the outer ones plus its own WITH clause. */
  private withClause(s: AstObject, outer: Ctes): Ctes {
    const ctes = new Map(outer);
    const w = s['withClause'];
    if (!isObj(w)) return ctes;
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
    return ctes;
  }

  /** Columns of `*` / `rel.*`; undefined when `val` is no star, 'unknown' when its columns are not known. */
  private star(val: unknown, rels: readonly Rel[]): readonly ColumnInfo[] | 'unknown' | undefined {
    const ref = only(val);
    if (ref?.[0] !== 'ColumnRef') return undefined;
    const fields = list(ref[1]['fields']);
    const last = fields[fields.length - 1];
    if (!isObj(last) || !('A_Star' in last)) return undefined;
    const qual = fields.length >= 2 ? sval(fields[fields.length - 2]) : undefined;
    const from = qual === undefined ? rels.filter((r) => r.star !== false) : rels.filter((r) => r.alias === qual);
    if (from.length === 0 || from.some((r) => r.columns === undefined)) return 'unknown';
    return from.flatMap((r) => r.columns!);
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
        const name = String(v['relname']);
        const cols = this.relationColumns(v['schemaname'] as string | undefined, name, ctes);
        rels.push({ alias: aliasName ?? name, columns: rename(cols, colnames) });
        return;
      }
      case 'RangeSubselect': {
        const q = only(v['subquery']);
        const cols = q?.[0] === 'SelectStmt' ? this.select(q[1], ctes) : undefined;
        rels.push({ alias: aliasName ?? '', columns: rename(cols, colnames) });
        return;
      }
      case 'JoinExpr':
        this.join(v, ctes, rels, aliasName, colnames);
        return;
      default:
        rels.push({ alias: aliasName ?? '', columns: undefined });
    }
  }

  /** Columns of a named relation: a CTE, a published view, or a catalog relation (masked as catalog.ts masks it). */
  private relationColumns(schema: string | undefined, name: string, ctes: Ctes): readonly ColumnInfo[] | undefined {
    if (schema === undefined && ctes.has(name)) return ctes.get(name);
    const view = schema === undefined || schema === 'public' ? findView(this.views, name) : undefined;
    if (view !== undefined) return view.columns.map((c) => ({ name: c.name, typeOid: REGISTRY_OID[c.type] }));
    const s = schema ?? 'pg_catalog';
    const cols = this.catalog.get(`${s}.${name}`);
    const rule = s === 'pg_catalog' || s === 'information_schema' ? catalogRule(this.flavor, s, name) : undefined;
    if (cols === undefined || rule?.columns === undefined) return cols;
    return rule.columns.map((m) => {
      if (typeof m !== 'string' && 'asOid' in m) return { name: m.name, typeOid: Oid.oid };
      const name = typeof m === 'string' ? m : m.name;
      return cols.find((c) => c.name === name) ?? { name, typeOid: Oid.text };
    });
  }

  private join(v: AstObject, ctes: Ctes, rels: Rel[], aliasName: string | undefined, colnames: ReadonlyArray<string | undefined>): void {
    const inner: Rel[] = [];
    this.fromItem(v['larg'], ctes, inner);
    this.fromItem(v['rarg'], ctes, inner);
    this.types.expr(v['quals'], inner);
    const using = list(v['usingClause']).map(sval).filter((n): n is string => n !== undefined);
    if (v['isNatural'] === true) {
      rels.push(...inner.map((r) => ({ ...r, columns: undefined })));
      return;
    }
    if (aliasName === undefined && using.length === 0) {
      rels.push(...inner);
      return;
    }
    // USING merges columns: `*` shows each merged column once, first; qualified names still
    // reach both sides.
    const all = inner.every((r) => r.columns !== undefined) ? inner.flatMap((r) => r.columns!) : undefined;
    const cols = all === undefined ? undefined
      : [...using.map((n) => all.find((c) => c.name === n) ?? { name: n, typeOid: undefined }), ...all.filter((c) => !using.includes(c.name))];
    if (aliasName !== undefined) rels.push({ alias: aliasName, columns: rename(cols, colnames) });
    else rels.push({ alias: '', columns: cols }, ...inner.map((r) => ({ ...r, star: false })));
  }
}

function rename(cols: readonly ColumnInfo[] | undefined, names: ReadonlyArray<string | undefined>): readonly ColumnInfo[] | undefined {
  if (cols === undefined || names.length === 0) return cols;
  return cols.map((c, i) => ({ name: names[i] ?? c.name, typeOid: c.typeOid }));
}
