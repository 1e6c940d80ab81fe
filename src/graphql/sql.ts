/**
 * Every statement the resolvers send, in one place (a resolver change shows up here as a SQL diff).
 * Rules: the policy predicate is always ANDed (defence in depth on top of the resolver checks);
 * values travel as `$n` parameters; identifiers come only from the view registry; LIMIT is an
 * inlined, validated integer because RisingWave needs a constant there (no `LIMIT $n`).
 */
import type { Viewer } from '../auth/viewer';
import { SqlParams as Params } from '../permissions/compile';
import { viewNamed } from '../views/find';
import { bundledRegistry } from '../views/load';
import type { PageCursor } from './cursors';
import { policySql } from './policy';

/** A statement and its positional parameters. */
export interface SqlStatement {
  readonly text: string;
  readonly params: readonly unknown[];
}

/** Most rows any statement asks for. */
export const MAX_SQL_LIMIT = 10_000;

/** Days returned by one driverEarnings query at most (narrow `from`/`to` for more). */
export const MAX_EARNINGS_DAYS = 1000;

function columns(view: string): string {
  // The bundled view these hand-written statements read (the generated schema reads `engine.views`).
  return viewNamed(bundledRegistry(), view).columns.map((c) => c.name).join(', ');
}

function limit(n: number): string {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_SQL_LIMIT) throw new RangeError(`LIMIT must be an integer from 1 to ${MAX_SQL_LIMIT}, got ${n}`);
  return `LIMIT ${n}`;
}

function where(conditions: ReadonlyArray<string | undefined>): string {
  const c = conditions.filter((x): x is string => x !== undefined);
  return c.length === 0 ? '' : `WHERE ${c.join(' AND ')}`;
}

/** One trip by id, if the policy allows it. */
export function tripByIdSql(viewer: Viewer, tripId: string): SqlStatement {
  const p = new Params();
  const text = `SELECT ${columns('trip_history')} FROM trip_history ${where([`trip_id = ${p.add(tripId)}`, policySql('trip_history', viewer, p)])}`;
  return { text, params: p.values };
}

/** Does a trip exist at all (to tell "absent" from "not yours")? Selects no row data. */
export function tripExistsSql(tripId: string): SqlStatement {
  return { text: 'SELECT 1 AS found FROM trip_history WHERE trip_id = $1', params: [tripId] };
}

/** Filters of a trips page, after policy.tripScope. `from` inclusive, `to` exclusive. */
export interface TripPageFilter {
  riderId?: string;
  driverId?: string;
  status?: string;
  from?: string;
  to?: string;
  after?: PageCursor;
}

/**
 * A page of trips in (requested_at DESC NULLS LAST, trip_id DESC) order, keyset-paginated after
 * `after`. Selects `cursor_ts`, requested_at as text with full precision, for the next cursor
 * (a JS Date would drop microseconds and skip rows that share the millisecond).
 */
export function tripsPageSql(viewer: Viewer, f: TripPageFilter, rows: number): SqlStatement {
  const p = new Params();
  const conditions = [
    f.riderId !== undefined ? `rider_id = ${p.add(f.riderId)}` : undefined,
    f.driverId !== undefined ? `driver_id = ${p.add(f.driverId)}` : undefined,
    f.status !== undefined ? `status = ${p.add(f.status)}` : undefined,
    f.from !== undefined ? `requested_at >= ${p.add(f.from)}::timestamptz` : undefined,
    f.to !== undefined ? `requested_at < ${p.add(f.to)}::timestamptz` : undefined,
    f.after !== undefined ? keysetSql(f.after, p) : undefined,
    policySql('trip_history', viewer, p),
  ];
  const text = `SELECT ${columns('trip_history')}, CAST(requested_at AS varchar) AS cursor_ts FROM trip_history ${where(conditions)} ` +
    `ORDER BY requested_at DESC NULLS LAST, trip_id DESC ${limit(rows)}`;
  return { text, params: p.values };
}

/** Rows strictly after the cursor in the page order (expanded, not a row comparison, for NULLs). */
function keysetSql(c: PageCursor, p: Params): string {
  const id = p.add(c.id);
  if (c.t === null) return `(requested_at IS NULL AND trip_id < ${id})`;
  const t = p.add(c.t);
  return `(requested_at < ${t}::timestamptz OR (requested_at = ${t}::timestamptz AND trip_id < ${id}) OR requested_at IS NULL)`;
}

/** rider_stats rows for a batch of rider ids (DataLoader). */
export function riderStatsByIdsSql(viewer: Viewer, riderIds: readonly string[]): SqlStatement {
  const p = new Params();
  const text = `SELECT ${columns('rider_stats')} FROM rider_stats ${where([`rider_id = ANY(${p.add(riderIds)}::text[])`, policySql('rider_stats', viewer, p)])}`;
  return { text, params: p.values };
}

/**
 * Public driver profiles (driver_id, rating, completed_trips) for a batch of driver ids (DataLoader),
 * under the viewer's driver_stats permission (riders: the drivers of their own trips; schema/driver_stats.yaml).
 */
export function driverProfilesByIdsSql(viewer: Viewer, driverIds: readonly string[]): SqlStatement {
  const p = new Params();
  const text = `SELECT driver_id, rating, completed_trips FROM driver_stats ${where([`driver_id = ANY(${p.add(driverIds)}::text[])`, policySql('driver_stats', viewer, p)])}`;
  return { text, params: p.values };
}

/** One driver's full driver_stats row. */
export function driverStatsByIdSql(viewer: Viewer, driverId: string): SqlStatement {
  const p = new Params();
  const text = `SELECT ${columns('driver_stats')} FROM driver_stats ${where([`driver_id = ${p.add(driverId)}`, policySql('driver_stats', viewer, p)])}`;
  return { text, params: p.values };
}

/** One driver's daily earnings, `from`..`to` inclusive, oldest first. */
export function driverEarningsSql(viewer: Viewer, driverId: string, from: string | undefined, to: string | undefined): SqlStatement {
  const p = new Params();
  const conditions = [
    `driver_id = ${p.add(driverId)}`,
    from !== undefined ? `day >= ${p.add(from)}::date` : undefined,
    to !== undefined ? `day <= ${p.add(to)}::date` : undefined,
    policySql('driver_earnings_daily', viewer, p),
  ];
  const text = `SELECT ${columns('driver_earnings_daily')} FROM driver_earnings_daily ${where(conditions)} ORDER BY day ${limit(MAX_EARNINGS_DAYS)}`;
  return { text, params: p.values };
}
