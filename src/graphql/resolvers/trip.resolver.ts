import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, Extensions, FieldResolver, Info, Query, Resolver, Root } from 'type-graphql';
import { readWithFeedCursor } from '../../engine/snapshot';
import { errors } from '../../errors';
import { normalizeRow } from '../../views/normalize';
import { viewNamed } from '../../views/find';
import { bundledRegistry } from '../../views/load';

/** The bundled view this hand-written resolver serves (the generated schema reads `engine.views`). */
const VIEW = (name: string) => viewNamed(bundledRegistry(), name);
import type { GraphQLContext } from '../context';
import { assertCanReadRow, tripScope } from '../policy';
import { wavegateCost } from '../cost';
import { IdScalar } from '../schema/scalars';
import { decodePageCursor, encodeFeedCursor, encodePageCursor } from '../cursors';
import { selectsField } from '../selection';
import { tripByIdSql, tripExistsSql, tripsPageSql } from '../sql';
import { TripConnection } from '../schema/connection.type';
import { Driver, RiderStats, driverFromRow, riderStatsFromRow } from '../schema/stats.types';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, TripsArgs } from '../schema/trip.args';
import { Trip, tripFromRow } from '../schema/trip.type';

/** Queries over trip_history and the nested relations of Trip (batched through the request's loaders). */
@Resolver((_of) => Trip)
export class TripResolver {
  @Query((_returns) => Trip, { nullable: true, description: 'One trip; null if it does not exist, FORBIDDEN if it is not yours.' })
  @Extensions(wavegateCost({ view: 'trip_history', kind: 'lookup', maxRows: 1 }))
  async trip(@Arg('id', (_type) => IdScalar) id: string, @Ctx() ctx: GraphQLContext): Promise<Trip | null> {
    const byId = tripByIdSql(ctx.viewer, id);
    const [row] = await ctx.engine.query(byId.text, byId.params);
    if (row !== undefined) return tripFromRow(normalizeRow(VIEW('trip_history'), row));
    const exists = tripExistsSql(id);
    if ((await ctx.engine.query(exists.text, exists.params)).length > 0) throw errors.forbidden('Not allowed to read this trip');
    return null;
  }

  @Query((_returns) => TripConnection, {
    description: 'Trips, newest request first. Riders see their own trips and drivers theirs (the default filter); ops see all.',
  })
  @Extensions(wavegateCost({ view: 'trip_history', kind: 'connection', page: { arg: 'first', default: DEFAULT_PAGE_SIZE, max: MAX_PAGE_SIZE }, maxRows: MAX_PAGE_SIZE }))
  async trips(@Args((_type) => TripsArgs) args: TripsArgs, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo): Promise<TripConnection> {
    const max = ctx.limits.maxPageSize;
    const first = args.first ?? DEFAULT_PAGE_SIZE;
    if (!Number.isSafeInteger(first) || first < 1 || first > max) {
      throw errors.badInput(`first must be from 1 to ${max}`, { first, max });
    }
    const from = args.from ?? undefined;
    const to = args.to ?? undefined;
    if (from !== undefined && to !== undefined && Date.parse(from) > Date.parse(to)) {
      throw errors.badInput('from must not be after to', { from, to });
    }
    const after = args.after != null ? decodePageCursor(args.after) : undefined;
    const scope = tripScope(ctx.viewer, {
      ...(args.riderId != null ? { riderId: args.riderId } : {}),
      ...(args.driverId != null ? { driverId: args.driverId } : {}),
    });
    const sql = tripsPageSql(ctx.viewer, {
      ...scope,
      ...(args.status != null ? { status: args.status } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(after !== undefined ? { after } : {}),
    }, first + 1);
    // feedCursor: every change it covers is in the rows (readWithFeedCursor; a FLUSH on RisingWave, so only when asked for).
    const read = selectsField(info, 'feedCursor')
      ? await readWithFeedCursor(ctx.engine, sql.text, sql.params)
      : { cursor: ctx.engine.feed.head(), rows: await ctx.engine.query<Record<string, unknown>>(sql.text, sql.params) };
    const { rows } = read;
    const feedCursor = encodeFeedCursor(ctx.engine.feed.id, read.cursor);
    const page = rows.slice(0, first);
    const edges = page.map((raw) => {
      const trip = tripFromRow(normalizeRow(VIEW('trip_history'), raw));
      const t = raw['cursor_ts'];
      return { node: trip, cursor: encodePageCursor({ t: t === null || t === undefined ? null : String(t), id: trip.id }) };
    });
    return {
      edges,
      pageInfo: {
        hasNextPage: rows.length > first,
        hasPreviousPage: after !== undefined,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
      feedCursor,
    };
  }

  @FieldResolver((_returns) => Driver, { nullable: true, description: "The assigned driver's public profile; null before assignment." })
  @Extensions(wavegateCost({ view: 'driver_stats', kind: 'relation', maxRows: 1 }))
  async driver(@Root() trip: Trip, @Ctx() ctx: GraphQLContext): Promise<Driver | null> {
    if (trip.driverId === null) return null;
    const row = await ctx.loaders.driverProfile.load(trip.driverId);
    return row === null ? null : driverFromRow(row);
  }

  @FieldResolver((_returns) => RiderStats, { nullable: true, description: "The rider's stats: only for the rider themself and ops (FORBIDDEN otherwise)." })
  @Extensions(wavegateCost({ view: 'rider_stats', kind: 'relation', maxRows: 1 }))
  async riderStats(@Root() trip: Trip, @Ctx() ctx: GraphQLContext): Promise<RiderStats | null> {
    if (trip.riderId === null) return null;
    assertCanReadRow(ctx.viewer, 'rider_stats', { rider_id: trip.riderId });
    const row = await ctx.loaders.riderStats.load(trip.riderId);
    return row === null ? null : riderStatsFromRow(row);
  }
}
