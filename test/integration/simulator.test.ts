import { EmbeddedEngine } from '../../src/engine/embedded/engine';
import { silentLogger } from '../../src/log';
import type { OutboxEvent } from '../../src/outbox/events';
import { createSimulator, outboxWriter, type SimulatorCounters } from '../../src/simulator/simulator';

const RIDES = 120;
let engine: EmbeddedEngine;
let counters: SimulatorCounters;
const written: OutboxEvent[] = [];

beforeAll(async () => {
  engine = await EmbeddedEngine.create({ log: silentLogger });
  const write = outboxWriter(engine);
  // Few drivers for the rate, so some rides wait for a driver and some are cancelled by 'system'.
  const sim = createSimulator({
    write: async (events) => { await write(events); written.push(...events); },
    ridesPerSecond: 4, riders: 60, drivers: 6, seed: 2026, pace: 0, log: silentLogger,
    now: () => new Date('2026-10-05T10:00:00Z'),
  });
  counters = await sim.simulateRides(RIDES);
}, 300_000); // 120 rides through PGlite + pg_ivm: seconds when idle, over 60 s at load average 30; the bound only stops a hung run
afterAll(async () => engine.close());

const sum = async (sql: string) => (await engine.query<{ s: string | null }>(sql))[0]!.s;

describe('simulator → outbox → embedded views', () => {
  it('writes every event to the outbox', async () => {
    const [row] = await engine.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
    expect(row!.n).toBe(counters.eventsWritten);
    expect(counters.eventsWritten).toBe(written.length);
  });

  it('leaves one trip_history row per ride, with statuses matching the counters', async () => {
    const rows = await engine.query<{ status: string; cancelled_by: string | null; n: number }>(
      'SELECT status, cancelled_by, count(*)::int AS n FROM trip_history GROUP BY status, cancelled_by');
    const n = (status: string, by: string | null = null) =>
      rows.find((r) => r.status === status && r.cancelled_by === by)?.n ?? 0;
    expect(rows.reduce((total, r) => total + r.n, 0)).toBe(RIDES);
    expect(n('COMPLETED')).toBe(counters.ridesCompleted);
    expect(n('CANCELLED', 'rider')).toBe(counters.cancelledBy.rider);
    expect(n('CANCELLED', 'driver')).toBe(counters.cancelledBy.driver);
    expect(n('CANCELLED', 'system')).toBe(counters.cancelledBy.system);
    expect(counters.cancelledBy.system).toBeGreaterThan(0);
    expect(counters.ridesCompleted + counters.ridesCancelled).toBe(RIDES);
  });

  it('records payments only for completed rides, equal to the fare', async () => {
    const bad = await engine.query(`SELECT trip_id FROM trip_history
      WHERE (status = 'CANCELLED' AND paid_amount IS NOT NULL) OR (status = 'COMPLETED' AND paid_amount IS DISTINCT FROM fare_amount)`);
    expect(bad).toEqual([]);
  });

  it('totals captured payments the same in every view and in the counters', async () => {
    const expected = counters.capturedAmount;
    expect(Number(expected)).toBeGreaterThan(0);
    expect(await sum('SELECT sum(total_spent)::text AS s FROM rider_stats')).toBe(expected);
    expect(await sum('SELECT sum(lifetime_earnings)::text AS s FROM driver_stats')).toBe(expected);
    expect(await sum('SELECT sum(gross_fares)::text AS s FROM driver_earnings_daily')).toBe(expected);
    expect(await sum('SELECT sum(paid_amount)::text AS s FROM trip_history')).toBe(expected);
  });

  it('counts per rider and per driver what the simulator did', async () => {
    const [r] = await engine.query<{ trips: number; completed: number; cancelled: number }>(
      'SELECT sum(trips)::int AS trips, sum(completed_trips)::int AS completed, sum(cancelled_trips)::int AS cancelled FROM rider_stats');
    expect(r).toEqual({ trips: RIDES, completed: counters.ridesCompleted, cancelled: counters.ridesCancelled });
    const [d] = await engine.query<{ completed: number; cancelled: number }>(
      'SELECT sum(completed_trips)::int AS completed, sum(cancelled_trips)::int AS cancelled FROM driver_stats');
    // Drivers see the cancellations that happened after assignment only.
    const afterAssignment = await engine.query(`SELECT 1 FROM trip_history WHERE status = 'CANCELLED' AND driver_id IS NOT NULL`);
    expect(d).toEqual({ completed: counters.ridesCompleted, cancelled: afterAssignment.length });
  });
});
