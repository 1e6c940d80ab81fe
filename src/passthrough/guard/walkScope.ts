import { type AstObject, isObj, list, only, sval } from '../ast';
import { RefScope } from './objectRefs';

/**
 * What the SELECT walker (selectWalker.ts) knows at a point of the tree: the CTEs in scope (so a
 * CTE named like a hidden table is read as the CTE) and the FROM-clause names of each query level
 * (objectRefs.ts, for `alias.column` resolution), plus the small tree readers the walker needs for
 * FROM items.
 */

/** No columns. */
export const NO_COLUMNS: ReadonlySet<string> = new Set();

/** CTE names visible at a point of the tree, each with its output columns that carry catalog OIDs. */
export class Scope {
  constructor(private readonly names: ReadonlyMap<string, ReadonlySet<string>>, private readonly parent?: Scope) {}
  /** The scope of a statement's top level: no CTEs. */
  static readonly root = new Scope(new Map());
  /** A scope that also sees `ctes`. */
  with(ctes: ReadonlyMap<string, ReadonlySet<string>>): Scope {
    return ctes.size === 0 ? this : new Scope(ctes, this);
  }
  /** Whether `name` is a CTE visible here. */
  has(name: string): boolean {
    return this.names.has(name) || (this.parent?.has(name) ?? false);
  }
  /** The OID-carrying output columns of the visible CTE `name`. */
  safeColumns(name: string): ReadonlySet<string> {
    return this.names.get(name) ?? this.parent?.safeColumns(name) ?? NO_COLUMNS;
  }
}

/** CTEs and FROM-clause names at a point of the tree. */
export interface WalkScope {
  readonly ctes: Scope;
  readonly refs: RefScope;
}

/** The top of a statement. */
export const ROOT_SCOPE: WalkScope = { ctes: Scope.root, refs: RefScope.empty };

/** The alias a FROM item or join carries, if any. */
export function aliasOf(v: AstObject): { name: string; renamesColumns: boolean } | undefined {
  const alias = v['alias'];
  if (!isObj(alias)) return undefined;
  return { name: String(alias['aliasname']), renamesColumns: list(alias['colnames']).length > 0 };
}

/** The name a function in FROM gives its relation when it has no alias (the function's name). */
export function rangeFunctionName(v: AstObject): string | undefined {
  for (const f of list(v['functions'])) {
    const items = isObj(f) && isObj(f['List']) ? list(f['List']['items']) : [];
    const call = only(items[0]);
    if (call?.[0] === 'FuncCall') return list(call[1]['funcname']).map(sval).pop();
  }
  return undefined;
}

/** The name of a SELECT's output column, where the tree shows it (an alias, or a bare column reference). */
export function outputName(rt: AstObject): string | undefined {
  if (typeof rt['name'] === 'string') return rt['name'];
  const ref = only(rt['val']);
  if (ref?.[0] !== 'ColumnRef') return undefined;
  const fields = list(ref[1]['fields']);
  return sval(fields[fields.length - 1]);
}
