import { Field, Int, ObjectType } from 'type-graphql';
import type { Row } from '../../views/model';
import { DateScalar, DateTimeScalar, DecimalScalar, IdScalar } from './scalars';

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** Per-rider lifetime figures (view rider_stats). Visible to the rider and ops. */
@ObjectType({ description: 'Per-rider lifetime figures (view rider_stats). Visible to the rider themself and ops.' })
export class RiderStats {
  @Field((_type) => IdScalar)
  riderId!: string;

  @Field((_type) => Int, { description: 'Trips requested.' })
  trips!: number;

  @Field((_type) => Int)
  completedTrips!: number;

  @Field((_type) => Int)
  cancelledTrips!: number;

  @Field((_type) => DecimalScalar, { description: 'Sum of captured payments.' })
  totalSpent!: string;

  @Field((_type) => DecimalScalar, { nullable: true, description: 'Average rating given to drivers; null before the first rating.' })
  avgRatingGiven!: string | null;

  @Field((_type) => Int)
  ratingsGiven!: number;

  @Field((_type) => DateTimeScalar, { nullable: true })
  updatedAt!: string | null;
}

/** Per-driver lifetime figures (view driver_stats), including earnings. Visible to the driver and ops. */
@ObjectType({ description: 'Per-driver lifetime figures (view driver_stats), including earnings. Visible to the driver themself and ops.' })
export class DriverStats {
  @Field((_type) => IdScalar)
  driverId!: string;

  @Field((_type) => Int, { description: 'Trips assigned.' })
  trips!: number;

  @Field((_type) => Int)
  completedTrips!: number;

  @Field((_type) => Int)
  cancelledTrips!: number;

  @Field((_type) => DecimalScalar, { description: 'Sum of captured payments.' })
  lifetimeEarnings!: string;

  @Field((_type) => DecimalScalar, { nullable: true, description: 'Average rating from riders; null before the first rating.' })
  rating!: string | null;

  @Field((_type) => Int)
  ratings!: number;

  @Field((_type) => DateTimeScalar, { nullable: true })
  lastTripAt!: string | null;
}

/** The public profile of a driver: what a rider of one of their trips may see. No earnings. */
@ObjectType({ description: 'The public profile of a driver (from driver_stats): no earnings.' })
export class Driver {
  @Field((_type) => IdScalar)
  id!: string;

  @Field((_type) => DecimalScalar, { nullable: true, description: 'Average rating from riders.' })
  rating!: string | null;

  @Field((_type) => Int)
  completedTrips!: number;
}

/** One driver's figures for one UTC day (view driver_earnings_daily). */
@ObjectType({ description: "One driver's figures for one UTC day (view driver_earnings_daily)." })
export class DriverEarningsDay {
  @Field((_type) => IdScalar)
  driverId!: string;

  @Field((_type) => DateScalar)
  day!: string;

  @Field((_type) => Int, { description: 'Trips completed that day.' })
  trips!: number;

  @Field((_type) => DecimalScalar, { description: 'Payments captured that day.' })
  grossFares!: string;

  @Field((_type) => DecimalScalar, { nullable: true })
  avgRating!: string | null;

  @Field((_type) => Int)
  ratings!: number;
}

/** Maps a normalised rider_stats row. */
export function riderStatsFromRow(row: Row): RiderStats {
  return {
    riderId: String(row['rider_id']),
    trips: Number(row['trips']),
    completedTrips: Number(row['completed_trips']),
    cancelledTrips: Number(row['cancelled_trips']),
    totalSpent: String(row['total_spent']),
    avgRatingGiven: str(row['avg_rating_given']),
    ratingsGiven: Number(row['ratings_given']),
    updatedAt: str(row['updated_at']),
  };
}

/** Maps a normalised driver_stats row. */
export function driverStatsFromRow(row: Row): DriverStats {
  return {
    driverId: String(row['driver_id']),
    trips: Number(row['trips']),
    completedTrips: Number(row['completed_trips']),
    cancelledTrips: Number(row['cancelled_trips']),
    lifetimeEarnings: String(row['lifetime_earnings']),
    rating: str(row['rating']),
    ratings: Number(row['ratings']),
    lastTripAt: str(row['last_trip_at']),
  };
}

/** Maps the public columns of a driver_stats row. */
export function driverFromRow(row: Row): Driver {
  return { id: String(row['driver_id']), rating: str(row['rating']), completedTrips: Number(row['completed_trips']) };
}

/** Maps a normalised driver_earnings_daily row. */
export function earningsDayFromRow(row: Row): DriverEarningsDay {
  return {
    driverId: String(row['driver_id']),
    day: String(row['day']),
    trips: Number(row['trips']),
    grossFares: String(row['gross_fares']),
    avgRating: str(row['avg_rating']),
    ratings: Number(row['ratings']),
  };
}
