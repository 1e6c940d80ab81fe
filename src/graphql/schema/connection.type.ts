import { Field, ObjectType } from 'type-graphql';
import { Trip } from './trip.type';

/** Relay page info. */
@ObjectType({ description: 'Relay page info. Cursors are opaque.' })
export class PageInfo {
  @Field((_type) => Boolean)
  hasNextPage!: boolean;

  @Field((_type) => Boolean, { description: 'True when the page was requested with an `after` cursor.' })
  hasPreviousPage!: boolean;

  @Field((_type) => String, { nullable: true })
  startCursor!: string | null;

  @Field((_type) => String, { nullable: true })
  endCursor!: string | null;
}

/** One trip of a page, with its cursor. */
@ObjectType()
export class TripEdge {
  @Field((_type) => Trip)
  node!: Trip;

  @Field((_type) => String, { description: 'Opaque; pass it as `after` to continue after this trip.' })
  cursor!: string;
}

/** A page of trips, newest first. */
@ObjectType({ description: 'A page of trips, ordered by requestedAt descending, then id descending.' })
export class TripConnection {
  @Field((_type) => [TripEdge])
  edges!: TripEdge[];

  @Field((_type) => PageInfo)
  pageInfo!: PageInfo;
}
