/**
 * TEMPORARY stand-in for src/permissions/compile.ts (the permission compiler), with the same names
 * and signatures, so the generated API can be written and tested before the compiler lands. Deleted
 * when the compiler's branch is merged; nothing outside src/graphql/build imports it.
 */
import type { Viewer } from '../../auth/viewer';
import type { ClaimValue, Permission, Predicate, Registry, Row, ViewModel } from '../../views/model';

/** Positional parameters of one statement. */
export class SqlParams {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** Membership sets of `lookup` predicates, for row tests. */
export interface LookupSets {
  has(p: Extract<Predicate, { kind: 'lookup' }>, viewer: Viewer, value: string): boolean;
}

/** Lookup sets that hold nothing: rows behind a `lookup` predicate are not delivered (until the hub keeps the sets). */
export const NO_LOOKUPS: LookupSets = { has: () => false };

/** What `role` may read of `view`; undefined: nothing. */
export function permissionOf(view: ViewModel, role: string): Permission | undefined {
  return Object.hasOwn(view.permissions, role) ? view.permissions[role] : undefined;
}

function claim(viewer: Viewer, name: string): ClaimValue | undefined {
  if (name === 'sub') return viewer.sub;
  const claims = (viewer as { readonly claims?: Readonly<Record<string, ClaimValue>> }).claims;
  return claims?.[name];
}

/** Parameterised WHERE fragment; undefined = every row. */
export function predicateSql(p: Predicate, viewer: Viewer, params: SqlParams, registry: Registry): string | undefined {
  switch (p.kind) {
    case 'all':
      return undefined;
    case 'none':
      return 'FALSE';
    case 'eq': {
      const v = claim(viewer, p.claim);
      return typeof v === 'string' ? `${p.column} = ${params.add(v)}` : 'FALSE';
    }
    case 'in': {
      const v = claim(viewer, p.claim);
      const list = typeof v === 'string' ? [v] : v ?? [];
      return list.length === 0 ? 'FALSE' : `${p.column} = ANY(${params.add(list)}::text[])`;
    }
    case 'lookup': {
      const where = predicateSql(p.where, viewer, params, registry);
      return `${p.column} IN (SELECT ${p.select} FROM ${p.view}${where === undefined ? '' : ` WHERE ${where}`})`;
    }
    case 'and': {
      const parts = p.of.map((q) => predicateSql(q, viewer, params, registry)).filter((s): s is string => s !== undefined);
      return parts.length === 0 ? undefined : `(${parts.join(' AND ')})`;
    }
    case 'or': {
      const parts = p.of.map((q) => predicateSql(q, viewer, params, registry));
      if (parts.some((s) => s === undefined)) return undefined;
      return parts.length === 0 ? 'FALSE' : `(${parts.join(' OR ')})`;
    }
  }
}

/** SQL select list of `columns` (default: every readable column) with masks as expressions. */
export function selectList(view: ViewModel, perm: Permission, columns?: readonly string[]): string {
  const wanted = columns ?? perm.columns;
  return view.columns.filter((c) => wanted.includes(c.name) && perm.columns.includes(c.name)).map((c) => {
    const m = perm.masks[c.name];
    if (m === undefined) return c.name;
    if (m.kind === 'null') return `NULL::${c.type === 'int' ? 'bigint' : c.type === 'float' ? 'double precision' : c.type === 'bool' ? 'boolean' : c.type} AS ${c.name}`;
    return `round(${c.name}::numeric, ${m.digits})::${c.type === 'numeric' ? 'numeric' : 'double precision'} AS ${c.name}`;
  }).join(', ');
}

/** The masks in JS; drops unreadable columns. */
export function maskRow(perm: Permission, row: Row): Row {
  const out: Record<string, string | number | boolean | null> = {};
  for (const c of perm.columns) {
    if (!(c in row)) continue;
    const v = row[c] ?? null;
    const m = perm.masks[c];
    if (m === undefined) out[c] = v;
    else if (m.kind === 'null' || v === null) out[c] = null;
    else out[c] = Math.round(Number(v) * 10 ** m.digits) / 10 ** m.digits;
  }
  return out;
}

/** The row test of `p` for subscriptions. */
export function rowTest(p: Predicate, viewer: Viewer, lookups: LookupSets): (row: Row) => boolean {
  switch (p.kind) {
    case 'all':
      return () => true;
    case 'none':
      return () => false;
    case 'eq': {
      const v = claim(viewer, p.claim);
      return (row) => typeof v === 'string' && row[p.column] === v;
    }
    case 'in': {
      const v = claim(viewer, p.claim);
      const set = new Set(typeof v === 'string' ? [v] : v ?? []);
      return (row) => typeof row[p.column] === 'string' && set.has(row[p.column] as string);
    }
    case 'lookup':
      return (row) => row[p.column] !== null && row[p.column] !== undefined && lookups.has(p, viewer, String(row[p.column]));
    case 'and': {
      const tests = p.of.map((q) => rowTest(q, viewer, lookups));
      return (row) => tests.every((t) => t(row));
    }
    case 'or': {
      const tests = p.of.map((q) => rowTest(q, viewer, lookups));
      return (row) => tests.some((t) => t(row));
    }
  }
}
