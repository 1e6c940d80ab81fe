import type { Engine } from '../../src/engine/types';
import type { OutboxEvent } from '../../src/outbox/events';
import { keyString, normalizeRow } from '../../src/views/normalize';
import { bundledRegistry } from '../../src/views/load';
import { viewNamed } from '../../src/views/find';
import type { Row, ViewModel } from '../../src/views/model';
import { SQL_COLUMN_TYPES } from '../../src/engine/catalogCheck';
import { FIXTURE_RIDES, FIXTURE_ROWS } from './fixture';

/** One engine under test, made fresh for the suite (its own database) and closed after it. */
export interface EngineUnderTest {
  readonly engine: Engine;
  /** Writes `events` to the engine's outbox in one transaction, the way that engine's services do. */
  seed(events: readonly OutboxEvent[]): Promise<void>;
  /** Waits until everything seeded is visible to reads (incremental engines may lag). @default no wait */
  settle?(): Promise<void>;
  /** Releases the engine and drops its database. */
  close(): Promise<void>;
}

/** information_schema data_type → the registry's normalised type. */
const SQL_TYPES = SQL_COLUMN_TYPES;

function sortByKey(view: ViewModel, rows: readonly Row[]): Row[] {
  return [...rows].sort((a, b) => keyString(view, a).localeCompare(keyString(view, b)));
}

/**
 * The engine conformance suite (STYLE.md practice 6): every engine publishes the registry's
 * columns with the registry's types, and the same events give the same normalised rows in all four
 * views. Run for the embedded engine and for the RisingWave engine.
 */
export function defineEngineSuite(name: string, makeEngine: () => Promise<EngineUnderTest>): void {
  describe(name, () => {
    let under: EngineUnderTest;

    beforeAll(async () => {
      under = await makeEngine();
      for (const ride of FIXTURE_RIDES) await under.seed(ride);
      await under.settle?.();
    }, 60_000);
    afterAll(async () => under?.close(), 30_000);

    it('is ready', () => {
      expect(under.engine.ready()).toBe(true);
    });

    it.each(bundledRegistry().views.map((v) => [v.name]))('%s: catalog columns and types match the registry', async (view) => {
      const rows = await under.engine.query<{ column_name: string; data_type: string }>(
        `SELECT column_name, data_type FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, [view]);
      expect(rows.map((r) => [r.column_name, SQL_TYPES[r.data_type] ?? r.data_type]))
        .toEqual(viewNamed(bundledRegistry(), view).columns.map((c) => [c.name, c.type]));
    });

    it.each(bundledRegistry().views.map((v) => [v.name]))('%s: the same events give the same normalised rows', async (view) => {
      const def = viewNamed(bundledRegistry(), view);
      const raw = await under.engine.query<Record<string, unknown>>(`SELECT * FROM ${view}`);
      expect(sortByKey(def, raw.map((r) => normalizeRow(def, r)))).toEqual(sortByKey(def, FIXTURE_ROWS[view] ?? []));
    });

    it('answers parameterised lookups by the indexed columns', async () => {
      const byRider = await under.engine.query<Record<string, unknown>>(
        'SELECT trip_id FROM trip_history WHERE rider_id = $1 ORDER BY requested_at', ['rider-1']);
      expect(byRider.map((r) => r['trip_id'])).toEqual(['ride-1', 'ride-2']);
      const earnings = await under.engine.query<Record<string, unknown>>(
        'SELECT day, gross_fares FROM driver_earnings_daily WHERE driver_id = $1 ORDER BY day', ['driver-2']);
      expect(earnings.map((r) => normalizeRow(viewNamed(bundledRegistry(), 'driver_earnings_daily'), { ...r, driver_id: 'driver-2' })))
        .toEqual([expect.objectContaining({ day: '2026-10-05', gross_fares: '0' }), expect.objectContaining({ day: '2026-10-06', gross_fares: '7.05' })]);
    });

    it('returns raw engine values that normalise to exact types (numeric text, ISO instants, plain dates)', async () => {
      const [row] = await under.engine.query<Record<string, unknown>>(
        "SELECT fare_amount, requested_at FROM trip_history WHERE trip_id = 'ride-2'");
      expect(typeof row!['fare_amount']).toBe('string');
      expect(normalizeRow(viewNamed(bundledRegistry(), 'trip_history'), { ...row }).requested_at).toBe('2026-10-05T23:40:00.000Z');
    });
  });
}
