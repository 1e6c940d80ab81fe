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

  @Field((_type) => String, {
    description: 'Subscription cursor taken just before this page was read. Pass it as `after` to `tripUpdated` to get every change '
      + 'since: the page, then live changes, with no gap. Changes the page already reflects may come again: apply each change as an '
      + 'upsert (or delete) by tripId, the last one per trip wins (docs/SUBSCRIPTIONS.md, snapshot then live).',
  })
  feedCursor!: string;
}
