import { EVENT_TYPES, validateEvent, type EventType, type OutboxEvent } from '../../src/outbox/events';
import { silentLogger } from '../../src/log';
import { Prng } from '../../src/simulator/prng';
import { decimalToHundredths, hundredthsToDecimal } from '../../src/simulator/rides';
import { createSimulator, type SimulatorOptions } from '../../src/simulator/simulator';
import { waitFor } from '../helpers/waitFor';

const T0 = new Date('2026-10-05T10:00:00Z');

/** A simulator whose writes land in `written` (one array per transaction). */
function recording(overrides: Partial<SimulatorOptions> = {}) {
  const written: OutboxEvent[][] = [];
  const sim = createSimulator({
    write: async (events) => void written.push(events),
    ridesPerSecond: 2,
    riders: 200,
    drivers: 50,
    seed: 42,
    pace: 0,
    log: silentLogger,
    now: () => T0,
    ...overrides,
  });
  return { sim, written, events: () => written.flat() };
}

function byRide(events: readonly OutboxEvent[]): Map<string, OutboxEvent[]> {
  const rides = new Map<string, OutboxEvent[]>();
  for (const e of events) rides.set(e.aggregateId, [...(rides.get(e.aggregateId) ?? []), e]);
  return rides;
}

/** The legal event sequences of one ride, as a regular expression over event-type initials. */
const CODES: Record<EventType, string> = {
  RideRequested: 'Q', DriverAssigned: 'A', FareCalculated: 'F', RideStarted: 'S',
  RideCompleted: 'C', RideCancelled: 'X', PaymentCaptured: 'P', TripRated: 'R',
};
const LEGAL = /^Q(X|AF(X|SCPR{0,2})?)?$/;
const story = (events: readonly OutboxEvent[]) => events.map((e) => CODES[e.type]).join('');

describe('Prng', () => {
  it('repeats its sequence for a seed and differs across seeds', () => {
    const draw = (seed: number) => { const p = new Prng(seed); return Array.from({ length: 5 }, () => p.next()); };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    expect(draw(7).every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('decimal helpers', () => {
  it('formats and parses hundredths exactly', () => {
    expect(hundredthsToDecimal(1234)).toBe('12.34');
    expect(hundredthsToDecimal(5)).toBe('0.05');
    expect(decimalToHundredths('12.3')).toBe(1230);
    expect(decimalToHundredths('7')).toBe(700);
  });
});

describe('simulator, batch mode', () => {
  it('gives the same events for the same seed and clock, and others for another seed', async () => {
    const a = recording();
    const b = recording();
    const c = recording({ seed: 43 });
    await a.sim.simulateRides(40);
    await b.sim.simulateRides(40);
    await c.sim.simulateRides(40);
    expect(a.events().length).toBeGreaterThan(200);
    expect(b.events()).toEqual(a.events());
    expect(c.events()).not.toEqual(a.events());
  });

  it('writes only events that pass the contract, every type among them', async () => {
    const { sim, events } = recording();
    await sim.simulateRides(300);
    for (const e of events()) validateEvent(e);
    expect(new Set(events().map((e) => e.type))).toEqual(new Set(EVENT_TYPES));
  });

  it('tells every ride in a legal order, one step per transaction, with non-decreasing times', async () => {
    const { sim, written, events } = recording();
    await sim.simulateRides(300);
    const rides = byRide(events());
    expect(rides.size).toBe(300);
    for (const [id, evs] of rides) {
      expect({ id, story: story(evs) }).toEqual({ id, story: expect.stringMatching(LEGAL) });
      const times = evs.map((e) => e.occurredAt!.getTime());
      expect(times).toEqual([...times].sort((x, y) => x - y));
    }
    // A transaction holds one ride's step: several events only for the two ratings.
    for (const tx of written) {
      expect(new Set(tx.map((e) => e.aggregateId)).size).toBe(1);
      if (tx.length > 1) expect(tx.map((e) => e.type)).toEqual(['TripRated', 'TripRated']);
    }
  });

  it('never captures a payment for a cancelled ride, and captures the fare for completed ones', async () => {
    const { sim, events } = recording();
    await sim.simulateRides(300);
    for (const evs of byRide(events()).values()) {
      const types = evs.map((e) => e.type);
      const fare = evs.find((e): e is OutboxEvent<'FareCalculated'> => e.type === 'FareCalculated');
      const paid = evs.find((e): e is OutboxEvent<'PaymentCaptured'> => e.type === 'PaymentCaptured');
      if (types.includes('RideCancelled')) expect(paid).toBeUndefined();
      if (types.includes('RideCompleted')) {
        expect(paid?.payload.amount).toBe(fare?.payload.amount);
        expect(paid?.payload.currency).toBe('EUR');
      }
    }
  });

  it('keeps a driver on one ride at a time, from assignment to completion or cancellation', async () => {
    const { sim, events } = recording({ drivers: 3, ridesPerSecond: 5 });
    await sim.simulateRides(100);
    const busy = new Map<string, string>(); // driver -> ride
    const driverOfRide = new Map<string, string>();
    for (const e of events()) {
      if (e.type === 'DriverAssigned') {
        const driver = (e as OutboxEvent<'DriverAssigned'>).payload.driver_id;
        expect({ driver, busyWith: busy.get(driver) }).toEqual({ driver, busyWith: undefined });
        busy.set(driver, e.aggregateId);
        driverOfRide.set(e.aggregateId, driver);
      }
      if (e.type === 'RideCompleted' || e.type === 'RideCancelled') {
        const driver = driverOfRide.get(e.aggregateId);
        if (driver !== undefined) busy.delete(driver);
      }
    }
  });

  it('cancels by system when no driver is free for long, and counts what it wrote', async () => {
    const { sim, events } = recording({ drivers: 2, ridesPerSecond: 10 });
    const counters = await sim.simulateRides(200);
    const all = events();
    const count = (type: EventType) => all.filter((e) => e.type === type).length;
    expect(counters.cancelledBy.system).toBeGreaterThan(0);
    expect(counters).toMatchObject({
      ridesRequested: 200,
      ridesStarted: count('RideStarted'),
      ridesCompleted: count('RideCompleted'),
      ridesCancelled: count('RideCancelled'),
      paymentsCaptured: count('PaymentCaptured'),
      ratings: count('TripRated'),
      eventsWritten: all.length,
      writeFailures: 0,
      activeRides: 0,
    });
    expect(counters.ridesCompleted + counters.ridesCancelled).toBe(200);
    const cents = all.filter((e) => e.type === 'PaymentCaptured')
      .reduce((sum, e) => sum + decimalToHundredths((e as OutboxEvent<'PaymentCaptured'>).payload.amount), 0);
    expect(counters.capturedAmount).toBe(hundredthsToDecimal(cents));
  });

  it('cancels about 10 % of rides by rider and a few by driver when drivers are plenty', async () => {
    const { sim } = recording({ seed: 7 });
    const c = await sim.simulateRides(1000);
    expect(c.cancelledBy.system).toBe(0);
    expect(c.cancelledBy.rider).toBeGreaterThan(60);
    expect(c.cancelledBy.rider).toBeLessThan(140);
    expect(c.cancelledBy.driver).toBeGreaterThan(5);
    expect(c.cancelledBy.driver).toBeLessThan(60);
  });

  it('gives each rider at most one open ride, and riders and drivers the documented names', async () => {
    const { sim, events } = recording({ riders: 3 });
    await sim.simulateRides(30);
    const open = new Set<string>();
    const riderOf = new Map<string, string>();
    for (const e of events()) {
      if (e.type === 'RideRequested') {
        const rider = (e as OutboxEvent<'RideRequested'>).payload.rider_id;
        expect(rider).toMatch(/^rider-000[1-3]$/);
        expect(open.has(rider)).toBe(false);
        open.add(rider);
        riderOf.set(e.aggregateId, rider);
      }
      if (e.type === 'RideCompleted' || e.type === 'RideCancelled') open.delete(riderOf.get(e.aggregateId)!);
      if (e.type === 'DriverAssigned') expect((e as OutboxEvent<'DriverAssigned'>).payload.driver_id).toMatch(/^driver-0\d\d$/);
    }
  });

  it('keeps the sample rider-0001 and driver-001 (the banner tokens) among the busiest', async () => {
    const { sim, events } = recording();
    await sim.simulateRides(300);
    const counts = (type: EventType, field: string) => {
      const n = new Map<string, number>();
      for (const e of events()) if (e.type === type) {
        const id = String((e.payload as unknown as Record<string, unknown>)[field]);
        n.set(id, (n.get(id) ?? 0) + 1);
      }
      return [...n.entries()].sort((a, b) => b[1] - a[1]).map(([id]) => id);
    };
    expect(counts('RideRequested', 'rider_id').slice(0, 3)).toContain('rider-0001');
    expect(counts('DriverAssigned', 'driver_id').slice(0, 3)).toContain('driver-001');
  });

  it('rejects a batch whose write fails and can run again afterwards', async () => {
    let fail = true;
    const sim = createSimulator({
      write: async () => { if (fail) throw new Error('disk full'); },
      ridesPerSecond: 2, riders: 5, drivers: 5, seed: 1, pace: 0, log: silentLogger, now: () => T0,
    });
    await expect(sim.simulateRides(3)).rejects.toThrow('disk full');
    expect(sim.counters()).toMatchObject({ writeFailures: 1, activeRides: 0 });
    fail = false;
    await expect(sim.simulateRides(3)).resolves.toMatchObject({ ridesRequested: 3, activeRides: 0 });
  });
});

describe('simulator, live mode', () => {
  it('runs rides until stopped, and writes nothing after stop() resolves', async () => {
    const { sim, events } = recording({ ridesPerSecond: 500 });
    sim.start();
    expect(() => sim.start()).toThrow('already running');
    await waitFor(() => sim.counters().ridesCompleted >= 5);
    await sim.stop();
    const n = events().length;
    expect(sim.counters().eventsWritten).toBe(n);
    expect(sim.counters().activeRides).toBe(0);
    for (const e of events()) validateEvent(e);
    for (const evs of byRide(events()).values()) expect(story(evs)).toMatch(/^Q(X|A(F(X|S(C(P(R{0,2})?)?)?)?)?)?$/);
    await sim.stop(); // idempotent
    expect(events().length).toBe(n);
  });

  it('stop() waits for the write in progress', async () => {
    let release: () => void = () => undefined;
    let calls = 0;
    const sim = createSimulator({
      write: () => { calls += 1; return new Promise<void>((r) => { release = r; }); },
      ridesPerSecond: 1000, riders: 5, drivers: 5, seed: 1, pace: 0, log: silentLogger,
    });
    sim.start();
    await waitFor(() => calls === 1);
    let stopped = false;
    const stopping = sim.stop().then(() => { stopped = true; });
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
    expect(calls).toBe(1);
    expect(sim.counters()).toMatchObject({ ridesRequested: 1, transactions: 1 });
  });

  it('logs a failed write, drops the ride and carries on', async () => {
    let n = 0;
    const errors: string[] = [];
    const log = { ...silentLogger, child: () => ({ ...silentLogger, error: (_f: Record<string, unknown>, m: string) => void errors.push(m) }) };
    const sim = createSimulator({
      write: async () => { n += 1; if (n === 2) throw new Error('boom'); },
      ridesPerSecond: 500, riders: 50, drivers: 50, seed: 3, pace: 0, log,
    });
    sim.start();
    await waitFor(() => sim.counters().ridesCompleted >= 3);
    await sim.stop();
    expect(sim.counters().writeFailures).toBe(1);
    expect(errors).toEqual(['simulated ride step failed; ride dropped']);
  });
});
