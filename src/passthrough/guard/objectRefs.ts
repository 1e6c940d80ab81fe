import { type AstObject, isObj, list, only, sval } from '../ast';
import { type CatalogFlavor, exposedCatalogRelations } from '../catalog';
import { ALLOWED_FUNCTIONS, ALLOWED_TYPES } from '../allowlist';
import { SqlRefusal, SqlState } from '../sqlstate';
import { findView } from '../../views/find';
import type { Registry } from '../../views/model';

/**
 * Object identifiers (OIDs) and object names in expressions. The engine resolves them against its
 * whole catalog, hidden objects included: `16390::regclass` prints the outbox's name,
 * `pg_get_indexdef(16402)` an internal index, and `'outbox'::regclass` answers while a missing name
 * fails — an existence oracle. So (docs/SQL.md, "The catalog"):
 * - a function that takes an object's OID ({@link OBJECT_OID_ARGS}) and a cast of a value to a
 *   `reg*` type take only a column of a (filtered) catalog relation — `c.oid`, `a.atttypid` —
 *   possibly through a subquery or CTE that passes it on unchanged; such a column holds only OIDs
 *   of objects the client may see. An unqualified column is accepted only when every FROM item in
 *   scope would supply it that way. NULL and 0 are allowed.
 * - a cast of a string literal to a `reg*` type is a lookup by name: allowed only for names the
 *   client may see (published views, catalog relations, built-in types and functions, the three
 *   schemas); any other name gets the engine's own "does not exist" answer from the guard, so hidden
 *   and missing names look the same.
 * - everything else reaching a `reg*` type (parameters, expressions, other type positions such as
 *   `JSON_VALUE(... RETURNING regclass)`) is refused.
 * This module holds the facts and the scope model; selectWalker.ts applies them.
 */

/**
 * Allowlisted functions that take an object's OID, and the argument positions that do. A test
 * (passthrough-catalog.test.ts) fails when an allowlisted function with an OID-like parameter is
 * missing here.
 */
export const OBJECT_OID_ARGS: ReadonlyMap<string, readonly number[]> = new Map([
  ['format_type', [0]], ['pg_get_userbyid', [0]], ['pg_table_is_visible', [0]], ['pg_type_is_visible', [0]],
  ['pg_function_is_visible', [0]], ['pg_get_function_arguments', [0]], ['pg_get_function_identity_arguments', [0]],
  ['pg_get_function_result', [0]], ['pg_get_constraintdef', [0]], ['pg_get_indexdef', [0]], ['pg_get_partkeydef', [0]],
  ['pg_get_expr', [0, 1]], ['obj_description', [0]], ['col_description', [0]], ['shobj_description', [0]],
]);

/** The `reg*` types: values that are OIDs printed, and read, as object names. */
export const REG_TYPES: ReadonlySet<string> = new Set([
  'regclass', 'regproc', 'regprocedure', 'regtype', 'regnamespace', 'regrole', 'regoper', 'regoperator', 'regconfig',
  'regdictionary', 'regcollation',
]);

/** The `reg*` type a TypeName names (unqualified or in pg_catalog), if any. */
export function regTypeOf(typeName: AstObject): string | undefined {
  const parts = list(typeName['names']).map(sval);
  const name = parts[parts.length - 1];
  if (name === undefined || !REG_TYPES.has(name)) return undefined;
  return parts.length === 1 || (parts.length === 2 && parts[0] === 'pg_catalog') ? name : undefined;
}

/** What a name in a FROM clause stands for, as far as OIDs go. */
export type RefKind =
  | { readonly kind: 'catalog' }
  /** A subquery or CTE: `safe` are its output columns that pass a catalog OID column on unchanged. */
  | { readonly kind: 'derived'; readonly safe: ReadonlySet<string> }
  | { readonly kind: 'other' };

/**
 * One FROM item of a query level: the name it makes visible (a relation's alias, or its name when
 * it has none; undefined for a subquery without alias) and what it stands for.
 */
export interface RefItem {
  readonly refname: string | undefined;
  readonly ref: RefKind;
}

/**
 * The FROM-clause names visible at a point of a statement, by query level, as Postgres resolves
 * `alias.column`: the innermost level that has the alias wins. Levels are built by the walker as
 * Postgres builds its namespaces (a non-LATERAL subquery in FROM does not see its siblings, a JOIN's
 * ON clause sees only the join's inputs, an aliased join hides the names inside it).
 */
export class RefScope {
  private constructor(private readonly items: readonly RefItem[], private readonly parent: RefScope | undefined) {}
  /** No names at all (the top of a statement). */
  static readonly empty = new RefScope([], undefined);
  /** A new innermost level holding `items`. */
  child(items: readonly RefItem[]): RefScope {
    return new RefScope(items, this);
  }
  /** What `refname` may stand for: the matches of the innermost level that has one. */
  resolve(refname: string): readonly RefKind[] {
    const here = this.items.filter((i) => i.refname === refname).map((i) => i.ref);
    if (here.length > 0) return here;
    return this.parent?.resolve(refname) ?? [];
  }
  /** Whether there is a FROM item at all, and every item of every level satisfies `ok`. */
  everyItem(ok: (ref: RefKind) => boolean): boolean {
    let any = false;
    for (let s: RefScope | undefined = this; s !== undefined; s = s.parent) {
      if (!s.items.every((i) => ok(i.ref))) return false;
      any ||= s.items.length > 0;
    }
    return any;
  }
}

/**
 * Whether `e` can only be the OID of an object the client may see (or NULL/0): a qualified column
 * of a catalog relation, or of a subquery/CTE output that passes one on, possibly cast to `oid` or
 * a `reg*` type.
 */
export function isVisibleObjectRef(e: unknown, refs: RefScope): boolean {
  const node = only(e);
  if (node === undefined) return false;
  const [kind, v] = node;
  if (kind === 'A_Const') return v['isnull'] === true || (isObj(v['ival']) && Number(v['ival']['ival'] ?? 0) === 0);
  if (kind === 'TypeCast') {
    const t = isObj(v['typeName']) ? v['typeName'] : {};
    const parts = list(t['names']).map(sval);
    const name = parts[parts.length - 1];
    const reg = name !== undefined && REG_TYPES.has(name);
    if ((name !== 'oid' && !reg) || parts.length > 2 || (parts.length === 2 && parts[0] !== 'pg_catalog')) return false;
    // A literal cast to a reg* type is a name the walker checks on its own (checkRegName).
    const arg = only(v['arg']);
    if (reg && list(t['arrayBounds']).length === 0 && arg?.[0] === 'A_Const' && isObj(arg[1]['sval'])) return true;
    return isVisibleObjectRef(v['arg'], refs);
  }
  if (kind !== 'ColumnRef') return false;
  const fields = list(v['fields']).map(sval);
  if (fields.length < 1 || fields.length > 3 || fields.some((f) => f === undefined)) return false;
  const column = fields[fields.length - 1]!;
  const carries = (m: RefKind) => m.kind === 'catalog' || (m.kind === 'derived' && m.safe.has(column));
  // Unqualified: Postgres binds it to whichever visible item has the column, so every one must do.
  if (fields.length === 1) return refs.everyItem(carries);
  const matches = refs.resolve(fields[fields.length - 2]!);
  return matches.length > 0 && matches.every(carries);
}

const IDENT = /^[a-z_][a-z0-9_$]*$/;

/** The error Postgres gives for a name of this `reg*` type that does not exist. */
function missing(type: string, text: string): SqlRefusal {
  switch (type) {
    case 'regclass':
      return new SqlRefusal(SqlState.UNDEFINED_TABLE, `relation "${text}" does not exist`);
    case 'regproc':
    case 'regprocedure':
      return new SqlRefusal(SqlState.UNDEFINED_FUNCTION, `function "${text}" does not exist`);
    case 'regoper':
    case 'regoperator':
      return new SqlRefusal(SqlState.UNDEFINED_FUNCTION, `operator does not exist: ${text}`);
    case 'regnamespace':
      return new SqlRefusal(SqlState.INVALID_SCHEMA_NAME, `schema "${text}" does not exist`);
    case 'regtype':
      return new SqlRefusal(SqlState.UNDEFINED_OBJECT, `type "${text}" does not exist`);
    case 'regrole':
      return new SqlRefusal(SqlState.UNDEFINED_OBJECT, `role "${text}" does not exist`);
    case 'regconfig':
      return new SqlRefusal(SqlState.UNDEFINED_OBJECT, `text search configuration "${text}" does not exist`);
    case 'regdictionary':
      return new SqlRefusal(SqlState.UNDEFINED_OBJECT, `text search dictionary "${text}" does not exist`);
    default:
      return new SqlRefusal(SqlState.UNDEFINED_OBJECT, `collation "${text}" does not exist`);
  }
}

/** Whether a name (`[schema.]name`, lower-case identifiers only) names something the client may see. */
function visibleName(type: string, text: string, flavor: CatalogFlavor, views: Registry): boolean {
  const isView = (name: string): boolean => findView(views, name) !== undefined;
  const parts = text.split('.');
  if (parts.length > 2 || !parts.every((p) => IDENT.test(p))) return false;
  const [first, second] = parts as [string, string | undefined];
  const system = second !== undefined && (first === 'pg_catalog' || (type === 'regclass' && first === 'information_schema'));
  switch (type) {
    case 'regclass':
      // Unqualified: the search path looks in pg_catalog first, then public.
      return system || (second === undefined ? isView(first) || exposedCatalogRelations(flavor, 'pg_catalog').includes(first)
        : first === 'public' && isView(second));
    case 'regproc':
      return system || (second === undefined && ALLOWED_FUNCTIONS.has(first));
    case 'regtype':
      return system || (second === undefined ? ALLOWED_TYPES.has(first) || isView(first) : first === 'public' && isView(second));
    case 'regnamespace':
      return second === undefined && ['public', 'pg_catalog', 'information_schema'].includes(first);
    default:
      return false;
  }
}

/**
 * Checks the string literal `text` cast to the `reg*` type `type`: returns normally when it names
 * something the client may see (the engine then resolves it), else throws the engine's own "does
 * not exist" error — the same whether the object is hidden or missing. Function signatures,
 * operators, roles, text search objects and collations are never looked up by name.
 */
export function checkRegName(type: string, text: string, flavor: CatalogFlavor, views: Registry): void {
  const trimmed = text.trim();
  const typeName = type === 'regtype' ? trimmed.replace(/(\[\])+$/, '') : trimmed;
  if (!visibleName(type, typeName, flavor, views) && !(type === 'regtype' && ALLOWED_TYPES.has(typeName))) throw missing(type, text);
}
