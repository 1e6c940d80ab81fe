import { GatewayErrorCode, isGatewayError } from '../../src/errors';
import { EVENT_TYPES, validateEvent, type EventPayloads, type EventType } from '../../src/outbox/events';

const P = { lat: 52.52, lng: 13.405 };

/** One valid payload per event type (the same examples as docs/EVENTS.md). */
const VALID: { [T in EventType]: EventPayloads[T] } = {
  RideRequested: { rider_id: 'rider-0001', pickup: P, dropoff: { lat: 52.5, lng: 13.3 } },
  DriverAssigned: { driver_id: 'driver-001', eta_seconds: 240 },
  FareCalculated: { amount: '12.50', currency: 'EUR', distance_km: '6.80' },
  RideStarted: { driver_id: 'driver-001' },
  RideCompleted: { driver_id: 'driver-001', distance_km: '7.05' },
  RideCancelled: { cancelled_by: 'rider', reason: 'changed plans' },
  PaymentCaptured: { amount: '12.50', currency: 'EUR', payment_id: 'pay-ride-1' },
  TripRated: { rated_by: 'rider', rating: 5 },
};

const event = (type: string, payload: unknown, extra: Record<string, unknown> = {}) =>
  ({ type, aggregateId: 'ride-1', payload, ...extra });

/** The BAD_OUTBOX_PAYLOAD error `validateEvent` throws for `e` (fails the test if it does not throw one). */
function rejection(e: unknown): { path: unknown; message: string } {
  try {
    validateEvent(e);
  } catch (err) {
    if (!isGatewayError(err, GatewayErrorCode.BAD_OUTBOX_PAYLOAD)) throw err;
    return { path: err.details?.['path'], message: err.message };
  }
  throw new Error('validateEvent accepted an invalid event');
}

describe('validateEvent', () => {
  it.each(EVENT_TYPES.map((t) => [t]))('accepts a valid %s', (type) => {
    expect(() => validateEvent(event(type, VALID[type]))).not.toThrow();
  });

  it('accepts the optional trace context and occurrence time', () => {
    expect(() => validateEvent(event('RideStarted', VALID.RideStarted, {
      traceContext: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', occurredAt: new Date(),
    }))).not.toThrow();
  });

  it.each([
    ['a missing field', event('FareCalculated', { amount: '1.00', currency: 'EUR' }), 'payload.distance_km', 'is required'],
    ['an extra field', event('RideStarted', { driver_id: 'd', speed: 3 }), 'payload.speed', 'is not a field of RideStarted'],
    ['money as a JSON number', event('PaymentCaptured', { ...VALID.PaymentCaptured, amount: 12.5 }), 'payload.amount', 'decimal in a JSON string'],
    ['a negative amount', event('FareCalculated', { ...VALID.FareCalculated, amount: '-1.00' }), 'payload.amount', 'non-negative decimal'],
    ['too many decimals', event('FareCalculated', { ...VALID.FareCalculated, amount: '1.00001' }), 'payload.amount', 'decimal'],
    ['a bad currency', event('FareCalculated', { ...VALID.FareCalculated, currency: 'eur' }), 'payload.currency', 'ISO 4217'],
    ['a bad enum value', event('RideCancelled', { cancelled_by: 'passenger', reason: 'x' }), 'payload.cancelled_by', 'one of rider, driver, system'],
    ['a rating above 5', event('TripRated', { rated_by: 'rider', rating: 6 }), 'payload.rating', 'from 1 to 5'],
    ['a fractional rating', event('TripRated', { rated_by: 'rider', rating: 4.5 }), 'payload.rating', 'whole number'],
    ['a rating as a string', event('TripRated', { rated_by: 'rider', rating: '5' }), 'payload.rating', 'whole number'],
    ['a point out of range', event('RideRequested', { ...VALID.RideRequested, pickup: { lat: 91, lng: 0 } }), 'payload.pickup', '±90'],
    ['a point with an extra key', event('RideRequested', { ...VALID.RideRequested, dropoff: { ...P, alt: 3 } }), 'payload.dropoff', 'exactly {lat, lng}'],
    ['a point as a string', event('RideRequested', { ...VALID.RideRequested, pickup: '52.5,13.4' }), 'payload.pickup', 'object'],
    ['a bad id', event('RideStarted', { driver_id: 'driver 1' }), 'payload.driver_id', 'must be an id'],
    ['an unknown type', event('RideTeleported', {}), 'type', 'must be one of'],
    ['a bad aggregate id', { type: 'RideStarted', aggregateId: '', payload: VALID.RideStarted }, 'aggregateId', 'must be an id'],
    ['a payload array', event('RideStarted', []), 'payload', 'must be an object'],
    ['an invalid date', event('RideStarted', VALID.RideStarted, { occurredAt: new Date('nope') }), 'occurredAt', 'valid Date'],
    ['an over-long trace context', event('RideStarted', VALID.RideStarted, { traceContext: 'x'.repeat(513) }), 'traceContext', '512'],
    ['a non-object event', 'RideStarted', 'event', 'must be an object'],
  ])('rejects %s with BAD_OUTBOX_PAYLOAD naming the path', (_what, e, path, words) => {
    const { path: reported, message } = rejection(e);
    expect(reported).toBe(path);
    expect(message).toContain(path);
    expect(message).toContain(words);
  });
});
