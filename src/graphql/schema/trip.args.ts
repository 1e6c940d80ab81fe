import { ArgsType, Field, Int } from 'type-graphql';
import { DateTimeScalar, IdScalar } from './scalars';
import { TripStatus } from './trip.type';

/** Default page size of `trips` when `first` is omitted (the cost rule assumes it too). */
export const DEFAULT_PAGE_SIZE = 20;

/** Largest `first` of `trips` (the cost rule's worst case; LimitsConfig.maxPageSize is the same 100). */
export const MAX_PAGE_SIZE = 100;

/** Arguments of `Query.trips`. */
@ArgsType()
export class TripsArgs {
  @Field((_type) => IdScalar, { nullable: true, description: 'Only trips of this rider. Riders may only pass their own id (the default for them).' })
  riderId?: string;

  @Field((_type) => IdScalar, { nullable: true, description: 'Only trips of this driver. Drivers may only pass their own id (the default for them).' })
  driverId?: string;

  @Field((_type) => TripStatus, { nullable: true })
  status?: TripStatus;

  @Field((_type) => DateTimeScalar, { nullable: true, description: 'Only trips requested at or after this instant.' })
  from?: string;

  @Field((_type) => DateTimeScalar, { nullable: true, description: 'Only trips requested before this instant (exclusive).' })
  to?: string;

  @Field((_type) => Int, { nullable: true, defaultValue: DEFAULT_PAGE_SIZE, description: 'Page size, 1 to 100 (null means the default).' })
  first?: number | null;

  @Field((_type) => String, { nullable: true, description: 'An endCursor (or edge cursor) of a previous page.' })
  after?: string;
}

/** Arguments of `Subscription.tripUpdated`. */
@ArgsType()
export class TripUpdatedArgs {
  @Field((_type) => IdScalar, { nullable: true, description: "One rider's trips (riders: only their own; the default for them)." })
  riderId?: string;

  @Field((_type) => IdScalar, { nullable: true, description: 'One trip.' })
  tripId?: string;

  @Field((_type) => IdScalar, { nullable: true, description: "One driver's trips (drivers: only their own; the default for them)." })
  driverId?: string;

  @Field((_type) => String, {
    nullable: true,
    description: 'Resume after this cursor (from a previous change, or the `feedCursor` of a `trips` page): missed changes first, then live ones.',
  })
  after?: string;
}
