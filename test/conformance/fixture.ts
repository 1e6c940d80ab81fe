import type { OutboxEvent } from '../../src/outbox/events';
import type { Row } from '../../src/views/model';

/**
 * The shared fixture of the engine suite: four rides (completed, completed across midnight UTC with
 * the payment on the next day, cancelled, only requested) and the rows every engine must publish.
 */
const P1 = { lat: 52.52, lng: 13.405 };
const P2 = { lat: 52.5, lng: 13.3 };
const at = (iso: string) => new Date(iso);

/** The events, in the order they are written (one transaction per ride). */
export const FIXTURE_RIDES: ReadonlyArray<readonly OutboxEvent[]> = [
  [
    { type: 'RideRequested', aggregateId: 'ride-1', payload: { rider_id: 'rider-1', pickup: P1, dropoff: P2 }, occurredAt: at('2026-10-05T10:00:00Z'), traceContext: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    { type: 'DriverAssigned', aggregateId: 'ride-1', payload: { driver_id: 'driver-1', eta_seconds: 120 }, occurredAt: at('2026-10-05T10:01:00Z') },
    { type: 'FareCalculated', aggregateId: 'ride-1', payload: { amount: '12.50', currency: 'EUR', distance_km: '4.20' }, occurredAt: at('2026-10-05T10:01:00Z') },
    { type: 'RideStarted', aggregateId: 'ride-1', payload: { driver_id: 'driver-1' }, occurredAt: at('2026-10-05T10:05:00Z') },
    { type: 'RideCompleted', aggregateId: 'ride-1', payload: { driver_id: 'driver-1', distance_km: '4.25' }, occurredAt: at('2026-10-05T10:20:00Z') },
    { type: 'PaymentCaptured', aggregateId: 'ride-1', payload: { amount: '12.50', currency: 'EUR', payment_id: 'pay-1' }, occurredAt: at('2026-10-05T10:20:01Z') },
    { type: 'TripRated', aggregateId: 'ride-1', payload: { rated_by: 'rider', rating: 5 }, occurredAt: at('2026-10-05T10:30:00Z') },
    { type: 'TripRated', aggregateId: 'ride-1', payload: { rated_by: 'driver', rating: 4 }, occurredAt: at('2026-10-05T10:31:00Z') },
  ],
  [
    { type: 'RideRequested', aggregateId: 'ride-2', payload: { rider_id: 'rider-1', pickup: P2, dropoff: P1 }, occurredAt: at('2026-10-05T23:40:00Z') },
    { type: 'DriverAssigned', aggregateId: 'ride-2', payload: { driver_id: 'driver-2', eta_seconds: 60 }, occurredAt: at('2026-10-05T23:41:00Z') },
    { type: 'FareCalculated', aggregateId: 'ride-2', payload: { amount: '7.05', currency: 'EUR', distance_km: '3.10' }, occurredAt: at('2026-10-05T23:41:00Z') },
    { type: 'RideStarted', aggregateId: 'ride-2', payload: { driver_id: 'driver-2' }, occurredAt: at('2026-10-05T23:45:00Z') },
    { type: 'RideCompleted', aggregateId: 'ride-2', payload: { driver_id: 'driver-2', distance_km: '3.10' }, occurredAt: at('2026-10-05T23:59:30Z') },
    { type: 'PaymentCaptured', aggregateId: 'ride-2', payload: { amount: '7.05', currency: 'EUR', payment_id: 'pay-2' }, occurredAt: at('2026-10-06T00:01:00Z') },
    { type: 'TripRated', aggregateId: 'ride-2', payload: { rated_by: 'rider', rating: 4 }, occurredAt: at('2026-10-06T00:05:00.123Z') },
  ],
  [
    { type: 'RideRequested', aggregateId: 'ride-3', payload: { rider_id: 'rider-2', pickup: P1, dropoff: P2 }, occurredAt: at('2026-10-06T08:00:00Z') },
    { type: 'DriverAssigned', aggregateId: 'ride-3', payload: { driver_id: 'driver-1', eta_seconds: 300 }, occurredAt: at('2026-10-06T08:02:00Z') },
    { type: 'RideCancelled', aggregateId: 'ride-3', payload: { cancelled_by: 'rider', reason: 'changed plans' }, occurredAt: at('2026-10-06T08:03:00Z') },
  ],
  [
    { type: 'RideRequested', aggregateId: 'ride-4', payload: { rider_id: 'rider-3', pickup: P1, dropoff: P2 }, occurredAt: at('2026-10-06T09:00:00Z') },
  ],
];

const trip = (r: Partial<Record<string, string | number | null>>): Row => ({
  trip_id: null, rider_id: null, driver_id: null, status: null, pickup_lat: 52.52, pickup_lng: 13.405, dropoff_lat: 52.5, dropoff_lng: 13.3,
  requested_at: null, assigned_at: null, started_at: null, completed_at: null, cancelled_at: null, cancelled_by: null,
  fare_amount: null, fare_currency: null, paid_amount: null, distance_km: null, rider_rating: null, driver_rating: null,
  updated_at: null, event_count: null, ...r,
});

/** Normalised rows per view, sorted by key. */
export const FIXTURE_ROWS: { readonly [V in string]: readonly Row[] } = {
  trip_history: [
    trip({ trip_id: 'ride-1', rider_id: 'rider-1', driver_id: 'driver-1', status: 'COMPLETED',
      requested_at: '2026-10-05T10:00:00.000Z', assigned_at: '2026-10-05T10:01:00.000Z', started_at: '2026-10-05T10:05:00.000Z',
      completed_at: '2026-10-05T10:20:00.000Z', fare_amount: '12.50', fare_currency: 'EUR', paid_amount: '12.50', distance_km: '4.25',
      rider_rating: 5, driver_rating: 4, updated_at: '2026-10-05T10:31:00.000Z', event_count: 8 }),
    trip({ trip_id: 'ride-2', rider_id: 'rider-1', driver_id: 'driver-2', status: 'COMPLETED',
      pickup_lat: 52.5, pickup_lng: 13.3, dropoff_lat: 52.52, dropoff_lng: 13.405,
      requested_at: '2026-10-05T23:40:00.000Z', assigned_at: '2026-10-05T23:41:00.000Z', started_at: '2026-10-05T23:45:00.000Z',
      completed_at: '2026-10-05T23:59:30.000Z', fare_amount: '7.05', fare_currency: 'EUR', paid_amount: '7.05', distance_km: '3.10',
      rider_rating: 4, updated_at: '2026-10-06T00:05:00.123Z', event_count: 7 }),
    trip({ trip_id: 'ride-3', rider_id: 'rider-2', driver_id: 'driver-1', status: 'CANCELLED',
      requested_at: '2026-10-06T08:00:00.000Z', assigned_at: '2026-10-06T08:02:00.000Z', cancelled_at: '2026-10-06T08:03:00.000Z',
      cancelled_by: 'rider', updated_at: '2026-10-06T08:03:00.000Z', event_count: 3 }),
    trip({ trip_id: 'ride-4', rider_id: 'rider-3', status: 'REQUESTED', requested_at: '2026-10-06T09:00:00.000Z',
      updated_at: '2026-10-06T09:00:00.000Z', event_count: 1 }),
  ],
  rider_stats: [
    { rider_id: 'rider-1', trips: 2, completed_trips: 2, cancelled_trips: 0, total_spent: '19.55', avg_rating_given: '4.50', ratings_given: 2, updated_at: '2026-10-06T00:05:00.123Z' },
    { rider_id: 'rider-2', trips: 1, completed_trips: 0, cancelled_trips: 1, total_spent: '0', avg_rating_given: null, ratings_given: 0, updated_at: '2026-10-06T08:03:00.000Z' },
    { rider_id: 'rider-3', trips: 1, completed_trips: 0, cancelled_trips: 0, total_spent: '0', avg_rating_given: null, ratings_given: 0, updated_at: '2026-10-06T09:00:00.000Z' },
  ],
  driver_stats: [
    { driver_id: 'driver-1', trips: 2, completed_trips: 1, cancelled_trips: 1, lifetime_earnings: '12.50', rating: '5.00', ratings: 1, last_trip_at: '2026-10-05T10:20:00.000Z' },
    { driver_id: 'driver-2', trips: 1, completed_trips: 1, cancelled_trips: 0, lifetime_earnings: '7.05', rating: '4.00', ratings: 1, last_trip_at: '2026-10-05T23:59:30.000Z' },
  ],
  driver_earnings_daily: [
    { driver_id: 'driver-1', day: '2026-10-05', trips: 1, gross_fares: '12.50', avg_rating: '5.00', ratings: 1 },
    { driver_id: 'driver-2', day: '2026-10-05', trips: 1, gross_fares: '0', avg_rating: null, ratings: 0 },
    { driver_id: 'driver-2', day: '2026-10-06', trips: 0, gross_fares: '7.05', avg_rating: '4.00', ratings: 1 },
  ],
};
