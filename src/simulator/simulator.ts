/**
 * The ride simulator: the embedded demo's stand-in for the ride, dispatch, pricing and payment
 * services. It runs the ride model (rides.ts) on a timeline and writes each step's events through
 * the outbox writer, one transaction per step.
 *
 * Two ways to run it:
 * - live (`start()` / `stop()`): rides arrive at `ridesPerSecond` (Poisson) on the wall clock; the
 *   delays between a ride's steps are the model's seconds × `pace` (1 = demo pacing, 0 = at once).
 *   Events are stamped with `now()`.
 * - batch (`simulateRides(n)`): the same story on a virtual clock that starts at `now()`, run as
 *   fast as the writes go, until all n rides are over. Events are stamped with the virtual time, so
 *   a seed and a fixed `now` give the same events every time (tests, benchmarks, `wavegate simulate`).
 *
 * One task runs at a time, so the events of a ride are written in order and `stop()` only has to
 * wait for the task in progress.
 */
import { randomInt } from 'node:crypto';
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import { wholeOption } from '../config/env';
import type { SqlExecutor } from '../db/types';
import type { Logger } from '../log';
import type { OutboxEvent } from '../outbox/events';
import { writeEvents } from '../outbox/writer';
import { Prng } from './prng';
import { decimalToHundredths, hundredthsToDecimal, RideWorld, type PlannedEvent, type Ride } from './rides';
import { isWholeInRange } from '../util/integer';

/** Options for {@link createSimulator}. */
export interface SimulatorOptions {
  /** Writes one step's events, in order, in one transaction (see {@link outboxWriter}). */
  write: (events: OutboxEvent[]) => Promise<void>;
  /** New rides per second, on average (live mode and the batch mode's virtual clock). */
  ridesPerSecond: number;
  /** Rider population size (`rider-0001` …). */
  riders: number;
  /** Driver population size (`driver-001` …). */
  drivers: number;
  /** PRNG seed (0 … 2^31-1). @default a random seed, readable from {@link Simulator.seed} */
  seed?: number;
  /** Live mode: scale of the delays between a ride's steps; 1 = a few seconds per step, 0 = none. */
  pace: number;
  log: Logger;
  /** Clock for event times and ride ids. @default () => new Date() */
  now?: () => Date;
}

/** What the simulator has written so far (only writes that committed count). */
export interface SimulatorCounters {
  ridesRequested: number;
  /** Rides with a RideStarted event. */
  ridesStarted: number;
  ridesCompleted: number;
  ridesCancelled: number;
  cancelledBy: { rider: number; driver: number; system: number };
  paymentsCaptured: number;
  /** Sum of captured payments, as a decimal string (EUR). */
  capturedAmount: string;
  ratings: number;
  eventsWritten: number;
  /** Steps written (one transaction each). */
  transactions: number;
  /** Steps whose write failed; their rides were dropped. */
  writeFailures: number;
  /** Rides requested and not over yet. */
  activeRides: number;
}

/** A running (or runnable) simulator. */
export interface Simulator {
  /** The seed in use, to reproduce a run. */
  readonly seed: number;
  /** Starts live mode. Throws if it is already running. */
  start(): void;
  /** Stops live mode after the write in progress; rides not finished are dropped. Idempotent. */
  stop(): Promise<void>;
  /** Batch mode: simulates `n` more rides to the end on a virtual clock, as fast as writes go. */
  simulateRides(n: number): Promise<SimulatorCounters>;
  /** A snapshot of the counters. */
  counters(): SimulatorCounters;
}

/** Something with transactions, such as the embedded engine or a pg-backed source database. */
export interface Transactional {
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
}

/** The usual `write` for {@link createSimulator}: each step is one transaction through the outbox writer. */
export function outboxWriter(db: Transactional): (events: OutboxEvent[]) => Promise<void> {
  return async (events) => {
    await db.transaction((tx) => writeEvents(tx, events));
  };
}

/** Creates a simulator; nothing runs until {@link Simulator.start} or {@link Simulator.simulateRides}. */
export function createSimulator(options: SimulatorOptions): Simulator {
  return new RideSimulator(options);
}

type Task = { kind: 'arrival' } | { kind: 'step'; ride: Ride };
interface Scheduled { at: number; seq: number; task: Task }

/** Live or batch, the state that differs between the two timelines. */
type Mode =
  | { name: 'idle' }
  | { name: 'live'; abort: AbortController; loop: Promise<void> }
  | { name: 'batch' };

/** Tasks run back to back in batch mode before yielding to the event loop (timers, I/O). */
const BATCH_YIELD_EVERY = 100;

class RideSimulator implements Simulator {
  readonly seed: number;
  private readonly options: SimulatorOptions;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly prng: Prng;
  private readonly world: RideWorld;
  /** Pending tasks, sorted by (at, seq). */
  private queue: Scheduled[] = [];
  private seq = 0;
  private mode: Mode = { name: 'idle' };
  /** Batch mode's virtual clock, ms since epoch. */
  private virtualMs = 0;
  private readonly count: SimulatorCounters = {
    ridesRequested: 0, ridesStarted: 0, ridesCompleted: 0, ridesCancelled: 0,
    cancelledBy: { rider: 0, driver: 0, system: 0 }, paymentsCaptured: 0, capturedAmount: '0.00',
    ratings: 0, eventsWritten: 0, transactions: 0, writeFailures: 0, activeRides: 0,
  };
  private capturedCents = 0;

  constructor(options: SimulatorOptions) {
    if (!(options.ridesPerSecond > 0)) throw new RangeError('ridesPerSecond must be > 0');
    wholeOption('riders', options.riders, 1, 1);
    wholeOption('drivers', options.drivers, 1, 1);
    if (!(options.pace >= 0)) throw new RangeError('pace must be >= 0');
    this.options = options;
    this.log = options.log.child('simulator');
    this.now = options.now ?? (() => new Date());
    this.seed = options.seed ?? randomInt(2 ** 31);
    this.prng = new Prng(this.seed);
    // Time-based prefix: rides of a later run never join an earlier run's rides in a persisted database.
    this.world = new RideWorld({
      riders: options.riders,
      drivers: options.drivers,
      prng: this.prng,
      rideIdPrefix: `ride-${this.now().getTime().toString(36)}`,
    });
  }

  counters(): SimulatorCounters {
    return { ...this.count, cancelledBy: { ...this.count.cancelledBy } };
  }

  start(): void {
    if (this.mode.name !== 'idle') throw new Error(`the simulator is already running (${this.mode.name})`);
    const { ridesPerSecond, riders, drivers, pace } = this.options;
    this.log.info({ seed: this.seed, ridesPerSecond, riders, drivers, pace }, 'simulator started');
    const abort = new AbortController();
    this.schedule(performance.now(), { kind: 'arrival' });
    this.mode = { name: 'live', abort, loop: this.runLive(abort.signal) };
  }

  async stop(): Promise<void> {
    if (this.mode.name !== 'live') return;
    const { abort, loop } = this.mode;
    abort.abort();
    await loop;
    this.dropQueue();
    this.mode = { name: 'idle' };
    this.log.info({ ...this.counters() }, 'simulator stopped');
  }

  async simulateRides(n: number): Promise<SimulatorCounters> {
    if (this.mode.name !== 'idle') throw new Error(`the simulator is already running (${this.mode.name})`);
    if (!isWholeInRange(n, 0)) throw new RangeError('simulateRides needs a whole number of rides');
    this.mode = { name: 'batch' };
    try {
      this.virtualMs = Math.max(this.virtualMs, this.now().getTime());
      let remaining = n;
      if (remaining > 0) this.schedule(this.virtualMs, { kind: 'arrival' });
      let ran = 0;
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        this.virtualMs = next.at;
        const at = new Date(next.at);
        if (next.task.kind === 'arrival') {
          if (await this.arrive(at, 'batch')) remaining -= 1;
          if (remaining > 0) this.schedule(this.virtualMs + this.arrivalGapMs(), { kind: 'arrival' });
        } else {
          await this.step(next.task.ride, at, 'batch');
        }
        if (++ran % BATCH_YIELD_EVERY === 0) await yieldToEventLoop();
      }
      return this.counters();
    } finally {
      this.dropQueue();
      this.mode = { name: 'idle' };
    }
  }

  /** Live loop: runs each task when it is due; ends when `signal` aborts (after the task in progress). */
  private async runLive(signal: AbortSignal): Promise<void> {
    try {
      await this.liveLoop(signal);
    } catch (err) {
      // Steps catch their own failures; this is a bug in the simulator. Never reject: stop() awaits this.
      this.log.error({ err }, 'simulator crashed');
    }
  }

  private async liveLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const next = this.queue[0];
      if (next === undefined) return; // cannot happen: an arrival is always scheduled
      const wait = next.at - performance.now();
      if (wait > 0) {
        await sleep(wait, undefined, { signal }).catch(() => undefined); // aborted: the loop condition ends it
        continue;
      }
      this.queue.shift();
      if (next.task.kind === 'arrival') {
        this.schedule(performance.now() + this.arrivalGapMs(), { kind: 'arrival' });
        await this.arrive(this.now(), 'live');
      } else {
        await this.step(next.task.ride, this.now(), 'live');
      }
      // Writes that resolve without I/O would otherwise starve timers and signals.
      await yieldToEventLoop();
    }
  }

  /** A new ride, if some rider has no open ride. Returns whether a ride was requested. */
  private async arrive(at: Date, mode: 'live' | 'batch'): Promise<boolean> {
    const requested = this.world.request();
    if (requested === undefined) return false;
    this.count.activeRides += 1;
    await this.write(requested.ride, requested.step.events, requested.step.nextIn, at, mode);
    return true;
  }

  private async step(ride: Ride, at: Date, mode: 'live' | 'batch'): Promise<void> {
    let step;
    try {
      step = this.world.advance(ride);
    } catch (err) {
      this.fail(ride, err, mode);
      return;
    }
    await this.write(ride, step.events, step.nextIn, at, mode);
  }

  /** Writes one step, counts it, and schedules the ride's next step (or retires the ride). */
  private async write(ride: Ride, planned: PlannedEvent[], nextIn: number | null, at: Date, mode: 'live' | 'batch'): Promise<void> {
    if (planned.length > 0) {
      const events: OutboxEvent[] = planned.map((e) => ({ ...e, occurredAt: at }));
      try {
        await this.options.write(events);
      } catch (err) {
        this.fail(ride, err, mode);
        return;
      }
      this.tally(events);
    }
    if (nextIn === null) {
      this.count.activeRides -= 1;
      return;
    }
    const delayMs = nextIn * 1000;
    if (mode === 'batch') this.schedule(at.getTime() + delayMs, { kind: 'step', ride });
    else this.schedule(performance.now() + delayMs * this.options.pace, { kind: 'step', ride });
  }

  /** A failed step drops its ride. Live mode logs and goes on; batch mode rethrows. */
  private fail(ride: Ride, err: unknown, mode: 'live' | 'batch'): void {
    this.world.abandon(ride);
    this.count.activeRides -= 1;
    this.count.writeFailures += 1;
    if (mode === 'batch') throw err;
    this.log.error({ err, rideId: ride.id }, 'simulated ride step failed; ride dropped');
  }

  private tally(events: readonly OutboxEvent[]): void {
    const c = this.count;
    c.transactions += 1;
    c.eventsWritten += events.length;
    for (const e of events) {
      switch (e.type) {
        case 'RideRequested': c.ridesRequested += 1; break;
        case 'RideStarted': c.ridesStarted += 1; break;
        case 'RideCompleted': c.ridesCompleted += 1; break;
        case 'TripRated': c.ratings += 1; break;
        case 'RideCancelled': {
          c.ridesCancelled += 1;
          c.cancelledBy[(e as OutboxEvent<'RideCancelled'>).payload.cancelled_by] += 1;
          break;
        }
        case 'PaymentCaptured': {
          c.paymentsCaptured += 1;
          this.capturedCents += decimalToHundredths((e as OutboxEvent<'PaymentCaptured'>).payload.amount);
          c.capturedAmount = hundredthsToDecimal(this.capturedCents);
          break;
        }
        default: break;
      }
    }
  }

  private arrivalGapMs(): number {
    return this.prng.exponential(1000 / this.options.ridesPerSecond);
  }

  private schedule(at: number, task: Task): void {
    const item: Scheduled = { at, seq: this.seq++, task };
    // Binary search for the first item due later; equal times keep insertion order.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.queue[mid]!.at <= at) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, item);
  }

  /** Forgets pending tasks; their rides release their rider and driver. */
  private dropQueue(): void {
    for (const { task } of this.queue) {
      if (task.kind === 'step') {
        this.world.abandon(task.ride);
        this.count.activeRides -= 1;
      }
    }
    this.queue = [];
  }
}
