/**
 * The row policy, in one place: queries, nested fields, subscriptions (and later the SQL passthrough)
 * all ask this module who may read which rows.
 *
 * - riders read trip_history and rider_stats rows with their own rider_id;
 * - drivers read trip_history, driver_stats and driver_earnings_daily rows with their own driver_id;
 * - ops read everything.
 * A driver's *public profile* (id, rating, completed trips from driver_stats) is readable by anyone
 * who can see a trip of that driver ({@link PUBLIC_DRIVER_COLUMNS}); earnings never are.
 *
 * Arguments naming someone else's id are refused with FORBIDDEN rather than silently narrowed, so a
 * client bug shows up as an error instead of an empty list. Absent owner arguments default to the
 * viewer's own id. A filter on the *other* party (a rider filtering trips by driverId) is allowed and
 * still ANDed with the viewer's own id.
 */
import { errors } from '../errors';
import type { Row } from '../views/model';

/** The ride-hailing views this hand-written policy knows (the declarations' permissions replace it). */
export type ViewName = 'trip_history' | 'rider_stats' | 'driver_stats' | 'driver_earnings_daily';
import type { Viewer } from './viewer';

/** Which rows of a view a viewer may read: all, none, or those whose `column` equals `value`. */
export type RowPredicate =
  | { readonly kind: 'all' }
  | { readonly kind: 'none' }
  | { readonly kind: 'eq'; readonly column: string; readonly value: string };

const ALL: RowPredicate = { kind: 'all' };
const NONE: RowPredicate = { kind: 'none' };

/** The owner column of each view per role; a role absent from a view's entry sees none of it. */
const OWNER: { readonly [V in ViewName]: Partial<Record<'rider' | 'driver', string>> } = {
  trip_history: { rider: 'rider_id', driver: 'driver_id' },
  rider_stats: { rider: 'rider_id' },
  driver_stats: { driver: 'driver_id' },
  driver_earnings_daily: { driver: 'driver_id' },
};

/** Columns of driver_stats any authenticated viewer may read (the public driver profile). */
export const PUBLIC_DRIVER_COLUMNS = ['driver_id', 'rating', 'completed_trips'] as const;

/** The rows of `view` that `viewer` may read. SQL renders it (sql.ts); subscriptions evaluate it per row. */
export function rowPredicate(viewer: Viewer, view: string): RowPredicate {
  if (viewer.role === 'ops') return ALL;
  const column = Object.hasOwn(OWNER, view) ? OWNER[view as ViewName][viewer.role] : undefined;
  return column === undefined ? NONE : { kind: 'eq', column, value: viewer.sub };
}

/** A row filter for subscriptions: true when `viewer` may see `row` of `view`. */
export function rowAllow(viewer: Viewer, view: ViewName): (row: Row) => boolean {
  const p = rowPredicate(viewer, view);
  switch (p.kind) {
    case 'all':
      return () => true;
    case 'none':
      return () => false;
    case 'eq':
      return (row) => row[p.column] === p.value;
  }
}

/** True when `viewer` may read the rows of `view` owned by `ownerId` (the view's owner column). */
export function canReadOwner(viewer: Viewer, view: ViewName, ownerId: string): boolean {
  const p = rowPredicate(viewer, view);
  return p.kind === 'all' || (p.kind === 'eq' && p.value === ownerId);
}

/** Throws FORBIDDEN unless {@link canReadOwner}. */
export function assertCanReadOwner(viewer: Viewer, view: ViewName, ownerId: string): void {
  if (!canReadOwner(viewer, view, ownerId)) throw errors.forbidden(forbiddenMessage(viewer, view));
}

/** True when `viewer` may read this trip_history row. */
export function canReadTrip(viewer: Viewer, row: Row): boolean {
  return rowAllow(viewer, 'trip_history')(row);
}

/** Effective owner filters for a trips query or subscription. */
export interface TripScope {
  riderId?: string;
  driverId?: string;
}

/**
 * Resolves the riderId/driverId arguments of a trips query: riders are pinned to their own riderId
 * and drivers to their own driverId (FORBIDDEN when the argument names someone else); the other
 * party's id stays as an extra filter. Ops get what they asked for.
 */
export function tripScope(viewer: Viewer, args: TripScope): TripScope {
  const scope: TripScope = {};
  if (args.riderId !== undefined) scope.riderId = args.riderId;
  if (args.driverId !== undefined) scope.driverId = args.driverId;
  switch (viewer.role) {
    case 'ops':
      return scope;
    case 'rider':
      if (args.riderId !== undefined && args.riderId !== viewer.sub) throw errors.forbidden('Riders can only read their own trips');
      return { ...scope, riderId: viewer.sub };
    case 'driver':
      if (args.driverId !== undefined && args.driverId !== viewer.sub) throw errors.forbidden('Drivers can only read their own trips');
      return { ...scope, driverId: viewer.sub };
  }
}

/** What a tripUpdated subscription listens to: one equality filter, or every trip (ops only). */
export type TripSubscriptionTarget =
  | { column: 'rider_id' | 'driver_id' | 'trip_id'; value: string }
  | { column: undefined; value: undefined };

/**
 * Resolves tripUpdated's arguments (at most one of riderId, tripId, driverId): riders and drivers
 * default to their own id and get FORBIDDEN for someone else's; no argument from ops means all trips.
 * Rows are still checked one by one with {@link rowAllow}.
 */
export function tripSubscriptionTarget(viewer: Viewer, args: { riderId?: string; tripId?: string; driverId?: string }): TripSubscriptionTarget {
  const given = (['riderId', 'tripId', 'driverId'] as const).filter((k) => args[k] !== undefined);
  if (given.length > 1) throw errors.badInput('Pass at most one of riderId, tripId, driverId', { given });
  if (args.tripId !== undefined) return { column: 'trip_id', value: args.tripId };
  // tripScope refuses someone else's own-role id; the other party's id becomes the filter column.
  const scope = tripScope(viewer, args);
  if (args.riderId !== undefined) return { column: 'rider_id', value: args.riderId };
  if (args.driverId !== undefined) return { column: 'driver_id', value: args.driverId };
  if (scope.riderId !== undefined) return { column: 'rider_id', value: scope.riderId };
  if (scope.driverId !== undefined) return { column: 'driver_id', value: scope.driverId };
  return { column: undefined, value: undefined };
}

function forbiddenMessage(viewer: Viewer, view: ViewName): string {
  switch (view) {
    case 'trip_history':
      return 'Not allowed to read this trip';
    case 'rider_stats':
      return viewer.role === 'rider' ? 'Riders can only read their own stats' : 'Only the rider and ops can read rider stats';
    case 'driver_stats':
    case 'driver_earnings_daily':
      return viewer.role === 'driver' ? 'Drivers can only read their own stats and earnings' : 'Only the driver and ops can read driver stats and earnings';
  }
}
