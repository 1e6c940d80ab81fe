/**
 * Every statement the generated API sends, built from the view model (a change to the generator
 * shows up here as a SQL diff). Rules: the viewer's row policy (the permission compiler's
 * predicateSql) is ANDed into every statement; values travel as `$n` parameters; identifiers come
 * only from the registry (checked when the declarations were loaded); LIMIT is an inlined,
 * validated integer because RisingWave needs a constant there (no `LIMIT $n`).
 */
import type { Viewer } from '../../auth/viewer';
import type { ColumnModel, ColumnType, Permission, Registry, ViewModel } from '../../views/model';
import { PARAM_CAST, cursorSelectSql, keysetSql, orderBySql, type CursorValue, type KeysetColumn } from './keyset';
import { SqlParams, predicateSql } from '../../permissions/compile';

/** A statement and its positional parameters. */
export interface SqlStatement {
  readonly text: string;
  readonly params: readonly unknown[];
}

/** Most rows any statement asks for. */
export const MAX_SQL_LIMIT = 10_000;

const ARRAY_CAST: Readonly<Record<ColumnType, string>> = {
  text: '::text[]',
  int: '::bigint[]',
  float: '::double precision[]',
  numeric: '::numeric[]',
  timestamptz: '::timestamptz[]',
  date: '::date[]',
  bool: '::boolean[]',
};

const OP_SQL = { eq: '=', gte: '>=', gt: '>', lte: '<=', lt: '<' } as const;

/** `LIMIT n` for a whole number 1..{@link MAX_SQL_LIMIT}; RangeError otherwise (a bug, not input). */
export function limitSql(n: number): string {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_SQL_LIMIT) throw new RangeError(`LIMIT must be an integer from 1 to ${MAX_SQL_LIMIT}, got ${n}`);
  return `LIMIT ${n}`;
}

function where(conditions: ReadonlyArray<string | undefined>): string {
  const c = conditions.filter((x): x is string => x !== undefined);
  return c.length === 0 ? '' : ` WHERE ${c.join(' AND ')}`;
}

/** What the viewer's policy adds to statements of one view. */
export interface Policy {
  readonly registry: Registry;
  readonly viewer: Viewer;
  readonly perm: Permission;
}

function keyColumns(view: ViewModel): ColumnModel[] {
  return view.key.map((k) => view.columns.find((c) => c.name === k)!);
}

/** `key IN keys`: `= ANY($n)` for a one-column key, else an OR of conjunctions. */
function keysCondition(view: ViewModel, keys: ReadonlyArray<readonly unknown[]>, p: SqlParams): string {
  const cols = keyColumns(view);
  if (cols.length === 1) {
    const c = cols[0]!;
    return `${c.name} = ANY(${p.add(keys.map((k) => k[0]))}${ARRAY_CAST[c.type]})`;
  }
  return `(${keys.map((k) => `(${cols.map((c, i) => `${c.name} = ${p.add(k[i])}${PARAM_CAST[c.type]}`).join(' AND ')})`).join(' OR ')})`;
}

/** Rows of `view` by key (a DataLoader batch), `select` columns, within the policy. */
export function rowsByKeysSql(view: ViewModel, select: string, keys: ReadonlyArray<readonly unknown[]>, policy: Policy): SqlStatement {
  const p = new SqlParams();
  const text = `SELECT ${select} FROM ${view.name}${where([keysCondition(view, keys, p), predicateSql(policy.perm.rows, policy.viewer, p, policy.registry)])}`;
  return { text, params: p.values };
}

/** Which of `keys` exist at all (to tell "absent" from "not yours"). Selects key columns only, no policy. */
export function existingKeysSql(view: ViewModel, keys: ReadonlyArray<readonly unknown[]>): SqlStatement {
  const p = new SqlParams();
  return { text: `SELECT ${view.key.join(', ')} FROM ${view.name}${where([keysCondition(view, keys, p)])}`, params: p.values };
}

/** A filter argument's value, resolved to its column. */
export interface FilterValue {
  readonly column: ColumnModel;
  readonly op: keyof typeof OP_SQL;
  readonly value: unknown;
}

/** A page or list: filters, then the keyset position, then the policy; ordered and limited. */
export function pageSql(view: ViewModel, select: string, filters: readonly FilterValue[], order: readonly KeysetColumn[],
  after: readonly CursorValue[] | undefined, limit: number, policy: Policy): SqlStatement {
  const p = new SqlParams();
  const add = (v: unknown) => p.add(v);
  const conditions = filters.map((f) => `${f.column.name} ${OP_SQL[f.op]} ${p.add(f.value)}${PARAM_CAST[f.column.type]}`);
  const items = [select, ...cursorSelectSql(order)].join(', ');
  const text = `SELECT ${items} FROM ${view.name}${where([...conditions, after !== undefined ? keysetSql(order, after, add) : undefined,
    predicateSql(policy.perm.rows, policy.viewer, p, policy.registry)])} ${orderBySql(order)} ${limitSql(limit)}`;
  return { text, params: p.values };
}
