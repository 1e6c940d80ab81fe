import { Arg, Args, Ctx, Extensions, Query, Resolver } from 'type-graphql';
import { errors } from '../../errors';
import { normalizeRow } from '../../views/normalize';
import { viewNamed } from '../../views/find';
import { bundledRegistry } from '../../views/load';

/** The bundled view this hand-written resolver serves (the generated schema reads `engine.views`). */
const VIEW = (name: string) => viewNamed(bundledRegistry(), name);
import type { GraphQLContext } from '../context';
import { assertCanReadRow } from '../policy';
import { wavegateCost } from '../cost';
import { IdScalar } from '../schema/scalars';
import { driverEarningsSql, driverStatsByIdSql, MAX_EARNINGS_DAYS } from '../sql';
import { DriverEarningsArgs } from '../schema/stats.args';
import { DriverEarningsDay, DriverStats, RiderStats, driverStatsFromRow, earningsDayFromRow, riderStatsFromRow } from '../schema/stats.types';

/** Queries over rider_stats, driver_stats and driver_earnings_daily. */
@Resolver()
export class StatsResolver {
  @Query((_returns) => RiderStats, { nullable: true, description: "A rider's stats (the rider themself or ops); null if the rider has no trips." })
  @Extensions(wavegateCost({ view: 'rider_stats', kind: 'lookup', maxRows: 1 }))
  async riderStats(@Arg('riderId', (_type) => IdScalar) riderId: string, @Ctx() ctx: GraphQLContext): Promise<RiderStats | null> {
    assertCanReadRow(ctx.viewer, 'rider_stats', { rider_id: riderId });
    const row = await ctx.loaders.riderStats.load(riderId);
    return row === null ? null : riderStatsFromRow(row);
  }

  @Query((_returns) => DriverStats, { nullable: true, description: "A driver's stats including earnings (the driver themself or ops); null if unknown." })
  @Extensions(wavegateCost({ view: 'driver_stats', kind: 'lookup', maxRows: 1 }))
  async driverStats(@Arg('driverId', (_type) => IdScalar) driverId: string, @Ctx() ctx: GraphQLContext): Promise<DriverStats | null> {
    assertCanReadRow(ctx.viewer, 'driver_stats', { driver_id: driverId });
    const sql = driverStatsByIdSql(ctx.viewer, driverId);
    const [row] = await ctx.engine.query(sql.text, sql.params);
    return row === undefined ? null : driverStatsFromRow(normalizeRow(VIEW('driver_stats'), row));
  }

  @Query((_returns) => [DriverEarningsDay], {
    description: "A driver's earnings per UTC day, oldest first, from..to inclusive, at most 1000 days (the driver themself or ops).",
  })
  @Extensions(wavegateCost({ view: 'driver_earnings_daily', kind: 'list', maxRows: MAX_EARNINGS_DAYS }))
  async driverEarnings(@Args((_type) => DriverEarningsArgs) args: DriverEarningsArgs, @Ctx() ctx: GraphQLContext): Promise<DriverEarningsDay[]> {
    assertCanReadRow(ctx.viewer, 'driver_earnings_daily', { driver_id: args.driverId });
    const from = args.from ?? undefined;
    const to = args.to ?? undefined;
    if (from !== undefined && to !== undefined && from > to) throw errors.badInput('from must not be after to', { from, to });
    const sql = driverEarningsSql(ctx.viewer, args.driverId, from, to);
    const rows = await ctx.engine.query(sql.text, sql.params);
    return rows.map((r) => earningsDayFromRow(normalizeRow(VIEW('driver_earnings_daily'), r)));
  }
}
