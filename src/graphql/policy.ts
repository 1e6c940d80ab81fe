/**
 * The row policy of the hand-written ride-hailing resolvers (src/graphql/resolvers/*), routed
 * through the permission compiler (src/permissions/compile.ts) over the bundled registry: these
 * resolvers serve the bundled views only, and go away with them when the API is generated from the
 * registry. Argument rules kept from before:
 * - arguments naming someone else's id are refused with FORBIDDEN rather than silently narrowed, so
 *   a client bug shows up as an error instead of an empty list; absent owner arguments default to the
 *   viewer's own id (a role whose rows are `<column> = sub` owns that column);
 * - a filter on the *other* party (a rider filtering trips by driverId) is allowed and still ANDed
 *   with the permission.
 */
import type { Viewer } from '../auth/viewer';
import { errors } from '../errors';
import { NO_LOOKUPS, permissionOf, predicateSql, rowTest, viewOf, type SqlParams } from '../permissions/compile';
import { bundledRegistry } from '../views/load';
import type { Predicate, Row } from '../views/model';

const NONE: Predicate = { kind: 'none' };

function rowsOf(view: string, viewer: Viewer): Predicate {
  return permissionOf(viewOf(bundledRegistry(), view), viewer.role)?.rows ?? NONE;
}

/** The WHERE fragment of `viewer`'s rows of `view` (undefined = all rows), parameters added to `params`. */
export function policySql(view: string, viewer: Viewer, params: SqlParams): string | undefined {
  return predicateSql(rowsOf(view, viewer), viewer, params, bundledRegistry());
}

/** A row filter for subscriptions: true when `viewer` may see `row` of `view` (lookups fail closed here). */
export function rowAllow(viewer: Viewer, view: string): (row: Row) => boolean {
  return rowTest(rowsOf(view, viewer), viewer, NO_LOOKUPS);
}

/**
 * True when `viewer` may read whole rows of `view` like `row` (a key or owner column): the role has
 * every column of the view (these resolvers' types expose them all) and the row passes its test.
 */
export function canReadRow(viewer: Viewer, view: string, row: Row): boolean {
  const model = viewOf(bundledRegistry(), view);
  const perm = permissionOf(model, viewer.role);
  if (perm === undefined || !model.columns.every((c) => perm.columns.includes(c.name))) return false;
  return rowTest(perm.rows, viewer, NO_LOOKUPS)(row);
}

/** Throws FORBIDDEN unless {@link canReadRow}. */
export function assertCanReadRow(viewer: Viewer, view: string, row: Row): void {
  if (!canReadRow(viewer, view, row)) throw errors.forbidden(forbiddenMessage(viewer, view));
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

const TRIP_OWNER_ARGS: Readonly<Record<string, keyof TripScope>> = { rider_id: 'riderId', driver_id: 'driverId' };

/** `rider` → `Riders`, for messages. */
const plural = (role: string) => `${role.charAt(0).toUpperCase()}${role.slice(1)}s`;

/**
 * Resolves the riderId/driverId arguments of a trips query: a role whose trip rows are
 * `rider_id = sub` (riders) is pinned to its own riderId, `driver_id = sub` (drivers) to its own
 * driverId (FORBIDDEN when the argument names someone else); the other party's id stays as an extra
 * filter. Other roles get what they asked for; their permission is still ANDed in SQL.
 */
export function tripScope(viewer: Viewer, args: TripScope): TripScope {
  const scope: TripScope = {};
  if (args.riderId !== undefined) scope.riderId = args.riderId;
  if (args.driverId !== undefined) scope.driverId = args.driverId;
  const rows = rowsOf('trip_history', viewer);
  const arg = rows.kind === 'eq' && rows.claim === 'sub' && Object.hasOwn(TRIP_OWNER_ARGS, rows.column) ? TRIP_OWNER_ARGS[rows.column] : undefined;
  if (arg === undefined) return scope;
  if (args[arg] !== undefined && args[arg] !== viewer.sub) throw errors.forbidden(`${plural(viewer.role)} can only read their own trips`);
  return { ...scope, [arg]: viewer.sub };
}

/** What a tripUpdated subscription listens to: one equality filter, or every trip. */
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

function forbiddenMessage(viewer: Viewer, view: string): string {
  switch (view) {
    case 'rider_stats':
      return viewer.role === 'rider' ? 'Riders can only read their own stats' : 'Only the rider and ops can read rider stats';
    case 'driver_stats':
    case 'driver_earnings_daily':
      return viewer.role === 'driver' ? 'Drivers can only read their own stats and earnings' : 'Only the driver and ops can read driver stats and earnings';
    default:
      return 'Not allowed to read this trip';
  }
}
