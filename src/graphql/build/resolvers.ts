/**
 * Resolvers of the generated API, one factory per kind of field a view declares: lookup by key
 * (DataLoader), Relay connection (keyset pages, `feedCursor`), bounded list, subscription (through
 * the hub) and relation (DataLoader). Each reads the viewer's permission of the view: FORBIDDEN when
 * the role reads nothing of it, when an argument names someone else's pinned id (access.ts), or when
 * the selection asks for a column the role may not read; the row policy is in every statement.
 *
 * Per-request work is kept small: what a field selects is computed once per document field node and
 * role (a {@link Plan}, cached), rows are normalised only for the selected columns, and edge cursors
 * are encoded only when asked for.
 */
import { Kind, type FieldNode, type GraphQLFieldResolver, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { Viewer } from '../../auth/viewer';
import { readWithFeedCursor } from '../../engine/snapshot';
import { errors } from '../../errors';
import type { Delivery, SubscriptionFilter } from '../../subscriptions/hub';
import type { ColumnModel, FilterModel, Permission, Predicate, Registry, Row, ViewGraphql, ViewModel } from '../../views/model';
import { CHANGE_KEY, DeliveryStream, changeView, type ChangeStream } from '../changes';
import type { GraphQLContext } from '../context';
import { decodeFeedCursor, encodeFeedCursor } from '../cursors';
import { keyOf, type RowsQuery } from '../loaders';
import { selectsField } from '../selection';
import { forbidden, pinnedValue, pinsOf, requirePermission, type Pins } from './access';
import { decodePageCursor, encodePageCursor, type CursorValue, type KeysetColumn } from './keyset';
import { NO_LOOKUPS, maskRow, permissionOf, rowTest, selectList } from '../../permissions/compile';
import { normalizeColumnValue, normalizeColumns, rowColumns } from './rows';
import { keyString } from '../../views/normalize';
import { pageSql, type FilterValue, type Policy, type SqlStatement } from './statements';

type Args = Readonly<Record<string, unknown>>;
type Resolver = GraphQLFieldResolver<unknown, GraphQLContext, Args>;

/**
 * An object type's fields in terms of its view: which columns each field reads (a column field
 * its column, a composite its columns, a relation its join columns).
 */
export interface Shape {
  readonly view: ViewModel;
  readonly fieldColumns: ReadonlyMap<string, readonly string[]>;
}

/** What one field node selects for one role: the statement shape, or the fields the role may not read. */
interface Plan {
  readonly query: RowsQuery;
  readonly forbiddenFields: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Selections

/**
 * Names of the fields selected under `path` below the field being resolved (fragments and inline
 * fragments expanded; @skip/@include not evaluated, so a conditional field counts as selected).
 */
function selectedFields(nodes: readonly FieldNode[], fragments: GraphQLResolveInfo['fragments'], path: readonly string[]): string[] {
  const out = new Set<string>();
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode | undefined, depth: number): void => {
    for (const s of set?.selections ?? []) {
      if (s.kind === Kind.FIELD) {
        if (depth === path.length) out.add(s.name.value);
        else if (s.name.value === path[depth]) visit(s.selectionSet, depth + 1);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        visit(s.selectionSet, depth);
      } else if (!seen.has(s.name.value)) {
        seen.add(s.name.value);
        visit(fragments[s.name.value]?.selectionSet, depth);
      }
    }
  };
  for (const n of nodes) visit(n.selectionSet, 0);
  return [...out];
}

/** Plans per document field node (documents are cached by the server, so plans are too) and role. */
const plans = new WeakMap<FieldNode, Map<string, Plan>>();

/** The columns to select for `fields` of `shape`, always with the key and `extra` columns. */
function makePlan(shape: Shape, perm: Permission, role: string, fields: readonly string[], extra: readonly string[]): Plan {
  const { view } = shape;
  const wanted = new Set<string>([...view.key, ...extra]);
  const forbiddenFields: string[] = [];
  const readable = new Set(perm.columns);
  for (const f of fields) {
    const cols = shape.fieldColumns.get(f);
    if (cols === undefined) continue;
    if (cols.some((c) => !readable.has(c))) forbiddenFields.push(f);
    for (const c of cols) wanted.add(c);
  }
  const columns = rowColumns(view, [...wanted].filter((c) => readable.has(c)));
  const names = columns.map((c) => c.name);
  return {
    query: { id: `${view.name}\u0000${role}\u0000${names.join(',')}`, view, perm, select: selectList(view, perm, names), columns },
    forbiddenFields: forbiddenFields.sort(),
  };
}

/** The plan of the field being resolved (`path` leads from it to the object of `shape`). */
function planFor(info: GraphQLResolveInfo, shape: Shape, path: readonly string[], perm: Permission, role: string, extra: readonly string[] = []): Plan {
  const node = info.fieldNodes.length === 1 ? info.fieldNodes[0] : undefined;
  let byRole = node === undefined ? undefined : plans.get(node);
  let plan = byRole?.get(role);
  if (plan !== undefined) return plan;
  plan = makePlan(shape, perm, role, selectedFields(info.fieldNodes, info.fragments, path), extra);
  if (node !== undefined) {
    if (byRole === undefined) plans.set(node, (byRole = new Map()));
    byRole.set(role, plan);
  }
  return plan;
}

function checkColumns(plan: Plan, view: ViewModel, role: string): void {
  if (plan.forbiddenFields.length > 0) throw forbidden.columns(view, role, plan.forbiddenFields);
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/** Pins per viewer and predicate (a viewer object lives for one request or socket). */
const pinCache = new WeakMap<Viewer, WeakMap<Predicate, Pins>>();

function pinsFor(p: Predicate, viewer: Viewer): Pins {
  let byPred = pinCache.get(viewer);
  if (byPred === undefined) pinCache.set(viewer, (byPred = new WeakMap()));
  let pins = byPred.get(p);
  if (pins === undefined) byPred.set(p, (pins = pinsOf(p, viewer)));
  return pins;
}

/** An optional argument: GraphQL passes explicit nulls through. */
function opt(args: Args, name: string): unknown {
  const v = args[name];
  return v === null ? undefined : v;
}

function column(view: ViewModel, name: string): ColumnModel {
  const c = view.columns.find((x) => x.name === name);
  if (c === undefined) throw errors.badConfig(`${view.name}: no column ${name}`);
  return c;
}

/** Orders two filter values of one column (for `from` after `to`). */
function compareValues(col: ColumnModel, a: unknown, b: unknown): number {
  switch (col.type) {
    case 'timestamptz':
      return Date.parse(String(a)) - Date.parse(String(b));
    case 'int':
    case 'float':
    case 'numeric':
      return Number(a) - Number(b);
    default:
      return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
  }
}

/**
 * The filter values of a page or list: pinned equality arguments checked (FORBIDDEN; absent or
 * equal, the policy's own equality filters the rows), and a lower bound after an upper bound on the
 * same column refused (BAD_USER_INPUT).
 */
function filterValues(view: ViewModel, role: string, pins: Pins, filters: readonly FilterModel[], args: Args): FilterValue[] {
  const out: FilterValue[] = [];
  for (const f of filters) {
    let value = opt(args, f.arg);
    if (f.op === 'eq' && pins.has(f.column)) {
      // Checked (FORBIDDEN for another value), then left to the policy, which ANDs the same equality.
      pinnedValue(view, role, pins, f.column, value === undefined ? undefined : String(value));
      continue;
    }
    if (value !== undefined) out.push({ column: column(view, f.column), op: f.op, value });
  }
  for (const lo of filters) {
    if (lo.op !== 'gte' && lo.op !== 'gt') continue;
    const hi = filters.find((h) => h.column === lo.column && (h.op === 'lte' || h.op === 'lt') && opt(args, h.arg) !== undefined);
    const a = opt(args, lo.arg);
    if (hi === undefined || a === undefined) continue;
    const b = opt(args, hi.arg);
    if (compareValues(column(view, lo.column), a, b) > 0) throw errors.badInput(`${lo.arg} must not be after ${hi.arg}`, { [lo.arg]: a, [hi.arg]: b });
  }
  return out;
}

function policy(ctx: GraphQLContext, perm: Permission): Policy {
  return { registry: ctx.registry, viewer: ctx.viewer, perm };
}

function viewerPermission(view: ViewModel, ctx: GraphQLContext): Permission {
  return requirePermission(view, permissionOf(view, ctx.viewer.role), ctx.viewer.role);
}

/** FORBIDDEN when the key exists but the viewer's policy hides it; else nothing (absent). */
async function assertNotHidden(ctx: GraphQLContext, view: ViewModel, perm: Permission, key: string): Promise<void> {
  if (perm.rows.kind === 'all') return;
  if (await ctx.loaders.exists(view).load(key)) throw forbidden.row(view);
}

// ---------------------------------------------------------------------------------------------
// Lookup

/** `trip(id)`: one row by key through the request's DataLoader; null when absent, FORBIDDEN when not yours. */
export function lookupResolver(shape: Shape, lookup: NonNullable<ViewGraphql['lookup']>): Resolver {
  const { view } = shape;
  const argOf = new Map(Object.entries(lookup.args).map(([arg, col]) => [col, arg]));
  const keyArgs = view.key.map((k) => argOf.get(k)!);
  return async (_src, args, ctx, info) => {
    const role = ctx.viewer.role;
    const perm = viewerPermission(view, ctx);
    const pins = pinsFor(perm.rows, ctx.viewer);
    const values = view.key.map((k, i) => pinnedValue(view, role, pins, k, String(args[keyArgs[i]!])));
    const plan = planFor(info, shape, [], perm, role);
    checkColumns(plan, view, role);
    const key = keyOf(values);
    const row = await ctx.loaders.rows(plan.query).load(key);
    if (row !== null) return row;
    await assertNotHidden(ctx, view, perm, key);
    return null;
  };
}

// ---------------------------------------------------------------------------------------------
// Connection

/** One edge of a page; its cursor is encoded only when a client asks for it, and once. */
class Edge {
  private encoded: string | undefined;

  constructor(readonly node: Row, private readonly raw: Readonly<Record<string, unknown>>, private readonly order: readonly KeysetColumn[]) {}

  get cursor(): string {
    if (this.encoded !== undefined) return this.encoded;
    const values: CursorValue[] = [];
    for (const c of this.order) {
      const v = c.textAlias !== undefined ? this.raw[c.textAlias] : this.node[c.column];
      values.push(v === undefined || v === null ? null : (v as CursorValue));
    }
    return (this.encoded = encodePageCursor(this.order, values));
  }
}

/** A page's pageInfo: start and end cursors are the first and last edges' (encoded only when asked for). */
class PageInfo {
  constructor(readonly hasNextPage: boolean, readonly hasPreviousPage: boolean, private readonly edges: readonly Edge[]) {}

  get startCursor(): string | null {
    return this.edges[0]?.cursor ?? null;
  }

  get endCursor(): string | null {
    return this.edges.at(-1)?.cursor ?? null;
  }
}

/** A page of a connection, as the Connection type's fields read it. */
export interface Page {
  readonly edges: readonly Edge[];
  readonly pageInfo: { readonly hasNextPage: boolean; readonly hasPreviousPage: boolean; readonly startCursor: string | null; readonly endCursor: string | null };
  readonly feedCursor: string;
}

/** What a page reads: its statement, page size and whether it continues a previous page. */
interface PageRead {
  readonly sql: SqlStatement;
  readonly first: number;
  readonly after: readonly CursorValue[] | undefined;
  readonly plan: Plan;
}

/**
 * The statement of a connection page for `viewer` (the resolver's, and the benchmarks' "same SQL"):
 * `first` checked, pinned filters, cursor decoded, the selection's plan (`planOf(perm, role)`).
 */
function pageRead(shape: Shape, conn: NonNullable<ViewGraphql['connection']>, order: readonly KeysetColumn[], viewer: Viewer,
  registry: Registry, maxPageSize: number, args: Args, planOf: (perm: Permission, role: string) => Plan): PageRead {
  const { view } = shape;
  const role = viewer.role;
  const max = Math.min(conn.maxFirst, maxPageSize);
  const first = (opt(args, 'first') as number | undefined) ?? conn.defaultFirst;
  if (!Number.isSafeInteger(first) || first < 1 || first > max) throw errors.badInput(`first must be from 1 to ${max}`, { first, max });
  const perm = requirePermission(view, permissionOf(view, role), role);
  if (order.some((c) => perm.masks[c.column] !== undefined)) throw forbidden.noAccess(view, role);
  const filters = filterValues(view, role, pinsFor(perm.rows, viewer), conn.filters, args);
  const afterArg = opt(args, 'after');
  const after = afterArg === undefined ? undefined : decodePageCursor(order, String(afterArg));
  const plan = planOf(perm, role);
  checkColumns(plan, view, role);
  const sql = pageSql(view, plan.query.select, filters, order, after, first + 1, { registry, viewer, perm });
  return { sql, first, after, plan };
}

/** `trips(first, after, filters)`: a keyset page in the declared order, with the feed cursor it is complete up to. */
export function connectionResolver(shape: Shape, conn: NonNullable<ViewGraphql['connection']>, order: readonly KeysetColumn[]): Resolver {
  const orderColumns = order.map((c) => c.column);
  return async (_src, args, ctx, info): Promise<Page> => {
    const { sql, first, after, plan } = pageRead(shape, conn, order, ctx.viewer, ctx.registry, ctx.limits.maxPageSize, args,
      (perm, role) => planFor(info, shape, ['edges', 'node'], perm, role, orderColumns));
    // feedCursor: every change it covers is in the rows (readWithFeedCursor; a FLUSH on RisingWave, so only when asked for).
    const read = selectsField(info, 'feedCursor')
      ? await readWithFeedCursor(ctx.engine, sql.text, sql.params)
      : { cursor: ctx.engine.feed.head(), rows: await ctx.engine.query<Record<string, unknown>>(sql.text, sql.params) };
    const { rows } = read;
    const n = Math.min(rows.length, first);
    const edges: Edge[] = new Array<Edge>(n);
    for (let i = 0; i < n; i++) {
      const raw = rows[i]!;
      edges[i] = new Edge(normalizeColumns(plan.query.columns, raw), raw, order);
    }
    return {
      edges,
      pageInfo: new PageInfo(rows.length > first, after !== undefined, edges),
      feedCursor: encodeFeedCursor(ctx.engine.feed.id, read.cursor),
    };
  };
}

/**
 * The statement a connection field sends for `viewer`, `args` and the node fields `nodeFields`
 * (what the benchmarks' bare servers send, so they compare the same SQL).
 */
export function connectionStatement(shape: Shape, conn: NonNullable<ViewGraphql['connection']>, order: readonly KeysetColumn[], viewer: Viewer,
  registry: Registry, args: Args, nodeFields: readonly string[], maxPageSize = conn.maxFirst): SqlStatement {
  const orderColumns = order.map((c) => c.column);
  return pageRead(shape, conn, order, viewer, registry, maxPageSize, args, (perm, role) => makePlan(shape, perm, role, nodeFields, orderColumns)).sql;
}

// ---------------------------------------------------------------------------------------------
// List

/** `driverEarnings(driverId!, from, to)`: at most `list.max` rows in the declared order. */
export function listResolver(shape: Shape, list: NonNullable<ViewGraphql['list']>, order: readonly KeysetColumn[]): Resolver {
  const { view } = shape;
  return async (_src, args, ctx, info): Promise<Row[]> => {
    const role = ctx.viewer.role;
    const perm = viewerPermission(view, ctx);
    const filters = filterValues(view, role, pinsFor(perm.rows, ctx.viewer), list.filters, args);
    const plan = planFor(info, shape, [], perm, role);
    checkColumns(plan, view, role);
    const sql = pageSql(view, plan.query.select, filters, order, undefined, list.max, policy(ctx, perm));
    const rows = await ctx.engine.query<Record<string, unknown>>(sql.text, sql.params);
    const out: Row[] = new Array<Row>(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = normalizeColumns(plan.query.columns, rows[i]!);
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// Relation

/** A relation field (`Trip.driver`): the other view's row by key, through the request's DataLoader. */
export function relationResolver(shape: Shape, rel: ViewGraphql['relations'][number]): Resolver {
  const { view } = shape;
  const on = view.key.map((k) => {
    const entry = Object.entries(rel.on).find(([, other]) => other === k);
    if (entry === undefined) throw errors.badConfig(`relation ${rel.field} to ${view.name} must map every key column (${view.key.join(', ')})`);
    return entry[0];
  });
  const denied = rel.denied === 'forbidden';
  return async (parent, _args, ctx, info) => {
    const row = parent as Row;
    const values = on.map((c) => row[c]);
    if (values.some((v) => v === null || v === undefined)) return null;
    const role = ctx.viewer.role;
    const perm = permissionOf(view, role);
    if (perm === undefined || perm.rows.kind === 'none') {
      if (denied) throw forbidden.noAccess(view, role);
      return null;
    }
    const pins = pinsFor(perm.rows, ctx.viewer);
    if (pins.size > 0) {
      for (let i = 0; i < view.key.length; i++) {
        const pinned = pins.get(view.key[i]!);
        if (pinned !== undefined && pinned !== String(values[i])) {
          if (denied) throw forbidden.notOwn(view, role);
          return null;
        }
      }
    }
    const plan = planFor(info, shape, [], perm, role);
    checkColumns(plan, view, role);
    const key = keyOf(values);
    const found = await ctx.loaders.rows(plan.query).load(key);
    if (found !== null || !denied) return found;
    await assertNotHidden(ctx, view, perm, key);
    return null;
  };
}

// ---------------------------------------------------------------------------------------------
// Subscription

/** GraphQL field name of a key column in a change type: camelCase of the column (`trip_id` → `tripId`). */
export function changeKeyField(columnName: string): string {
  return columnName.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** Equality filters of a subscription, resolved. */
interface Eq {
  readonly column: string;
  readonly value: string;
}

/**
 * `tripUpdated(filters, after)`: changes of the view through the hub, resumable. The role's row
 * test runs on every change (hub), masks on every row delivered; pinned arguments as for queries
 * (riders default to their own rows); a filter on the key of a row the viewer cannot read is
 * FORBIDDEN up front, as a lookup would be.
 */
export function subscriptionSubscriber(shape: Shape, sub: NonNullable<ViewGraphql['subscription']>): GraphQLFieldResolver<unknown, GraphQLContext, Args> {
  const { view } = shape;
  const singleKey = view.key.length === 1 ? view.key[0] : undefined;
  const routable = new Set([...(singleKey !== undefined ? [singleKey] : []), ...view.indexed]);
  const keyFields = view.key.map((k) => ({ column: k, field: changeKeyField(k), type: column(view, k).type }));
  const requiredByColumn = new Map(sub.filters.filter((f) => sub.required.includes(f.arg)).map((f) => [f.column, f.arg]));
  return async (_src, args, ctx, info) => {
    const role = ctx.viewer.role;
    const perm = viewerPermission(view, ctx);
    const pins = pinsFor(perm.rows, ctx.viewer);
    const given = sub.filters.filter((f) => opt(args, f.arg) !== undefined);
    if (sub.exclusive && given.length > 1) {
      throw errors.badInput(`Pass at most one of ${sub.filters.map((f) => f.arg).join(', ')}`, { given: given.map((f) => f.arg) });
    }
    const eqs: Eq[] = given.map((f) => ({ column: f.column, value: pinnedValue(view, role, pins, f.column, String(opt(args, f.arg)))! }));
    const pinnedFilters = sub.filters.filter((f) => pins.has(f.column) && !given.includes(f));
    if (given.length === 0 || !sub.exclusive) {
      for (const f of sub.exclusive ? pinnedFilters.slice(0, 1) : pinnedFilters) eqs.push({ column: f.column, value: pins.get(f.column)! });
    }
    const plan = planFor(info, shape, [sub.nodeField], perm, role);
    checkColumns(plan, view, role);
    const byKey = eqs.find((e) => e.column === singleKey);
    if (byKey !== undefined && perm.rows.kind !== 'all') {
      const visible = await ctx.loaders.rows(plan.query).load(byKey.value);
      if (visible === null) await assertNotHidden(ctx, view, perm, byKey.value);
    }
    const route = byKey ?? eqs.find((e) => routable.has(e.column));
    const rest = eqs.filter((e) => e !== route);
    const afterArg = opt(args, 'after');
    const feedId = ctx.engine.feed.id;
    const after = afterArg === undefined ? undefined : decodeFeedCursor(feedId, String(afterArg));
    // Lookup predicates (a rider's drivers) read sets the lookup hub keeps fresh; held until the subscription ends.
    const held = ctx.lookups === undefined ? undefined : await ctx.lookups.acquire(perm.rows, ctx.viewer);
    let test: (row: Row) => boolean;
    try {
      test = rowTest(perm.rows, ctx.viewer, held ?? NO_LOOKUPS);
    } catch (err) {
      held?.release(); // the hub never saw the filter, so it cannot release it
      throw err;
    }
    const allow = rest.length === 0 ? test : (row: Row) => test(row) && rest.every((e) => row[e.column] !== null && String(row[e.column]) === e.value);
    const filter: SubscriptionFilter = {
      view: view.name,
      ...(route !== undefined ? { column: route.column, value: route.value } : {}),
      allow,
      ...(after !== undefined ? { after } : {}),
      ...(held !== undefined ? { release: held.release } : {}),
    };
    const deliveries = await ctx.hub.subscribe(filter);
    ctx.log.debug({ requestId: ctx.requestId, view: view.name, column: route?.column, resume: after !== undefined }, 'subscribed');
    const fixed = new Map<string, string>();
    for (const e of eqs) if (requiredByColumn.has(e.column)) fixed.set(e.column, e.value);
    let lastCursor = after ?? ctx.engine.feed.head();
    const toRoot = (d: Delivery): Record<string, unknown> => {
      lastCursor = d.cursor;
      const c = changeView(feedId, d);
      const out: Record<string | symbol, unknown> = { kind: c.kind, cursor: c.cursor, [sub.nodeField]: c.row === null ? null : maskRow(perm, c.row, true) };
      for (const k of keyFields) {
        const v = c.key?.[k.column];
        out[k.field] = v === undefined || v === null ? fixed.get(k.column) ?? null : String(normalizeColumnValue(k.type, v));
      }
      // A symbol key: GraphQL resolves fields by name and JSON.stringify skips symbols, so a plain
      // assignment (cheaper than defineProperty) stays invisible to clients.
      if (d.kind === 'change') out[CHANGE_KEY] = keyString(view, d.event.key);
      return out;
    };
    const stream: ChangeStream = new DeliveryStream(deliveries, toRoot, (reason) => toRoot({ kind: 'resync', cursor: lastCursor, reason }));
    return stream;
  };
}
