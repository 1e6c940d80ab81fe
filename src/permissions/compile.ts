/**
 * The permission compiler: one declaration (`permissions:` in `schema/<view>.yaml`, the model's
 * {@link Permission}) rendered for every place that reads a view (docs/VIEWS.md):
 * - {@link predicateSql}: a parameterised WHERE fragment for the GraphQL API's queries;
 * - {@link rowTest}: a JS row test for subscriptions, lookups answered by held sets ({@link LookupSets});
 * - {@link passthroughSubquery}: the SQL passthrough's stand-in for the view, with literals;
 * - {@link selectList} / {@link maskRow}: the readable columns and their masks, in SQL and in JS.
 *
 * Every switch over a predicate's `kind` ends in a `never` default, so a new kind fails the build
 * until every target handles it. Everything fails closed: a claim the viewer lacks, a claim of the
 * wrong shape or an empty list matches no row; an unknown view or column throws (never "no WHERE").
 * Claim values are never logged or put into error messages.
 */
import type { Viewer } from '../auth/viewer';
import { errors } from '../errors';
import type { ClaimValue, ColumnModel, Mask, Permission, Predicate, Registry, Row, ViewModel } from '../views/model';
import { roundDecimalText, roundFloat } from './decimal';
import { ident, sqlLiteral, sqlType, unreachable } from './sqlText';

/** The lookup kind of {@link Predicate}. */
export type LookupPredicate = Extract<Predicate, { kind: 'lookup' }>;

/** Every predicate kind; a test checks each target handles each one (and `Record` keeps it complete). */
export const PREDICATE_KINDS: readonly Predicate['kind'][] = Object.keys({
  all: true, none: true, eq: true, in: true, lookup: true, and: true, or: true,
} satisfies Record<Predicate['kind'], true>) as Predicate['kind'][];

/** What `role` may read of `view`; undefined: nothing at all (the role is not in its permissions). */
export function permissionOf(view: ViewModel, role: string): Permission | undefined {
  return Object.hasOwn(view.permissions, role) ? view.permissions[role] : undefined;
}

/** Positional parameters of one statement: `add` returns the placeholder (`$1`, `$2`, ...). */
export class SqlParams {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/**
 * A claim of the viewer: `sub`, or one of `viewer.claims` (own properties only). Undefined when
 * the viewer lacks it; callers then match nothing.
 */
export function claimOf(viewer: Viewer | undefined, claim: string): ClaimValue | undefined {
  if (viewer === undefined) return undefined;
  if (claim === 'sub') return viewer.sub;
  return Object.hasOwn(viewer.claims, claim) ? viewer.claims[claim] : undefined;
}

/** A scalar claim for `eq`; undefined (match nothing) when missing or a list. */
function scalarClaim(viewer: Viewer | undefined, claim: string): string | undefined {
  const v = claimOf(viewer, claim);
  return typeof v === 'string' ? v : undefined;
}

/** A list claim for `in`; undefined (match nothing) when missing or not a list of strings. */
function listClaim(viewer: Viewer | undefined, claim: string): readonly string[] | undefined {
  const v = claimOf(viewer, claim);
  return Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : undefined;
}

/** The view named `name` in `registry`; throws when absent (a lookup must never become "no filter"). */
export function viewOf(registry: Registry, name: string): ViewModel {
  const view = registry.views.find((v) => v.name === name);
  if (view === undefined) throw new Error(`permission refers to unknown view ${JSON.stringify(name)}`);
  return view;
}

function columnOf(view: ViewModel, name: string): ColumnModel {
  const column = view.columns.find((c) => c.name === name);
  if (column === undefined) throw new Error(`view ${view.name} has no column ${JSON.stringify(name)}`);
  return column;
}

/** How the two SQL targets differ: where values and relations go. */
interface SqlRender {
  /** A text value. */
  scalar(value: string): string;
  /** `column` in a non-empty list of text values. */
  inList(column: string, values: readonly string[]): string;
  /** The relation a lookup reads. */
  relation(view: ViewModel): string;
}

/**
 * A predicate with the viewer's claims resolved and constant parts folded, so rendering adds a
 * parameter only for a condition that stays in the text (a dropped `$n` would shift the others).
 */
type Resolved =
  | { readonly k: 'true' }
  | { readonly k: 'false' }
  | { readonly k: 'eq'; readonly column: string; readonly value: string }
  | { readonly k: 'in'; readonly column: string; readonly values: readonly string[] }
  | { readonly k: 'lookup'; readonly column: string; readonly view: ViewModel; readonly select: string; readonly where: Resolved }
  | { readonly k: 'and' | 'or'; readonly of: readonly Resolved[] };

const TRUE: Resolved = { k: 'true' };
const FALSE: Resolved = { k: 'false' };

/** Resolves claims and folds constants. `nested`: inside a lookup's where (no lookup allowed there). */
function resolve(p: Predicate, viewer: Viewer | undefined, registry: Registry, nested: boolean): Resolved {
  switch (p.kind) {
    case 'all':
      return TRUE;
    case 'none':
      return FALSE;
    case 'eq': {
      const value = scalarClaim(viewer, p.claim);
      return value === undefined ? FALSE : { k: 'eq', column: p.column, value };
    }
    case 'in': {
      const values = listClaim(viewer, p.claim);
      return values === undefined || values.length === 0 ? FALSE : { k: 'in', column: p.column, values };
    }
    case 'lookup': {
      if (nested) throw new Error('a lookup inside a lookup is not supported');
      const view = viewOf(registry, p.view);
      columnOf(view, p.select);
      const where = resolve(p.where, viewer, registry, true);
      // An empty set matches nothing. NULLs on either side never match: `x IN (SELECT ...)` is not TRUE for them.
      return where.k === 'false' ? FALSE : { k: 'lookup', column: p.column, view, select: p.select, where };
    }
    case 'and': {
      const of: Resolved[] = [];
      for (const q of p.of) {
        const r = resolve(q, viewer, registry, nested);
        if (r.k === 'false') return FALSE;
        if (r.k !== 'true') of.push(r);
      }
      return of.length === 0 ? TRUE : of.length === 1 ? (of[0] as Resolved) : { k: 'and', of };
    }
    case 'or': {
      const of: Resolved[] = [];
      for (const q of p.of) {
        const r = resolve(q, viewer, registry, nested);
        if (r.k === 'true') return TRUE;
        if (r.k !== 'false') of.push(r);
      }
      return of.length === 0 ? FALSE : of.length === 1 ? (of[0] as Resolved) : { k: 'or', of };
    }
    default:
      return unreachable(p);
  }
}

/** Renders a resolved predicate; undefined = every row. */
function emit(p: Resolved, r: SqlRender): string | undefined {
  switch (p.k) {
    case 'true':
      return undefined;
    case 'false':
      return 'FALSE';
    case 'eq':
      return `${ident(p.column)} = ${r.scalar(p.value)}`;
    case 'in':
      return r.inList(ident(p.column), p.values);
    case 'lookup': {
      const where = emit(p.where, r);
      return `${ident(p.column)} IN (SELECT ${ident(p.select)} FROM ${r.relation(p.view)}${where === undefined ? '' : ` WHERE ${where}`})`;
    }
    case 'and':
    case 'or':
      return `(${p.of.map((q) => emit(q, r) as string).join(p.k === 'and' ? ' AND ' : ' OR ')})`;
    default:
      return unreachable(p);
  }
}

function renderSql(p: Predicate, viewer: Viewer | undefined, registry: Registry, r: SqlRender): string | undefined {
  return emit(resolve(p, viewer, registry, false), r);
}

/**
 * The WHERE fragment for `p` with the viewer's claims as parameters (added to `params`);
 * undefined = every row. `FALSE` for `none`, a missing claim or an empty list. A lookup reads its
 * view with its own columns only and no policy of the viewer on it: the declaration is the policy.
 */
export function predicateSql(p: Predicate, viewer: Viewer, params: SqlParams, registry: Registry): string | undefined {
  return renderSql(p, viewer, registry, {
    scalar: (v) => params.add(v),
    inList: (column, values) => `${column} = ANY(${params.add(values)}::text[])`,
    relation: (view) => ident(view.name),
  });
}

/** The same predicate with the claims as literals (the passthrough's subquery and lookup keys). */
export function predicateSqlLiteral(p: Predicate, viewer: Viewer | undefined, registry: Registry): string | undefined {
  return renderSql(p, viewer, registry, {
    scalar: sqlLiteral,
    inList: (column, values) => `${column} IN (${values.map(sqlLiteral).join(', ')})`,
    relation: (view) => `public.${ident(view.name)}`,
  });
}

/** A masked column as a SQL expression over the view's own column (same type as the column). */
function maskSql(column: ColumnModel, mask: Mask): string {
  switch (mask.kind) {
    case 'null':
      return `NULL::${sqlType(column.type)}`;
    case 'round':
      if (column.type !== 'float' && column.type !== 'numeric') throw new Error(`round mask on ${column.type} column ${column.name}`);
      if (!Number.isSafeInteger(mask.digits) || mask.digits < 0 || mask.digits > 1000) throw new Error(`round mask digits out of range on ${column.name}`);
      return `round(${ident(column.name)}::numeric, ${mask.digits})::${sqlType(column.type)}`;
    default:
      return unreachable(mask);
  }
}

function maskOf(perm: Permission, column: string): Mask | undefined {
  return Object.hasOwn(perm.masks, column) ? perm.masks[column] : undefined;
}

function selectItem(column: ColumnModel, perm: Permission): string {
  const mask = maskOf(perm, column.name);
  return mask === undefined ? ident(column.name) : `${maskSql(column, mask)} AS ${ident(column.name)}`;
}

/**
 * The SQL select list of `columns` (default: every readable column, in view order), masked. Asking
 * for a column the permission does not list is FORBIDDEN (columns are refused, never nulled);
 * an unknown column throws.
 */
export function selectList(view: ViewModel, perm: Permission, columns?: readonly string[]): string {
  const wanted = columns === undefined ? view.columns.filter((c) => perm.columns.includes(c.name)) : columns.map((n) => columnOf(view, n));
  const refused = wanted.filter((c) => !perm.columns.includes(c.name)).map((c) => c.name);
  if (refused.length > 0) throw errors.forbidden(`Not allowed to read ${refused.join(', ')} of ${view.name}`);
  if (wanted.length === 0) throw new Error(`empty select list for ${view.name}`);
  return wanted.map((c) => selectItem(c, perm)).join(', ');
}

/** Applies one mask to a normalised value (floats are numbers, numerics decimal strings). */
function maskValue(mask: Mask, value: Row[string]): Row[string] {
  switch (mask.kind) {
    case 'null':
      return null;
    case 'round':
      if (typeof value === 'number') return roundFloat(value, mask.digits);
      if (typeof value === 'string') return roundDecimalText(value, mask.digits);
      return value;
    default:
      return unreachable(mask);
  }
}

/**
 * The readable columns of `row` with the masks applied (the JS twin of {@link selectList}). A
 * readable column the row lacks is left out, or with `fill` set to null (every readable column
 * present, as a subscription payload's row needs).
 */
export function maskRow(perm: Permission, row: Row, fill = false): Row {
  const out: Record<string, Row[string]> = {};
  for (const name of perm.columns) {
    if (!Object.hasOwn(row, name)) {
      if (fill) out[name] = null;
      continue;
    }
    const mask = maskOf(perm, name);
    const value = row[name] as Row[string];
    out[name] = mask === undefined ? value : maskValue(mask, value);
  }
  return out;
}

/** Membership of a value in a lookup's set, for one viewer (src/subscriptions/lookups.ts holds them). */
export interface LookupSets {
  has(p: LookupPredicate, viewer: Viewer, value: string): boolean;
}

/** LookupSets that hold nothing: every lookup fails (closed). */
export const NO_LOOKUPS: LookupSets = { has: () => false };

/**
 * The row test of `p` for `viewer` (subscriptions): true when the row is readable. Compiled once
 * per subscription; a NULL or non-text value never matches a claim.
 */
export function rowTest(p: Predicate, viewer: Viewer, lookups: LookupSets): (row: Row) => boolean {
  return compileTest(p, viewer, lookups, false);
}

function compileTest(p: Predicate, viewer: Viewer, lookups: LookupSets, nested: boolean): (row: Row) => boolean {
  switch (p.kind) {
    case 'all':
      return () => true;
    case 'none':
      return () => false;
    case 'eq': {
      const value = scalarClaim(viewer, p.claim);
      const column = p.column;
      return value === undefined ? () => false : (row) => Object.hasOwn(row, column) && row[column] === value;
    }
    case 'in': {
      const values = listClaim(viewer, p.claim);
      if (values === undefined || values.length === 0) return () => false;
      const set = new Set(values);
      const column = p.column;
      return (row) => {
        const v = Object.hasOwn(row, column) ? row[column] : undefined;
        return typeof v === 'string' && set.has(v);
      };
    }
    case 'lookup': {
      if (nested) throw new Error('a lookup inside a lookup is not supported');
      compileTest(p.where, viewer, NO_LOOKUPS, true); // the same refusals as the SQL targets
      const column = p.column;
      return (row) => {
        const v = Object.hasOwn(row, column) ? row[column] : undefined;
        return typeof v === 'string' && lookups.has(p, viewer, v);
      };
    }
    case 'and': {
      const tests = p.of.map((q) => compileTest(q, viewer, lookups, nested));
      return (row) => tests.every((t) => t(row));
    }
    case 'or': {
      const tests = p.of.map((q) => compileTest(q, viewer, lookups, nested));
      return (row) => tests.some((t) => t(row));
    }
    default:
      return unreachable(p);
  }
}

/**
 * The row test of a lookup's `where` over rows of the lookup view (what {@link LookupSets}
 * implementations keep their sets with). A lookup inside it throws, as in every target.
 */
export function lookupWhereTest(p: LookupPredicate, viewer: Viewer): (row: Row) => boolean {
  return compileTest(p.where, viewer, NO_LOOKUPS, true);
}

/** Who reads through the SQL passthrough: a role, and the viewer its claims come from. */
export interface PassthroughReader {
  readonly role: string;
  readonly viewer?: Viewer;
}

/**
 * The parenthesised subquery (no alias) that stands for `view` when `user` reads it on the SQL
 * port. It always has the view's shape, for every role (BI tools cache shapes): every column in view
 * order; a column the role may not read is `NULL` of its type, a masked one its mask; the rows are
 * the role's predicate with literal claims. A role without a permission reads no rows. Any failure
 * to render throws: the caller refuses the statement (fail closed), never drops the WHERE.
 */
export function passthroughSubquery(view: ViewModel, registry: Registry, user: PassthroughReader): string {
  const perm = permissionOf(view, user.role);
  const items = view.columns.map((c) => {
    if (perm === undefined || !perm.columns.includes(c.name)) return `NULL::${sqlType(c.type)} AS ${ident(c.name)}`;
    return selectItem(c, perm);
  });
  const where = perm === undefined ? 'FALSE' : predicateSqlLiteral(perm.rows, user.viewer, registry);
  return `(SELECT ${items.join(', ')} FROM public.${ident(view.name)}${where === undefined ? '' : ` WHERE ${where}`})`;
}
