import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { DateScalar, IdScalar } from './scalars';
import { DriverEarningsDay, DriverStats } from './stats.types';
import { Trip } from './trip.type';

/** What happened to a row. RESYNC: the subscriber fell behind; re-query, live changes follow. */
export enum ChangeKind {
  INSERT = 'INSERT',
  UPDATE = 'UPDATE',
  DELETE = 'DELETE',
  RESYNC = 'RESYNC',
}
registerEnumType(ChangeKind, {
  name: 'ChangeKind',
  description: 'What happened to a row. RESYNC: changes were dropped because the subscriber fell behind; re-query, live changes follow.',
});

const CURSOR_DESCRIPTION = 'Opaque resume point: pass it as `after` to a new subscription to get every later change.';

/** A change to one trip. */
@ObjectType({ description: 'A change to one trip.' })
export class TripChange {
  @Field((_type) => ChangeKind)
  kind!: ChangeKind;

  @Field((_type) => IdScalar, { nullable: true, description: 'Null on RESYNC.' })
  tripId!: string | null;

  @Field((_type) => Trip, { nullable: true, description: 'The trip after the change; null on DELETE and RESYNC.' })
  trip!: Trip | null;

  @Field((_type) => String, { description: CURSOR_DESCRIPTION })
  cursor!: string;
}

/** A change to one day of a driver's earnings. */
@ObjectType({ description: "A change to one day of a driver's earnings." })
export class DriverEarningsChange {
  @Field((_type) => ChangeKind)
  kind!: ChangeKind;

  @Field((_type) => IdScalar)
  driverId!: string;

  @Field((_type) => DateScalar, { nullable: true, description: 'Null on RESYNC.' })
  day!: string | null;

  @Field((_type) => DriverEarningsDay, { nullable: true, description: 'The day after the change; null on DELETE and RESYNC.' })
  earnings!: DriverEarningsDay | null;

  @Field((_type) => String, { description: CURSOR_DESCRIPTION })
  cursor!: string;
}

/** A change to a driver's lifetime stats. */
@ObjectType({ description: "A change to a driver's lifetime stats." })
export class DriverStatsChange {
  @Field((_type) => ChangeKind)
  kind!: ChangeKind;

  @Field((_type) => IdScalar)
  driverId!: string;

  @Field((_type) => DriverStats, { nullable: true, description: 'The stats after the change; null on DELETE and RESYNC.' })
  stats!: DriverStats | null;

  @Field((_type) => String, { description: CURSOR_DESCRIPTION })
  cursor!: string;
}
