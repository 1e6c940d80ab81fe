/**
 * Reading libpg-query's JSON parse trees: the node type and the small accessors the statement guard
 * (guard/) and the result describer (describe/) share. A node is an object with one key, its type
 * (`{ "ColumnRef": { ... } }`); strings are `{ "String": { "sval": ... } }`.
 */

/** A parse-tree object (libpg-query JSON): plain objects, arrays and scalars. */
export type AstObject = { readonly [key: string]: unknown };

/** Whether `v` is a tree object (not an array, not a scalar). */
export const isObj = (v: unknown): v is AstObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The text of a `String` node, or undefined when `v` is not one. */
export const sval = (v: unknown): string | undefined => (isObj(v) && isObj(v['String']) ? String(v['String']['sval'] ?? '') : undefined);

/** `v` when it is an array, else an empty list (absent lists are omitted from the JSON). */
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The type and body of a one-key node (`{ "FuncCall": {...} }` → `['FuncCall', {...}]`). */
export const only = (node: unknown): [string, AstObject] | undefined => {
  if (!isObj(node)) return undefined;
  const [k] = Object.keys(node);
  const v = k === undefined ? undefined : node[k];
  return k !== undefined && isObj(v) ? [k, v] : undefined;
};

/** The text of a constant (`'x'`, `42`, `1.5`, `true` → `on`), looking through casts; undefined otherwise. */
export function constText(v: unknown): string | undefined {
  if (!isObj(v)) return undefined;
  const c = v['A_Const'];
  if (isObj(c)) {
    if (isObj(c['sval'])) return String(c['sval']['sval'] ?? '');
    if (isObj(c['ival'])) return String(c['ival']['ival'] ?? 0);
    if (isObj(c['fval'])) return String(c['fval']['fval']);
    if (isObj(c['boolval'])) return c['boolval']['boolval'] === true ? 'on' : 'off';
    return undefined;
  }
  const cast = v['TypeCast'];
  if (isObj(cast)) return constText(cast['arg']);
  return undefined;
}
