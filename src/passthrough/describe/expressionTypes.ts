import { type AstObject, isObj, list, only, sval } from '../ast';
import { REG_TYPES } from '../guard/objectRefs';
import { Oid, oidOfTypeName } from '../types';
import { functionType, operatorType, SQL_VALUE_TYPES } from './resultTypes';
import type { ColumnInfo } from './staticDescription';

/**
 * Types of expressions in a SELECT's tree (literals, casts, column references, operators, function
 * calls, CASE, COALESCE, scalar subqueries), for staticDescription.ts. Along the way it records the
 * types parameters must have (`col = $1` gives `$1` the column's type), for ParameterDescription.
 */

/** A FROM item as far as column lookup needs it. `columns` undefined = unknown shape. */
export interface Rel {
  readonly alias: string;
  readonly columns: readonly ColumnInfo[] | undefined;
  /** false: reachable by qualified name only (the sides of a JOIN ... USING). */
  readonly star?: boolean;
}

/** Expression typing for one statement. */
export class ExpressionTyper {
  /**
   * `params`: parameter number → type, filled in as parameters are seen in typed positions;
   * `subquery`: the columns of a nested SELECT (for scalar subqueries).
   */
  constructor(
    private readonly params: Map<number, number>,
    private readonly subquery: (select: AstObject) => readonly ColumnInfo[] | undefined,
  ) {}

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
        const last = names[names.length - 1] ?? '';
        const oid = oidOfTypeName(last, list(t['arrayBounds']).length > 0);
        this.noteParam(v['arg'], oid);
        this.expr(v['arg'], rels);
        // The guard rewrites reg* casts per engine (guard/expressionRules.ts): the engine reports the type.
        return REG_TYPES.has(last) ? undefined : oid;
      }
      case 'FuncCall': {
        const argTypes = list(v['args']).map((a) => this.expr(a, rels));
        return functionType(list(v['funcname']).map(sval).pop() ?? '', argTypes, v['agg_star'] === true);
      }
      case 'A_Expr':
        return this.operator(v, rels);
      case 'BoolExpr':
        list(v['args']).forEach((a) => this.expr(a, rels));
        return Oid.bool;
      case 'NullTest':
      case 'BooleanTest':
        return Oid.bool;
      case 'SubLink':
        return this.subLink(v);
      case 'CaseExpr':
        return this.caseExpr(v, rels);
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

  private subLink(v: AstObject): number | undefined {
    const type = v['subLinkType'];
    if (type === 'EXISTS_SUBLINK' || type === 'ANY_SUBLINK' || type === 'ALL_SUBLINK') return Oid.bool;
    if (type !== 'EXPR_SUBLINK') return undefined;
    const q = only(v['subselect']);
    return q?.[0] === 'SelectStmt' ? this.subquery(q[1])?.[0]?.typeOid : undefined;
  }

  private caseExpr(v: AstObject, rels: readonly Rel[]): number | undefined {
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

  /** Records `oid` as the type of `e` when `e` is a parameter not typed yet. */
  noteParam(e: unknown, oid: number | undefined): void {
    const node = only(e);
    if (node?.[0] === 'ParamRef' && oid !== undefined) {
      const n = Number(node[1]['number'] ?? 0);
      if (n > 0 && !this.params.has(n)) this.params.set(n, oid);
    }
  }

  private operator(v: AstObject, rels: readonly Rel[]): number | undefined {
    const op = list(v['name']).map(sval).pop() ?? '';
    const l = this.expr(v['lexpr'], rels);
    const rexpr = v['rexpr'];
    const r = Array.isArray(rexpr) ? (rexpr.map((x) => this.expr(x, rels)).find((t) => t !== undefined)) : this.expr(rexpr, rels);
    // `col = $1`, `$1 < col`, `col IN ($1, $2)`: the parameter takes the other side's type.
    this.noteParam(v['lexpr'], r);
    if (Array.isArray(rexpr)) rexpr.forEach((x) => this.noteParam(x, l));
    else this.noteParam(rexpr, l);
    return operatorType(String(v['kind']), op, l, r);
  }
}

function isNullConst(e: unknown): boolean {
  const n = only(e);
  return n?.[0] === 'A_Const' && n[1]['isnull'] === true;
}
