/**
 * The ride model behind the simulator: riders, drivers and the state machine of one ride. Pure: no
 * I/O, no timers, no clock. Every random choice comes from the injected {@link Prng}, so a seed
 * fixes the whole story. The scheduler (simulator.ts) decides when steps run and writes the events.
 *
 * One ride, with the delay before each step (seconds at pace 1):
 *
 *   request ──1-3 s──▶ assign ──0.3-0.8 s──▶ price ──pickup 2.5-7 s──▶ start ──trip 3.5-10 s──▶ complete
 *      │                 │ no free driver: retry every 2 s,                │ rider or driver       │
 *      │                 │ 'system' cancels after 5 tries                  │ may cancel            ▼
 *      │                 └ rider may cancel                                ▼                  pay ──1-4 s──▶ rate
 *      └ (a rider has at most one open ride)                           cancelled
 *
 * A driver is busy from DriverAssigned until RideCompleted or RideCancelled; a rider from
 * RideRequested until the ride completes or is cancelled. Low-numbered riders and drivers are the
 * busiest (see {@link Pool.take}). One ride has at most one DriverAssigned
 * (the views count a reassignment as a new ride), so a driver cancellation ends the ride.
 */
import type { EventPayloads, EventType, GeoPoint } from '../outbox/events';
import type { Prng } from './prng';

/** An event as the model produces it: the scheduler adds `occurredAt` when it writes it. */
export interface PlannedEvent<T extends EventType = EventType> {
  type: T;
  aggregateId: string;
  payload: EventPayloads[T];
}

/** Where a ride is; `done` rides are forgotten by the scheduler. */
export type RidePhase = 'requested' | 'assigned' | 'priced' | 'started' | 'completed' | 'paid' | 'done';

/** One ride in flight. */
export interface Ride {
  readonly id: string;
  readonly riderId: string;
  readonly pickup: GeoPoint;
  readonly dropoff: GeoPoint;
  /** Estimated route length, in hundredths of a km. */
  readonly routeHm: number;
  /** Up-front price, in cents: FareCalculated and PaymentCaptured carry the same amount. */
  readonly fareCents: number;
  phase: RidePhase;
  driverId: string | undefined;
  /** Assignment attempts that found no free driver. */
  driverWaits: number;
}

/** What one step of a ride does: the events to write in one transaction, and when the next step runs. */
export interface Step {
  /** Events to write together, in order; may be empty (a ride that ends without a rating). */
  readonly events: PlannedEvent[];
  /** Seconds (at pace 1) until the ride's next step; `null` when the ride is over. */
  readonly nextIn: number | null;
}

/** Population sizes. */
export interface RideWorldOptions {
  /** Number of riders, named `rider-0001`, `rider-0002`, … */
  riders: number;
  /** Number of drivers, named `driver-001`, `driver-002`, … */
  drivers: number;
  prng: Prng;
  /** Prefix of ride ids (`<prefix>-000001`); make it unique per run when the database persists. */
  rideIdPrefix: string;
}

/** City centre the rides are scattered around (Berlin, Alexanderplatz). */
export const CITY_CENTRE: GeoPoint = { lat: 52.52, lng: 13.405 };
/** Radius around the centre that pickups fall in, in km. */
const CITY_RADIUS_KM = 8;
/** Road distance / straight-line distance. */
const ROAD_FACTOR = 1.3;
/** Fare = base + per km, at least the minimum; cents. */
const FARE = { baseCents: 300, perKmCents: 135, minimumCents: 500 } as const;
/** Currency of every fare and payment. */
export const CURRENCY = 'EUR';
/** Assignment attempts before the system gives up on finding a driver, and the pause between them (s). */
const MAX_DRIVER_WAITS = 5;
const DRIVER_RETRY_S = 2;

// Probabilities. Overall about 10 % of rides are cancelled by the rider (4 % before a driver is
// assigned, 6 % of the rest before pickup) and about 3 % by the driver.
const P_RIDER_CANCELS_BEFORE_ASSIGN = 0.04;
const P_RIDER_CANCELS_BEFORE_START = 0.06;
const P_DRIVER_CANCELS = 0.03;
const P_RIDER_RATES = 0.85;
const P_DRIVER_RATES = 0.4;
/** Riders rate drivers high on the whole. */
const RATING_WEIGHTS: ReadonlyArray<readonly [number, number]> = [[5, 55], [4, 28], [3, 10], [2, 4], [1, 3]];
const RIDER_REASONS = ['changed plans', 'driver too far away', 'found another ride', 'booked by mistake'];
const DRIVER_REASONS = ['vehicle problem', 'rider not at pickup point', 'stuck in traffic'];

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** `rider-0001` for index 0. */
export const riderId = (index: number) => `rider-${pad(index + 1, 4)}`;
/** `driver-001` for index 0. */
export const driverId = (index: number) => `driver-${pad(index + 1, 3)}`;

/** Formats hundredths (cents, or hundredths of a km) as the contract's decimal string: 1234 → "12.34". */
export function hundredthsToDecimal(h: number): string {
  return `${Math.floor(h / 100)}.${pad(h % 100, 2)}`;
}

/** Parses a decimal string with at most two decimals into hundredths: "12.3" → 1230. */
export function decimalToHundredths(s: string): number {
  const [whole = '0', frac = ''] = s.split('.');
  return Number(whole) * 100 + Number(frac.padEnd(2, '0').slice(0, 2));
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** A point `km` away from `from` in direction `bearing` (radians), flat-earth (fine at city scale). */
function offset(from: GeoPoint, km: number, bearing: number): GeoPoint {
  const dLat = (km * Math.cos(bearing)) / 111.32;
  const dLng = (km * Math.sin(bearing)) / (111.32 * Math.cos((from.lat * Math.PI) / 180));
  return { lat: round6(from.lat + dLat), lng: round6(from.lng + dLng) };
}

/** Great-circle distance in km. */
export function haversineKm(a: GeoPoint, b: GeoPoint): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}

/** Free riders or drivers: O(1) membership, removal and random pick, in a deterministic order. */
class Pool {
  private readonly items: string[] = [];
  private readonly index = new Map<string, number>();

  constructor(ids: Iterable<string>) {
    for (const id of ids) this.add(id);
  }

  get size(): number {
    return this.items.length;
  }

  add(id: string): void {
    this.index.set(id, this.items.length);
    this.items.push(id);
  }

  /** Removes and returns `id` if it is free. */
  takeIf(id: string): boolean {
    const i = this.index.get(id);
    if (i === undefined) return false;
    const last = this.items.pop()!;
    this.index.delete(id);
    if (last !== id) {
      this.items[i] = last;
      this.index.set(last, i);
    }
    return true;
  }

  /**
   * Picks a free member, preferring low numbers: index ⌊n·u³⌋ of `name` if free, else any free one.
   * Popularity is skewed as in real fleets, and the banner's sample `rider-0001` / `driver-001` are
   * busy, so their tokens show live rides.
   */
  take(prng: Prng, population: number, name: (index: number) => string): string | undefined {
    if (this.items.length === 0) return undefined;
    const preferred = name(Math.floor(population * prng.next() ** 3));
    if (this.takeIf(preferred)) return preferred;
    const any = this.items[Math.floor(prng.next() * this.items.length)]!;
    this.takeIf(any);
    return any;
  }
}

/** Riders, drivers and the ride state machine. */
export class RideWorld {
  private readonly prng: Prng;
  private readonly riders: number;
  private readonly drivers: number;
  private readonly freeRiders: Pool;
  private readonly freeDrivers: Pool;
  private readonly prefix: string;
  private rides = 0;

  constructor(options: RideWorldOptions) {
    this.prng = options.prng;
    this.prefix = options.rideIdPrefix;
    this.riders = options.riders;
    this.drivers = options.drivers;
    this.freeRiders = new Pool(Array.from({ length: options.riders }, (_, i) => riderId(i)));
    this.freeDrivers = new Pool(Array.from({ length: options.drivers }, (_, i) => driverId(i)));
  }

  /** A new ride by a rider without an open ride, or undefined when every rider has one. */
  request(): { ride: Ride; step: Step } | undefined {
    const rider = this.freeRiders.take(this.prng, this.riders, riderId);
    if (rider === undefined) return undefined;
    const p = this.prng;
    const pickup = offset(CITY_CENTRE, CITY_RADIUS_KM * Math.sqrt(p.next()), p.between(0, 2 * Math.PI));
    // Mostly short trips: 1-12 km, skewed towards the short end.
    const dropoff = offset(pickup, 1 + 11 * p.next() ** 2, p.between(0, 2 * Math.PI));
    const routeHm = Math.max(1, Math.round(haversineKm(pickup, dropoff) * ROAD_FACTOR * 100));
    const fareCents = Math.max(FARE.minimumCents, Math.round(FARE.baseCents + (FARE.perKmCents * routeHm) / 100));
    this.rides += 1;
    const ride: Ride = {
      id: `${this.prefix}-${pad(this.rides, 6)}`,
      riderId: rider,
      pickup,
      dropoff,
      routeHm,
      fareCents,
      phase: 'requested',
      driverId: undefined,
      driverWaits: 0,
    };
    const events = [ev(ride, 'RideRequested', { rider_id: rider, pickup, dropoff })];
    return { ride, step: { events, nextIn: p.between(1, 3) } };
  }

  /** Runs the ride's next step; mutates the ride and the world. */
  advance(ride: Ride): Step {
    const p = this.prng;
    switch (ride.phase) {
      case 'requested': {
        if (p.chance(P_RIDER_CANCELS_BEFORE_ASSIGN)) return this.cancel(ride, 'rider', p.pick(RIDER_REASONS));
        const driver = this.freeDrivers.take(p, this.drivers, driverId);
        if (driver === undefined) {
          ride.driverWaits += 1;
          if (ride.driverWaits >= MAX_DRIVER_WAITS) return this.cancel(ride, 'system', 'no driver available');
          return { events: [], nextIn: DRIVER_RETRY_S };
        }
        ride.driverId = driver;
        ride.phase = 'assigned';
        return { events: [ev(ride, 'DriverAssigned', { driver_id: driver, eta_seconds: p.int(60, 600) })], nextIn: p.between(0.3, 0.8) };
      }
      case 'assigned': {
        ride.phase = 'priced';
        const payload = { amount: hundredthsToDecimal(ride.fareCents), currency: CURRENCY, distance_km: hundredthsToDecimal(ride.routeHm) };
        return { events: [ev(ride, 'FareCalculated', payload)], nextIn: p.between(2.5, 7) };
      }
      case 'priced': {
        if (p.chance(P_RIDER_CANCELS_BEFORE_START)) return this.cancel(ride, 'rider', p.pick(RIDER_REASONS));
        if (p.chance(P_DRIVER_CANCELS)) return this.cancel(ride, 'driver', p.pick(DRIVER_REASONS));
        ride.phase = 'started';
        return { events: [ev(ride, 'RideStarted', { driver_id: this.driverOf(ride) })], nextIn: 3 + Math.min(7, ride.routeHm / 200) };
      }
      case 'started': {
        const driver = this.driverOf(ride);
        const distanceHm = Math.max(1, Math.round(ride.routeHm * p.between(0.95, 1.12)));
        this.release(ride);
        ride.phase = 'completed';
        return { events: [ev(ride, 'RideCompleted', { driver_id: driver, distance_km: hundredthsToDecimal(distanceHm) })], nextIn: p.between(0.5, 1.5) };
      }
      case 'completed': {
        ride.phase = 'paid';
        const payload = { amount: hundredthsToDecimal(ride.fareCents), currency: CURRENCY, payment_id: `pay-${ride.id}` };
        return { events: [ev(ride, 'PaymentCaptured', payload)], nextIn: p.between(1, 4) };
      }
      case 'paid': {
        ride.phase = 'done';
        const events: PlannedEvent[] = [];
        if (p.chance(P_RIDER_RATES)) events.push(ev(ride, 'TripRated', { rated_by: 'rider', rating: p.weighted(RATING_WEIGHTS) }));
        if (p.chance(P_DRIVER_RATES)) events.push(ev(ride, 'TripRated', { rated_by: 'driver', rating: p.weighted(RATING_WEIGHTS) }));
        return { events, nextIn: null };
      }
      case 'done':
        throw new Error(`ride ${ride.id} is already over`);
    }
  }

  /** Frees the ride's rider and driver without writing anything (after a failed write). */
  abandon(ride: Ride): void {
    if (ride.phase === 'done') return;
    if (ride.phase !== 'completed' && ride.phase !== 'paid') this.release(ride);
    ride.phase = 'done';
  }

  private cancel(ride: Ride, by: 'rider' | 'driver' | 'system', reason: string): Step {
    this.release(ride);
    ride.phase = 'done';
    return { events: [ev(ride, 'RideCancelled', { cancelled_by: by, reason })], nextIn: null };
  }

  /** The ride's rider and driver are free again. */
  private release(ride: Ride): void {
    this.freeRiders.add(ride.riderId);
    if (ride.driverId !== undefined) this.freeDrivers.add(ride.driverId);
  }

  private driverOf(ride: Ride): string {
    if (ride.driverId === undefined) throw new Error(`ride ${ride.id} has no driver`);
    return ride.driverId;
  }
}

function ev<T extends EventType>(ride: Ride, type: T, payload: EventPayloads[T]): PlannedEvent {
  return { type, aggregateId: ride.id, payload };
}
