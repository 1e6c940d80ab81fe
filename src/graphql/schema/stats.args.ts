import { ArgsType, Field } from 'type-graphql';
import { DateScalar, IdScalar } from './scalars';

/** Arguments of `Query.driverEarnings`. */
@ArgsType()
export class DriverEarningsArgs {
  @Field((_type) => IdScalar)
  driverId!: string;

  @Field((_type) => DateScalar, { nullable: true, description: 'First day, inclusive.' })
  from?: string;

  @Field((_type) => DateScalar, { nullable: true, description: 'Last day, inclusive.' })
  to?: string;
}

/** Arguments of the per-driver subscriptions. */
@ArgsType()
export class DriverSubscriptionArgs {
  @Field((_type) => IdScalar)
  driverId!: string;

  @Field((_type) => String, { nullable: true, description: 'Resume after this cursor (from a previous change): missed changes first, then live ones.' })
  after?: string;
}
