import { isObj, list, only, sval } from '../ast';

/**
 * The name a result column gets when the SELECT gives it no alias: Postgres' FigureColname
 * (https://github.com/postgres/postgres/blob/master/src/backend/parser/parse_target.c) over
 * libpg-query's tree. psql headers and BI tools show these names, so they must match.
 */

const SQL_VALUE_NAMES: Readonly<Record<string, string>> = {
  SVFOP_CURRENT_DATE: 'current_date', SVFOP_CURRENT_TIME: 'current_time', SVFOP_CURRENT_TIME_N: 'current_time',
  SVFOP_CURRENT_TIMESTAMP: 'current_timestamp', SVFOP_CURRENT_TIMESTAMP_N: 'current_timestamp',
  SVFOP_LOCALTIME: 'localtime', SVFOP_LOCALTIME_N: 'localtime', SVFOP_LOCALTIMESTAMP: 'localtimestamp',
  SVFOP_LOCALTIMESTAMP_N: 'localtimestamp', SVFOP_CURRENT_ROLE: 'current_role', SVFOP_CURRENT_USER: 'current_user',
  SVFOP_USER: 'user', SVFOP_SESSION_USER: 'session_user', SVFOP_CURRENT_CATALOG: 'current_catalog',
  SVFOP_CURRENT_SCHEMA: 'current_schema',
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
    case 'SubLink':
      return subLinkName(v);
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

function subLinkName(v: Readonly<Record<string, unknown>>): string | undefined {
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
