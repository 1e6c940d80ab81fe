/**
 * Pure parts of the ride-hailing example (examples/ride-hailing/src): the runner's environment,
 * the Ride service's match-timeout settings, fares in exact cents, ETAs, what riders are told.
 */
import type { Pool } from 'mysql2/promise';
import { etaSeconds } from '../../examples/ride-hailing/src/driver';
import { parseMainEnv } from '../../examples/ride-hailing/src/main';
import { messageFor } from '../../examples/ride-hailing/src/notification';
import { fareFor } from '../../examples/ride-hailing/src/payment';
import { createRideService, sweepIntervalMs } from '../../examples/ride-hailing/src/ride';
import { fromHundredths, haversineKm, toHundredths } from '../../examples/ride-hailing/src/service';
import { createTraffic, planRide } from '../../examples/ride-hailing/src/traffic';
import { silentLogger } from '../../src/log';
import { Prng } from '../../src/simulator/prng';
import type { ConsumedEvent } from '../../src/consumer';
import { validateEvent } from '../../src/outbox/events';

describe('ride-hailing runner environment', () => {
  it('starts a service from SERVICE and MYSQL_URL with documented defaults', () => {
    expect(parseMainEnv({ SERVICE: 'driver', MYSQL_URL: 'mysql://root@127.0.0.1:3306/driver', DRIVERS_SEED: '20' })).toEqual({
      service: 'driver', mysqlUrl: 'mysql://root@127.0.0.1:3306/driver', brokers: ['127.0.0.1:19092'], topicPrefix: 'events.',
      logLevel: 'info', port: 8080, host: '127.0.0.1', driversSeed: 20, matchTimeoutMs: 60_000,
    });
    expect(parseMainEnv({ SERVICE: 'ride', MYSQL_URL: 'mysql://x/y', RIDE_MATCH_TIMEOUT_MS: '5000' })).toMatchObject({ matchTimeoutMs: 5000 });
    expect(parseMainEnv({ SERVICE: 'ride', MYSQL_URL: 'mysql://x/y', RIDE_MATCH_TIMEOUT_MS: '' })).toMatchObject({ matchTimeoutMs: 60_000 });
    expect(() => parseMainEnv({ SERVICE: 'ride', MYSQL_URL: 'mysql://x/y', RIDE_MATCH_TIMEOUT_MS: '10' })).toThrow('RIDE_MATCH_TIMEOUT_MS must be a whole number from 1000 to 86400000, got "10"');
    expect(() => parseMainEnv({ SERVICE: 'ride', MYSQL_URL: 'mysql://x/y', RIDE_MATCH_TIMEOUT_MS: '90000.5' })).toThrow('RIDE_MATCH_TIMEOUT_MS');
    expect(() => parseMainEnv({ SERVICE: 'ride', MYSQL_URL: 'mysql://x/y', RIDE_MATCH_TIMEOUT_MS: 'a minute' })).toThrow('RIDE_MATCH_TIMEOUT_MS');
  });

  it('sweeps for the Ride service\'s match timeout every quarter of it, within 50 ms … 5 s, and refuses a timeout that is not > 0', () => {
    expect(sweepIntervalMs(60_000)).toBe(5_000);
    expect(sweepIntervalMs(8_000)).toBe(2_000);
    expect(sweepIntervalMs(100)).toBe(50);
    const o = { db: undefined as unknown as Pool, brokers: [], log: silentLogger };
    expect(() => createRideService(o, { matchTimeoutMs: 0 })).toThrow('matchTimeoutMs must be a positive number of milliseconds, got 0');
    expect(() => createRideService(o, { matchTimeoutMs: Number.NaN })).toThrow('matchTimeoutMs');
    expect(() => createRideService(o, { sweepEveryMs: -1 })).toThrow('sweepEveryMs must be a whole number of milliseconds >= 0, got -1');
    expect(() => createRideService(o, { sweepEveryMs: 0.5 })).toThrow('sweepEveryMs');
  });

  it('starts the router (the RisingWave stand-in) from ROUTER_SOURCES', () => {
    expect(parseMainEnv({ SERVICE: 'router', ROUTER_SOURCES: 'ride=mysql://root@h/ride; driver=mysql://root@h/driver', KAFKA_BROKERS: 'a:1,b:2' })).toEqual({
      service: 'router', sources: [{ name: 'ride', url: 'mysql://root@h/ride' }, { name: 'driver', url: 'mysql://root@h/driver' }],
      brokers: ['a:1', 'b:2'], topicPrefix: 'events.', logLevel: 'info', pollMs: 200,
    });
  });

  it('starts the traffic driver from RIDE_URL alone: no MYSQL_URL or Kafka needed', () => {
    expect(parseMainEnv({ SERVICE: 'traffic', RIDE_URL: 'http://ride:8080' })).toEqual({
      service: 'traffic', rideUrl: 'http://ride:8080', logLevel: 'info', rate: 1, riders: 200, tripMs: 5000, cancelRate: 0.1, seed: undefined,
    });
    expect(parseMainEnv({ SERVICE: 'traffic', RIDE_URL: 'http://127.0.0.1:8080', TRAFFIC_RATE: '2.5', TRAFFIC_RIDERS: '10', TRAFFIC_TRIP_MS: '100', TRAFFIC_CANCEL_RATE: '0', TRAFFIC_SEED: '42' }))
      .toMatchObject({ rate: 2.5, riders: 10, tripMs: 100, cancelRate: 0, seed: 42 });
  });

  it('names the traffic variable to fix', () => {
    expect(() => parseMainEnv({ SERVICE: 'traffic' })).toThrow('RIDE_URL must be the Ride service\'s base URL');
    expect(() => parseMainEnv({ SERVICE: 'traffic', RIDE_URL: 'ride:8080' })).toThrow('RIDE_URL');
    expect(() => parseMainEnv({ SERVICE: 'traffic', RIDE_URL: 'http://ride:8080', TRAFFIC_CANCEL_RATE: '1.5' })).toThrow('TRAFFIC_CANCEL_RATE must be a number from 0 to 1');
    expect(() => parseMainEnv({ SERVICE: 'traffic', RIDE_URL: 'http://ride:8080', TRAFFIC_CANCEL_RATE: 'often' })).toThrow('TRAFFIC_CANCEL_RATE');
    expect(() => parseMainEnv({ SERVICE: 'traffic', RIDE_URL: 'http://ride:8080', TRAFFIC_RATE: '0' })).toThrow('TRAFFIC_RATE');
    expect(() => parseMainEnv({ SERVICE: 'traffic', RIDE_URL: 'http://ride:8080', TRAFFIC_SEED: '-1' })).toThrow('TRAFFIC_SEED must be a whole number');
  });

  it('names the variable to fix', () => {
    expect(() => parseMainEnv({})).toThrow('SERVICE must be one of ride, driver, payment, notification, router, traffic');
    expect(() => parseMainEnv({ SERVICE: 'ride' })).toThrow('MYSQL_URL');
    expect(() => parseMainEnv({ SERVICE: 'ride', MYSQL_URL: 'mysql://x/y', PORT: 'eighty' })).toThrow('PORT must be a whole number');
    expect(() => parseMainEnv({ SERVICE: 'router' })).toThrow('ROUTER_SOURCES');
    expect(() => parseMainEnv({ SERVICE: 'ride', MYSQL_URL: 'mysql://x/y', LOG_LEVEL: 'loud' })).toThrow('LOG_LEVEL');
  });
});

describe('ride-hailing traffic driver (pure parts)', () => {
  const plan = { riders: 200, cancelRate: 0.3, rideIdPrefix: 'r', detour: { min: 1.1, max: 1.6 } };

  it('plans the same rides from the same seed, riders and places like the simulator\'s', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const rides = Array.from({ length: 50 }, (_, i) => planRide(a, i + 1, plan));
    expect(Array.from({ length: 50 }, (_, i) => planRide(b, i + 1, plan))).toEqual(rides);
    expect(rides[0]!.id).toBe('r-000001');
    for (const r of rides) {
      expect(r.riderId).toMatch(/^rider-\d{4}$/);
      expect(haversineKm({ lat: 52.52, lng: 13.405 }, r.pickup)).toBeLessThanOrEqual(8.01);
      expect(r.distanceKm).toMatch(/^\d+\.\d{2}$/);
      const straight = haversineKm(r.pickup, r.dropoff);
      expect(Number(r.distanceKm)).toBeGreaterThanOrEqual(straight * 1.1 - 0.01);
      expect(Number(r.distanceKm)).toBeLessThanOrEqual(straight * 1.6 + 0.01);
    }
    expect(new Set(rides.map((r) => r.plan))).toEqual(new Set(['complete', 'cancel-requested', 'cancel-assigned']));
    expect(planRide(new Prng(1), 1, { ...plan, cancelRate: 0 }).plan).toBe('complete');
    expect(planRide(new Prng(1), 1, { ...plan, cancelRate: 1 }).plan).not.toBe('complete');
  });

  it('refuses bad options with what to change', () => {
    expect(() => createTraffic({ rideUrl: 'http://ride:8080', log: silentLogger, cancelRate: 2 })).toThrow('cancelRate must be from 0 to 1');
    expect(() => createTraffic({ rideUrl: 'ride', log: silentLogger })).toThrow('rideUrl must be an http(s) URL');
    expect(() => createTraffic({ rideUrl: 'http://ride:8080', log: silentLogger, tripMs: 10_000, rideTimeoutMs: 5_000 })).toThrow('rideTimeoutMs (5000) must exceed tripMs (10000)');
    expect(createTraffic({ rideUrl: 'http://ride:8080', log: silentLogger, seed: 9 }).stats()).toMatchObject({ requested: 0, finished: 0 });
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
