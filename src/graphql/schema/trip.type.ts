import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { Row } from '../../views/model';
import { DateTimeScalar, DecimalScalar, IdScalar } from './scalars';

/** Lifecycle state of a trip (trip_history.status). */
export enum TripStatus {
  REQUESTED = 'REQUESTED',
  ASSIGNED = 'ASSIGNED',
  IN_PROGRESS = 'IN_PROGRESS',
  COMPLETED = 'COMPLETED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(TripStatus, { name: 'TripStatus', description: 'Lifecycle state of a trip.' });

/** A point on the map. */
@ObjectType({ description: 'A point on the map (WGS 84 degrees).' })
export class GeoPoint {
  @Field((_type) => Float)
  lat!: number;

  @Field((_type) => Float)
  lng!: number;
}

/** An amount of money. */
@ObjectType({ description: 'An amount of money.' })
export class Money {
  @Field((_type) => DecimalScalar)
  amount!: string;

  @Field((_type) => String, { description: 'ISO 4217 code, e.g. "EUR".' })
  currency!: string;
}

/** One ride, folded from its events (view trip_history). `driver` and `riderStats` are field resolvers. */
@ObjectType({ description: 'One ride, folded from its events (view trip_history).' })
export class Trip {
  @Field((_type) => IdScalar, { description: 'The trip (ride) id.' })
  id!: string;

  @Field((_type) => IdScalar, { nullable: true })
  riderId!: string | null;

  @Field((_type) => IdScalar, { nullable: true, description: 'Null until a driver is assigned.' })
  driverId!: string | null;

  @Field((_type) => TripStatus)
  status!: TripStatus;

  @Field((_type) => GeoPoint, { nullable: true })
  pickup!: GeoPoint | null;

  @Field((_type) => GeoPoint, { nullable: true })
  dropoff!: GeoPoint | null;

  @Field((_type) => DateTimeScalar, { nullable: true })
  requestedAt!: string | null;

  @Field((_type) => DateTimeScalar, { nullable: true })
  assignedAt!: string | null;

  @Field((_type) => DateTimeScalar, { nullable: true })
  startedAt!: string | null;

  @Field((_type) => DateTimeScalar, { nullable: true })
  completedAt!: string | null;

  @Field((_type) => DateTimeScalar, { nullable: true })
  cancelledAt!: string | null;

  @Field((_type) => String, { nullable: true, description: 'rider, driver or system.' })
  cancelledBy!: string | null;

  @Field((_type) => Money, { nullable: true, description: 'The calculated fare; null until calculated.' })
  fare!: Money | null;

  @Field((_type) => DecimalScalar, { nullable: true, description: 'Amount captured; null until paid.' })
  paidAmount!: string | null;

  @Field((_type) => DecimalScalar, { nullable: true })
  distanceKm!: string | null;

  @Field((_type) => Int, { nullable: true, description: 'Rating the rider gave (1-5).' })
  riderRating!: number | null;

  @Field((_type) => Int, { nullable: true, description: 'Rating the driver gave (1-5).' })
  driverRating!: number | null;

  @Field((_type) => DateTimeScalar, { description: 'Time of the latest event of this trip.' })
  updatedAt!: string;
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function point(lat: unknown, lng: unknown): GeoPoint | null {
  return lat === null || lng === null || lat === undefined || lng === undefined ? null : { lat: Number(lat), lng: Number(lng) };
}

/** Maps a normalised trip_history row to a {@link Trip}. */
export function tripFromRow(row: Row): Trip {
  const amount = str(row['fare_amount']);
  const currency = str(row['fare_currency']);
  return {
    id: String(row['trip_id']),
    riderId: str(row['rider_id']),
    driverId: str(row['driver_id']),
    status: String(row['status']) as TripStatus,
    pickup: point(row['pickup_lat'], row['pickup_lng']),
    dropoff: point(row['dropoff_lat'], row['dropoff_lng']),
    requestedAt: str(row['requested_at']),
    assignedAt: str(row['assigned_at']),
    startedAt: str(row['started_at']),
    completedAt: str(row['completed_at']),
    cancelledAt: str(row['cancelled_at']),
    cancelledBy: str(row['cancelled_by']),
    fare: amount === null || currency === null ? null : { amount, currency },
    paidAmount: str(row['paid_amount']),
    distanceKm: str(row['distance_km']),
    riderRating: num(row['rider_rating']),
    driverRating: num(row['driver_rating']),
    updatedAt: String(row['updated_at']),
  };
}
