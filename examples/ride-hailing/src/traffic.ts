/**
 * Traffic driver: stands in for the rider and driver apps in front of the Ride service, talking
 * ONLY its HTTP API (route list in ride.ts). In docker compose it replaces `wavegate simulate
 * --live`: the simulator writes events straight into one outbox, this drives the real services.
 *
 * Every 1/rate seconds it requests a ride (rider `rider-0001`…, pickup within 8 km of Berlin's
 * centre, drop-off 1–12 km further), then follows it:
 *
 *   POST /rides ─▶ poll GET /rides/:id (interval doubling from pollMinMs to pollMaxMs)
 *      │             ├ assigned ─▶ POST start ─ tripMs ─▶ POST complete {distance_km}   → completed
 *      │             └ cancelled (no driver in time: `system`, by the Ride service)    → cancelled
 *      └ a cancelRate share is cancelled by the rider instead: half right after the request,
 *        half once assigned (POST cancel)                                              → cancelled
 *
 * A 409 on start/complete/cancel is a normal outcome (the ride changed meanwhile): the ride is read
 * again and followed from its real status. Other non-2xx answers are counted (`httpErrors`) and
 * logged with their status, and end the ride as `failed` (a 5xx on GET only costs a poll). Connection
 * errors and request timeouts are retried with backoff for as long as it takes (the Ride service may
 * not be up yet), logged once per outage; while it is unreachable no new rides start. A ride not
 * finished `rideTimeoutMs` after its creation is given up (warn, counted, never thrown).
 *
 * Deterministic given `seed`: every random choice of ride n (rider, places, plan, detour) is drawn
 * from a mulberry32 PRNG (src/simulator/prng.ts) when ride n is requested, in order, so timing never
 * changes what ride n is.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'wavegate/consumer';
import type { GeoPoint } from 'wavegate/outbox';
import { CITY_CENTRE, Prng, riderId } from 'wavegate/simulator';
import { fromHundredths, haversineKm } from './service';

/** Options of {@link createTraffic}. Durations are in milliseconds. */
export interface TrafficOptions {
  /** Base URL of the Ride service, e.g. `http://ride:8080`. */
  rideUrl: string;
  log: Logger;
  /** New rides per second. @default 1 */
  rate?: number;
  /** Riders are `rider-0001` … `rider-<riders>`, picked uniformly. @default 200 */
  riders?: number;
  /** From a successful start to the complete call. @default 5_000 */
  tripMs?: number;
  /** Share of rides the rider cancels (while requested or assigned), 0..1. @default 0.1 */
  cancelRate?: number;
  /** PRNG seed (32-bit). @default derived from the clock, and logged */
  seed?: number;
  /** Most rides in flight; further requests wait for one to finish. @default 50 */
  maxInFlight?: number;
  /** Stop requesting after this many rides. @default unlimited */
  maxRides?: number;
  /** Ride ids are `<prefix>-000001`…; unique per run when the Ride database persists. @default `trf-<clock, base 36>` */
  rideIdPrefix?: string;
  /** Driven distance = straight line × a factor drawn from [min, max] (the Payment estimate uses 1.3). @default { min: 1.1, max: 1.6 } */
  detour?: { min: number; max: number };
  /** Status polling interval: starts at min, doubles up to max. @default { min: 200, max: 2_000 } */
  pollMs?: { min: number; max: number };
  /** Give up on a ride this long after it was created. @default 120_000 */
  rideTimeoutMs?: number;
  /** One HTTP request; a timeout is retried like a connection error. @default 10_000 */
  requestTimeoutMs?: number;
  /** Backoff between connection retries: doubles from initial to max. @default { initialMs: 200, maxMs: 5_000 } */
  retry?: { initialMs: number; maxMs: number };
  /** stop() waits this long for rides in flight, then aborts them (below docker's 10 s stop grace period). @default 8_000 */
  stopTimeoutMs?: number;
}

/** What the rider intends: complete the trip, or cancel it (right after requesting, or once assigned). */
export type RidePlan = 'complete' | 'cancel-requested' | 'cancel-assigned';
/** How a ride ended: `aborted` = stop() gave up waiting; `gave-up` = rideTimeoutMs passed. */
export type RideOutcome = 'completed' | 'cancelled' | 'failed' | 'gave-up' | 'aborted';

/** One ride the traffic requested, with its outcome once finished. */
export interface TrafficRide {
  readonly n: number;
  readonly id: string;
  readonly riderId: string;
  readonly pickup: GeoPoint;
  readonly dropoff: GeoPoint;
  readonly plan: RidePlan;
  /** Sent with complete, e.g. "5.30". */
  readonly distanceKm: string;
  readonly outcome: RideOutcome | undefined;
  /** For cancelled rides: `rider` when this traffic cancelled it, else `system`. */
  readonly cancelledBy: 'rider' | 'system' | undefined;
}

/** Counters; `finished` = completed + cancelled + failed + gaveUp + aborted. */
export interface TrafficStats {
  /** Rides the Ride service created (201). */
  requested: number;
  completed: number;
  cancelled: number;
  failed: number;
  gaveUp: number;
  aborted: number;
  finished: number;
  inFlight: number;
  /** Non-2xx answers other than the normal 409s of start/complete/cancel. */
  httpErrors: number;
}

/** The traffic driver; nothing runs before start(). */
export interface Traffic {
  readonly seed: number;
  start(): void;
  /** Stops requesting, waits up to `timeoutMs` for rides in flight, then aborts the rest. */
  stop(timeoutMs?: number): Promise<TrafficStats>;
  stats(): TrafficStats;
  /** Every ride requested so far, in order. */
  rides(): readonly TrafficRide[];
  /** Resolves once `count` rides have finished; rejects after `timeoutMs` or when no more can. */
  settled(count: number, timeoutMs?: number): Promise<TrafficStats>;
}

type Phase = 'idle' | 'running' | 'stopping' | 'stopped';
type MutableRide = { -readonly [K in keyof TrafficRide]: TrafficRide[K] };
interface Answer { status: number; body: unknown; attempts: number }

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** A point `km` from `from` towards `bearing` (radians); flat earth is fine within a city. */
function offset(from: GeoPoint, km: number, bearing: number): GeoPoint {
  const dLat = (km * Math.cos(bearing)) / 111.32;
  const dLng = (km * Math.sin(bearing)) / (111.32 * Math.cos((from.lat * Math.PI) / 180));
  return { lat: round6(from.lat + dLat), lng: round6(from.lng + dLng) };
}

/** Ride n (from 1), drawn from `prng`: always the same number of draws, so ride n+1 never depends on ride n's branch. */
export function planRide(prng: Prng, n: number, o: { riders: number; cancelRate: number; rideIdPrefix: string; detour: { min: number; max: number } }): TrafficRide {
  const rider = riderId(prng.int(0, o.riders - 1));
  const pickup = offset(CITY_CENTRE, 8 * Math.sqrt(prng.next()), prng.between(0, 2 * Math.PI));
  const dropoff = offset(pickup, prng.between(1, 12), prng.between(0, 2 * Math.PI));
  const cancel = prng.chance(o.cancelRate);
  const early = prng.chance(0.5);
  const detour = prng.between(o.detour.min, o.detour.max);
  return {
    n, id: `${o.rideIdPrefix}-${String(n).padStart(6, '0')}`, riderId: rider, pickup, dropoff,
    plan: !cancel ? 'complete' : early ? 'cancel-requested' : 'cancel-assigned',
    distanceKm: fromHundredths(haversineKm(pickup, dropoff) * detour * 100),
    outcome: undefined, cancelledBy: undefined,
  };
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(`traffic: ${message}`);
}

/** Creates the traffic driver (checks the options; nothing runs before start()). */
export function createTraffic(options: TrafficOptions): Traffic {
  const o = {
    rate: 1, riders: 200, tripMs: 5_000, cancelRate: 0.1, maxInFlight: 50, rideIdPrefix: `trf-${Date.now().toString(36)}`,
    detour: { min: 1.1, max: 1.6 }, pollMs: { min: 200, max: 2_000 }, rideTimeoutMs: 120_000, requestTimeoutMs: 10_000,
    retry: { initialMs: 200, maxMs: 5_000 }, stopTimeoutMs: 8_000,
    // An option given as undefined keeps its default.
    ...(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as TrafficOptions),
  };
  check(o.rate > 0 && Number.isFinite(o.rate), `rate must be > 0 rides/s, got ${o.rate}`);
  check(Number.isSafeInteger(o.riders) && o.riders >= 1, `riders must be a whole number >= 1, got ${o.riders}`);
  check(o.cancelRate >= 0 && o.cancelRate <= 1, `cancelRate must be from 0 to 1, got ${o.cancelRate}`);
  check(o.tripMs >= 0 && o.maxInFlight >= 1, 'tripMs must be >= 0 and maxInFlight >= 1');
  check(o.detour.min > 0 && o.detour.min <= o.detour.max, 'detour needs 0 < min <= max');
  check(o.pollMs.min > 0 && o.pollMs.min <= o.pollMs.max, 'pollMs needs 0 < min <= max');
  check(o.retry.initialMs > 0 && o.retry.initialMs <= o.retry.maxMs, 'retry needs 0 < initialMs <= maxMs');
  check(o.rideTimeoutMs > o.tripMs, `rideTimeoutMs (${o.rideTimeoutMs}) must exceed tripMs (${o.tripMs}), or every ride would be given up`);
  let base: URL;
  try {
    base = new URL(o.rideUrl);
  } catch {
    throw new Error(`traffic: rideUrl must be an http(s) URL, got ${JSON.stringify(o.rideUrl)}`);
  }
  check(base.protocol === 'http:' || base.protocol === 'https:', `rideUrl must be an http(s) URL, got ${JSON.stringify(o.rideUrl)}`);
  if (o.maxRides !== undefined) check(Number.isSafeInteger(o.maxRides) && o.maxRides >= 0, `maxRides must be a whole number >= 0, got ${o.maxRides}`);
  return new TrafficDriver({ ...o, maxRides: o.maxRides, rideUrl: base.toString().replace(/\/$/, ''), seed: (options.seed ?? Date.now()) >>> 0 });
}

type Resolved = Required<Omit<TrafficOptions, 'maxRides' | 'seed'>> & { maxRides: number | undefined; seed: number };

class TrafficDriver implements Traffic {
  readonly seed: number;
  private phase: Phase = 'idle';
  private readonly log: Logger;
  private readonly prng: Prng;
  private readonly all: MutableRide[] = [];
  private readonly counts: TrafficStats = { requested: 0, completed: 0, cancelled: 0, failed: 0, gaveUp: 0, aborted: 0, finished: 0, inFlight: 0, httpErrors: 0 };
  /** Aborted by stop() at once: ends the request loop's waits. */
  private readonly loopAbort = new AbortController();
  /** Aborted when stop()'s grace period is over: ends every ride in flight. */
  private readonly rideAbort = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  private loopDone = true;
  private stopped: Promise<TrafficStats> | undefined;
  /** Set while the Ride service is unreachable (ms since epoch of the first failure). */
  private downSince: number | undefined;
  /** Resolvers of waitUntil() calls; every state change wakes them to re-check their condition. */
  private waiters: Array<() => void> = [];

  constructor(private readonly o: Resolved) {
    this.seed = o.seed;
    this.log = o.log.child('traffic');
    this.prng = new Prng(o.seed);
  }

  start(): void {
    if (this.phase !== 'idle') throw new Error(`traffic: start() called while ${this.phase}`);
    this.phase = 'running';
    this.loopDone = false;
    this.log.info({ url: this.o.rideUrl, rate: this.o.rate, seed: this.seed, cancelRate: this.o.cancelRate, tripMs: this.o.tripMs }, 'traffic starting');
    this.loop = this.requestLoop().catch((err: unknown) => {
      if (!this.loopAbort.signal.aborted) this.log.error({ err }, 'traffic request loop failed');
    }).finally(() => {
      this.loopDone = true;
      this.notify();
    });
  }

  stop(timeoutMs = this.o.stopTimeoutMs): Promise<TrafficStats> {
    if (this.phase === 'idle') this.phase = 'stopped';
    this.stopped ??= this.phase === 'stopped' ? Promise.resolve(this.stats()) : this.drain(timeoutMs);
    return this.stopped;
  }

  private async drain(timeoutMs: number): Promise<TrafficStats> {
    this.phase = 'stopping';
    this.loopAbort.abort(new Error('traffic stopped'));
    await this.loop;
    const deadline = sleep(timeoutMs, 'deadline' as const, { signal: this.rideAbort.signal }).catch(() => 'aborted' as const);
    const idle = this.waitUntil(() => this.counts.inFlight === 0);
    if ((await Promise.race([idle.then(() => 'idle' as const), deadline])) !== 'idle') {
      this.log.warn({ inFlight: this.counts.inFlight, timeoutMs }, 'traffic stop: aborting rides still in flight');
    }
    this.rideAbort.abort(new Error('traffic stopped'));
    await idle;
    this.phase = 'stopped';
    this.log.info({ ...this.stats() }, 'traffic stopped');
    return this.stats();
  }

  stats(): TrafficStats {
    return { ...this.counts };
  }

  rides(): readonly TrafficRide[] {
    return this.all.map((r) => ({ ...r }));
  }

  async settled(count: number, timeoutMs = 60_000): Promise<TrafficStats> {
    const cannot = () => this.loopDone && this.counts.inFlight === 0 && this.phase !== 'idle';
    const timer = new AbortController();
    const expired = sleep(timeoutMs, undefined, { signal: timer.signal }).then(() => true, () => false);
    try {
      const done = this.waitUntil(() => this.counts.finished >= count || cannot());
      if (await Promise.race([done.then(() => false), expired])) {
        throw new Error(`traffic: ${count} rides not finished after ${timeoutMs} ms: ${JSON.stringify(this.counts)}`);
      }
      if (this.counts.finished < count) throw new Error(`traffic: stopped with ${this.counts.finished} of ${count} rides finished: ${JSON.stringify(this.counts)}`);
      return this.stats();
    } finally {
      timer.abort();
    }
  }

  private notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Waits until `condition` holds (re-checked on every notify()); throws when `signal` aborts. */
  private async waitUntil(condition: () => boolean, signal?: AbortSignal): Promise<void> {
    while (!condition()) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.waiters.push(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  private async requestLoop(): Promise<void> {
    const signal = this.loopAbort.signal;
    const interval = 1000 / this.o.rate;
    let next = Date.now();
    for (let n = 1; this.o.maxRides === undefined || n <= this.o.maxRides; n++) {
      await sleep(Math.max(0, next - Date.now()), undefined, { signal });
      await this.waitUntil(() => this.counts.inFlight < this.o.maxInFlight && this.downSince === undefined, signal);
      const ride = planRide(this.prng, n, this.o);
      this.all.push(ride);
      this.counts.inFlight++;
      void this.runRide(ride);
      // Steady rate without bursts: after a wait (no slot, service down) the schedule restarts from now.
      next = Math.max(next + interval, Date.now());
    }
  }

  /** Follows one ride to its end; never rejects. */
  private async runRide(ride: MutableRide): Promise<void> {
    let outcome: RideOutcome;
    const timeout: { signal?: AbortSignal } = {};
    try {
      outcome = await this.follow(ride, timeout);
    } catch (err) {
      if (this.rideAbort.signal.aborted || (timeout.signal === undefined && this.loopAbort.signal.aborted)) {
        outcome = 'aborted';
      } else if (timeout.signal?.aborted === true) {
        outcome = 'gave-up';
        this.log.warn({ ride: ride.id, timeoutMs: this.o.rideTimeoutMs }, 'gave up on a ride that did not finish in time');
      } else {
        outcome = 'failed';
        this.log.error({ err, ride: ride.id }, 'ride failed');
      }
    }
    ride.outcome = outcome;
    const key = ({ completed: 'completed', cancelled: 'cancelled', failed: 'failed', 'gave-up': 'gaveUp', aborted: 'aborted' } as const)[outcome];
    this.counts[key]++;
    this.counts.finished++;
    this.counts.inFlight--;
    this.log.debug({ ride: ride.id, outcome, cancelledBy: ride.cancelledBy }, 'ride finished');
    this.notify();
  }

  /**
   * The ride's life as its apps see it; throws when aborted (stop) or given up. The give-up clock
   * starts once the ride exists (creation waits out an outage), its signal goes to `timeout`.
   */
  private async follow(ride: MutableRide, timeout: { signal?: AbortSignal }): Promise<RideOutcome> {
    const path = `/rides/${encodeURIComponent(ride.id)}`;
    // Creation waits out an outage, but stop() ends it at once: there is no ride to follow yet.
    const creating = AbortSignal.any([this.rideAbort.signal, this.loopAbort.signal]);
    const created = await this.request('POST', '/rides', { ride_id: ride.id, rider_id: ride.riderId, pickup: ride.pickup, dropoff: ride.dropoff }, creating);
    // A 409 after a retried POST means the lost attempt went through.
    if (created.status !== 201 && !(created.status === 409 && created.attempts > 1)) return this.httpFailure(ride, 'POST', '/rides', created);
    this.counts.requested++;
    timeout.signal = AbortSignal.timeout(this.o.rideTimeoutMs);
    const signal = AbortSignal.any([this.rideAbort.signal, timeout.signal]);
    let cancelledByRider = false;
    const cancel = async (): Promise<boolean> => {
      const a = await this.request('POST', `${path}/cancel`, { cancelled_by: 'rider', reason: 'changed plans' }, signal);
      if (a.status === 200) cancelledByRider = true;
      else if (a.status !== 409) this.httpFailure(ride, 'POST', `${path}/cancel`, a);
      return a.status === 200 || a.status === 409;
    };
    if (ride.plan === 'cancel-requested' && !(await cancel())) return 'failed';
    let poll = this.o.pollMs.min;
    let startedAt: number | undefined;
    for (;;) {
      const got = await this.request('GET', path, undefined, signal);
      if (got.status >= 500) {
        this.httpFailure(ride, 'GET', path, got);
        await sleep(poll, undefined, { signal });
        continue;
      }
      if (got.status !== 200) return this.httpFailure(ride, 'GET', path, got);
      const status = (got.body as { status?: unknown } | null)?.status;
      switch (status) {
        case 'requested':
          await sleep(poll, undefined, { signal });
          poll = Math.min(poll * 2, this.o.pollMs.max);
          continue;
        case 'assigned': {
          if (ride.plan !== 'complete') {
            if (!(await cancel())) return 'failed';
            continue; // 200 or 409: the next GET says how it ended
          }
          const a = await this.request('POST', `${path}/start`, {}, signal);
          if (a.status === 409) continue;
          if (a.status !== 200) return this.httpFailure(ride, 'POST', `${path}/start`, a);
          startedAt = Date.now();
          continue;
        }
        case 'started': {
          startedAt ??= Date.now();
          await sleep(Math.max(0, startedAt + this.o.tripMs - Date.now()), undefined, { signal });
          const a = await this.request('POST', `${path}/complete`, { distance_km: ride.distanceKm }, signal);
          if (a.status === 409) continue;
          if (a.status !== 200) return this.httpFailure(ride, 'POST', `${path}/complete`, a);
          return 'completed';
        }
        case 'completed':
          return 'completed';
        case 'cancelled':
          ride.cancelledBy = cancelledByRider ? 'rider' : 'system';
          return 'cancelled';
        default:
          this.log.warn({ ride: ride.id, status }, 'ride service reported an unknown ride status');
          return 'failed';
      }
    }
  }

  /** Counts and logs a non-2xx answer; the ride ends as failed. */
  private httpFailure(ride: TrafficRide, method: string, path: string, a: Answer): 'failed' {
    this.counts.httpErrors++;
    const error = (a.body as { error?: unknown } | null)?.error;
    this.log.warn({ ride: ride.id, method, path, status: a.status, error }, 'ride service answered with an error');
    return 'failed';
  }

  /**
   * One request; connection errors and timeouts are retried with backoff until `signal` aborts
   * (then it throws). The first failure of an outage is logged, and so is the recovery.
   */
  private async request(method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal): Promise<Answer> {
    let backoff = this.o.retry.initialMs;
    for (let attempts = 1; ; attempts++) {
      signal.throwIfAborted();
      let status: number;
      let text: string;
      try {
        const res = await fetch(`${this.o.rideUrl}${path}`, {
          method, signal: AbortSignal.any([signal, AbortSignal.timeout(this.o.requestTimeoutMs)]),
          ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
        });
        status = res.status;
        text = await res.text();
      } catch (err) {
        signal.throwIfAborted();
        if (this.downSince === undefined) {
          this.downSince = Date.now();
          const c = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
          const cause = c?.code ?? c?.message ?? (err instanceof Error ? err.message : String(err));
          this.log.warn({ url: this.o.rideUrl, cause }, 'ride service unreachable; retrying with backoff');
        }
        await sleep(backoff, undefined, { signal });
        backoff = Math.min(backoff * 2, this.o.retry.maxMs);
        continue;
      }
      if (this.downSince !== undefined) {
        this.log.info({ url: this.o.rideUrl, downMs: Date.now() - this.downSince }, 'ride service reachable again');
        this.downSince = undefined;
        this.notify();
      }
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON (a proxy's error page): keep the text for the log
      }
      return { status, body: parsed, attempts };
    }
  }
}
