/**
 * Pure parts of the ride-hailing example (examples/ride-hailing/src): the runner's environment,
 * fares in exact cents, ETAs, what riders are told.
 */
import { etaSeconds } from '../../examples/ride-hailing/src/driver';
import { parseMainEnv } from '../../examples/ride-hailing/src/main';
import { messageFor } from '../../examples/ride-hailing/src/notification';
import { fareFor } from '../../examples/ride-hailing/src/payment';
import { fromHundredths, haversineKm, toHundredths } from '../../examples/ride-hailing/src/service';
import type { ConsumedEvent } from '../../src/consumer';
import { validateEvent } from '../../src/outbox/events';

describe('ride-hailing runner environment', () => {
  it('starts a service from SERVICE and MYSQL_URL with documented defaults', () => {
    expect(parseMainEnv({ SERVICE: 'driver', MYSQL_URL: 'mysql://root@127.0.0.1:3306/driver', DRIVERS_SEED: '20' })).toEqual({
      service: 'driver', mysqlUrl: 'mysql://root@127.0.0.1:3306/driver', brokers: ['127.0.0.1:19092'], topicPrefix: 'events.',
      logLevel: 'info', port: 8080, host: '127.0.0.1', driversSeed: 20,
    });
  });

  it('starts the router (the RisingWave stand-in) from ROUTER_SOURCES', () => {
    expect(parseMainEnv({ SERVICE: 'router', ROUTER_SOURCES: 'ride=mysql://root@h/ride; driver=mysql://root@h/driver', KAFKA_BROKERS: 'a:1,b:2' })).toEqual({
      service: 'router', sources: [{ name: 'ride', url: 'mysql://root@h/ride' }, { name: 'driver', url: 'mysql://root@h/driver' }],
      brokers: ['a:1', 'b:2'], topicPrefix: 'events.', logLevel: 'info', pollMs: 200,
    });
  });

  it('names the variable to fix', () => {
    expect(() => parseMainEnv({})).toThrow('SERVICE must be one of ride, driver, payment, notification, router');
    expect(() => parseMainEnv({ SERVICE: 'ride' })).toThrow('MYSQL_URL');
    expect(() => parseMainEnv({ SERVICE: 'ride', MYSQL_URL: 'mysql://x/y', PORT: 'eighty' })).toThrow('PORT must be a whole number');
    expect(() => parseMainEnv({ SERVICE: 'router' })).toThrow('ROUTER_SOURCES');
    expect(() => parseMainEnv({ SERVICE: 'ride', MYSQL_URL: 'mysql://x/y', LOG_LEVEL: 'loud' })).toThrow('LOG_LEVEL');
  });
});

describe('ride-hailing arithmetic', () => {
  it('computes fares in whole cents from decimal strings, never through floats', () => {
    expect(toHundredths('5.30')).toBe(530);
    expect(toHundredths('7')).toBe(700);
    expect(toHundredths('0.125')).toBe(13);
    expect(fromHundredths(530)).toBe('5.30');
    expect(fareFor('0')).toBe('2.50');
    expect(fareFor('5.30')).toBe('8.86'); // 2.50 + 1.20 × 5.30 = 8.86
    expect(fareFor('2.40')).toBe('5.38');
  });

  it('measures distances and ETAs within the event contract', () => {
    expect(haversineKm({ lat: 52.52, lng: 13.405 }, { lat: 52.52, lng: 13.405 })).toBe(0);
    expect(haversineKm({ lat: 52.5163, lng: 13.3777 }, { lat: 52.5219, lng: 13.4132 })).toBeCloseTo(2.49, 1); // Brandenburger Tor → Alexanderplatz
    expect(etaSeconds(5)).toBe(600);
    expect(etaSeconds(1e9)).toBe(86_400);
  });

  it('tells riders something for each event but ratings', () => {
    const ev = (type: string, payload: unknown) => {
      const e = { type, aggregateId: 'r1', payload };
      validateEvent(e);
      return { ...e, id: 'e', aggregateType: 'Ride', occurredAt: new Date(), occurredAtText: '', traceContext: null } as ConsumedEvent;
    };
    expect(messageFor(ev('DriverAssigned', { driver_id: 'driver-7', eta_seconds: 185 }))).toBe('Driver driver-7 is on the way, about 3 min.');
    expect(messageFor(ev('RideCancelled', { cancelled_by: 'system', reason: 'no driver available' }))).toBe('Sorry, no driver available. Your ride was cancelled.');
    expect(messageFor(ev('PaymentCaptured', { amount: '8.86', currency: 'EUR', payment_id: 'p1' }))).toBe('We charged 8.86 EUR (payment p1).');
    expect(messageFor(ev('TripRated', { rated_by: 'rider', rating: 5 }))).toBeUndefined();
  });
});
