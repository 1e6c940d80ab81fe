import { Args, Extensions, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { errors } from '../../errors';
import type { Delivery, SubscriptionFilter } from '../../subscriptions/hub';
import { normalizeRow } from '../../views/normalize';
import { viewNamed } from '../../views/find';
import { bundledRegistry } from '../../views/load';

/** The bundled view this hand-written resolver serves (the generated schema reads `engine.views`). */
const VIEW = (name: string) => viewNamed(bundledRegistry(), name);
import { changeView, mapAsyncIterator } from '../changes';
import type { GraphQLContext } from '../context';
import { assertCanReadRow, canReadTrip, rowAllow, tripSubscriptionTarget } from '../policy';
import { decodeFeedCursor } from '../cursors';
import { wavegateCost } from '../cost';
import { DriverEarningsChange, DriverStatsChange, TripChange } from '../schema/change.types';
import { DriverSubscriptionArgs } from '../schema/stats.args';
import { driverStatsFromRow, earningsDayFromRow } from '../schema/stats.types';
import { TripUpdatedArgs } from '../schema/trip.args';
import { tripFromRow } from '../schema/trip.type';
import { tripByIdSql, tripExistsSql } from '../sql';

type Data = SubscribeResolverData<unknown, Record<string, unknown>, GraphQLContext>;

/** Optional string argument: GraphQL passes explicit nulls through. */
function opt(args: Record<string, unknown>, name: string): string | undefined {
  const v = args[name];
  return v === null || v === undefined ? undefined : String(v);
}

/** Subscribes to the hub, resuming after the client's cursor if it sent one, and maps the deliveries. */
async function subscribeView<T>(ctx: GraphQLContext, args: Record<string, unknown>, filter: Omit<SubscriptionFilter, 'after'>,
  map: (d: Delivery) => T): Promise<AsyncIterableIterator<T>> {
  const cursor = opt(args, 'after');
  const after = cursor === undefined ? undefined : decodeFeedCursor(ctx.engine.feed.id, cursor);
  const deliveries = await ctx.hub.subscribe({ ...filter, ...(after !== undefined ? { after } : {}) });
  ctx.log.debug({ requestId: ctx.requestId, view: filter.view, column: filter.column, resume: after !== undefined }, 'subscribed');
  return mapAsyncIterator(deliveries, map);
}

/** tripId subscriptions by riders and drivers: FORBIDDEN for an existing trip of someone else (as `trip(id)`). */
async function assertTripNotForeign(ctx: GraphQLContext, tripId: string): Promise<void> {
  const own = tripByIdSql(ctx.viewer, tripId);
  if ((await ctx.engine.query(own.text, own.params)).length > 0) return;
  const exists = tripExistsSql(tripId);
  if ((await ctx.engine.query(exists.text, exists.params)).length > 0) throw errors.forbidden('Not allowed to read this trip');
}

async function subscribeTrips({ args, context: ctx }: Data): Promise<AsyncIterableIterator<TripChange>> {
  const target = tripSubscriptionTarget(ctx.viewer, {
    ...(opt(args, 'riderId') !== undefined ? { riderId: opt(args, 'riderId') } : {}),
    ...(opt(args, 'tripId') !== undefined ? { tripId: opt(args, 'tripId') } : {}),
    ...(opt(args, 'driverId') !== undefined ? { driverId: opt(args, 'driverId') } : {}),
  });
  if (target.column === 'trip_id') await assertTripNotForeign(ctx, target.value);
  const feedId = ctx.engine.feed.id;
  return subscribeView(ctx, args, {
    view: 'trip_history',
    ...(target.column !== undefined ? { column: target.column, value: target.value } : {}),
    allow: (row) => canReadTrip(ctx.viewer, row),
  }, (d) => {
    const c = changeView(feedId, d);
    const trip = c.row === null ? null : tripFromRow(normalizeRow(VIEW('trip_history'), c.row));
    return { kind: c.kind, tripId: c.key === null ? null : String(c.key['trip_id']), trip, cursor: c.cursor };
  });
}

async function subscribeEarnings({ args, context: ctx }: Data): Promise<AsyncIterableIterator<DriverEarningsChange>> {
  const driverId = String(args['driverId']);
  assertCanReadRow(ctx.viewer, 'driver_earnings_daily', { driver_id: driverId });
  const allowed = rowAllow(ctx.viewer, 'driver_earnings_daily');
  const feedId = ctx.engine.feed.id;
  // driver_id is an indexed column of the view, so the hub routes on it; the policy still runs per row.
  return subscribeView(ctx, args, {
    view: 'driver_earnings_daily',
    column: 'driver_id',
    value: driverId,
    allow: allowed,
  }, (d) => {
    const c = changeView(feedId, d);
    return {
      kind: c.kind,
      driverId,
      day: c.key === null ? null : String(c.key['day']),
      earnings: c.row === null ? null : earningsDayFromRow(normalizeRow(VIEW('driver_earnings_daily'), c.row)),
      cursor: c.cursor,
    };
  });
}

async function subscribeDriverStats({ args, context: ctx }: Data): Promise<AsyncIterableIterator<DriverStatsChange>> {
  const driverId = String(args['driverId']);
  assertCanReadRow(ctx.viewer, 'driver_stats', { driver_id: driverId });
  const feedId = ctx.engine.feed.id;
  return subscribeView(ctx, args, {
    view: 'driver_stats',
    column: 'driver_id',
    value: driverId,
    allow: rowAllow(ctx.viewer, 'driver_stats'),
  }, (d) => {
    const c = changeView(feedId, d);
    return { kind: c.kind, driverId, stats: c.row === null ? null : driverStatsFromRow(normalizeRow(VIEW('driver_stats'), c.row)), cursor: c.cursor };
  });
}

/**
 * Live changes of the views, through the subscription hub. Each subscription checks the row policy
 * once on its arguments (FORBIDDEN) and again on every row it delivers.
 */
@Resolver()
export class SubscriptionResolver {
  @Subscription((_returns) => TripChange, {
    subscribe: (data) => subscribeTrips(data as Data),
    description: 'Changes to trips: pass at most one of riderId, tripId, driverId. Riders and drivers default to their own trips; ops without arguments get all trips.',
  })
  @Extensions(wavegateCost({ view: 'trip_history', kind: 'subscription', maxRows: 1 }))
  tripUpdated(@Root() change: TripChange, @Args((_type) => TripUpdatedArgs) _args: TripUpdatedArgs): TripChange {
    return change;
  }

  @Subscription((_returns) => DriverEarningsChange, {
    subscribe: (data) => subscribeEarnings(data as Data),
    description: "Changes to a driver's daily earnings (the driver themself or ops).",
  })
  @Extensions(wavegateCost({ view: 'driver_earnings_daily', kind: 'subscription', maxRows: 1 }))
  driverEarningsUpdated(@Root() change: DriverEarningsChange, @Args((_type) => DriverSubscriptionArgs) _args: DriverSubscriptionArgs): DriverEarningsChange {
    return change;
  }

  @Subscription((_returns) => DriverStatsChange, {
    subscribe: (data) => subscribeDriverStats(data as Data),
    description: "Changes to a driver's lifetime stats (the driver themself or ops).",
  })
  @Extensions(wavegateCost({ view: 'driver_stats', kind: 'subscription', maxRows: 1 }))
  driverStatsUpdated(@Root() change: DriverStatsChange, @Args((_type) => DriverSubscriptionArgs) _args: DriverSubscriptionArgs): DriverStatsChange {
    return change;
  }
}
