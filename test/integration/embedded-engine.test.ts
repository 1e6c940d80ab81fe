import { EmbeddedEngine } from '../../src/engine/embedded/engine';
import type { ChangeEvent } from '../../src/engine/types';
import { GatewayErrorCode, isGatewayError } from '../../src/errors';
import { silentLogger } from '../../src/log';
import { writeEvent, writeEvents } from '../../src/outbox/writer';
import { bundledRegistry } from '../../src/views/load';
import { replayAll } from '../helpers/replay';
import { waitFor } from '../helpers/waitFor';

let engine: EmbeddedEngine;
const seen: ChangeEvent[] = [];

beforeAll(async () => {
  engine = await EmbeddedEngine.create({ log: silentLogger, changeRetention: 100 });
  engine.feed.subscribe((batch) => void seen.push(...batch));
});
afterAll(async () => engine.close());

const P1 = { lat: 52.52, lng: 13.405 };
const P2 = { lat: 52.5, lng: 13.3 };

async function ride(id: string, rider: string, driver: string, amount: string) {
  await engine.transaction((tx) => writeEvents(tx, [
    { type: 'RideRequested', aggregateId: id, payload: { rider_id: rider, pickup: P1, dropoff: P2 }, occurredAt: new Date('2026-10-05T10:00:00Z') },
    { type: 'DriverAssigned', aggregateId: id, payload: { driver_id: driver, eta_seconds: 120 }, occurredAt: new Date('2026-10-05T10:01:00Z') },
    { type: 'FareCalculated', aggregateId: id, payload: { amount, currency: 'EUR', distance_km: '4.20' }, occurredAt: new Date('2026-10-05T10:01:00Z') },
    { type: 'RideStarted', aggregateId: id, payload: { driver_id: driver }, occurredAt: new Date('2026-10-05T10:05:00Z') },
    { type: 'RideCompleted', aggregateId: id, payload: { driver_id: driver, distance_km: '4.25' }, occurredAt: new Date('2026-10-05T10:20:00Z') },
    { type: 'PaymentCaptured', aggregateId: id, payload: { amount, currency: 'EUR', payment_id: `pay-${id}` }, occurredAt: new Date('2026-10-05T10:20:01Z') },
    { type: 'TripRated', aggregateId: id, payload: { rated_by: 'rider', rating: 5 }, occurredAt: new Date('2026-10-05T10:30:00Z') },
  ]));
}

describe('embedded engine (PGlite + pg_ivm)', () => {
  it('publishes every registry column with the declared names, in order', async () => {
    for (const v of bundledRegistry().views) {
      const rows = await engine.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`, [v.name]);
      expect(rows.map((r) => r.column_name)).toEqual(v.columns.map((c) => c.name));
    }
  });

  it('folds a ride into all four views, with exact decimals', async () => {
    await ride('ride-1', 'rider-1', 'driver-1', '12.50');
    const [trip] = await engine.query<Record<string, unknown>>('SELECT * FROM trip_history WHERE trip_id = $1', ['ride-1']);
    expect(trip).toMatchObject({ trip_id: 'ride-1', rider_id: 'rider-1', driver_id: 'driver-1', status: 'COMPLETED',
      fare_amount: '12.50', paid_amount: '12.50', distance_km: '4.25', rider_rating: 5, event_count: 7 });
    const [rs] = await engine.query('SELECT * FROM rider_stats WHERE rider_id = $1', ['rider-1']);
    expect(rs).toMatchObject({ trips: 1, completed_trips: 1, cancelled_trips: 0, total_spent: '12.50', avg_rating_given: '5.00' });
    const [ds] = await engine.query('SELECT * FROM driver_stats WHERE driver_id = $1', ['driver-1']);
    expect(ds).toMatchObject({ trips: 1, completed_trips: 1, lifetime_earnings: '12.50', rating: '5.00' });
    const [de] = await engine.query('SELECT * FROM driver_earnings_daily WHERE driver_id = $1', ['driver-1']);
    expect(de).toMatchObject({ day: '2026-10-05', trips: 1, gross_fares: '12.50', avg_rating: '5.00' });
  });

  it('emits normalised changes in commit order, one transaction at a time', async () => {
    await waitFor(() => seen.some((e) => e.view === 'trip_history' && e.row?.['status'] === 'COMPLETED'));
    const positions = seen.map((e) => Number(e.position));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    const trip = seen.filter((e) => e.view === 'trip_history');
    // One transaction with seven events: pg_ivm applies the delta once per statement, so the trip
    // row is inserted and then updated; the last change carries the final row.
    expect(trip[0]!.op).toBe('insert');
    expect(trip.at(-1)!.row).toMatchObject({ status: 'COMPLETED', fare_amount: '12.50', requested_at: '2026-10-05T10:00:00.000Z' });
    const earn = seen.filter((e) => e.view === 'driver_earnings_daily').at(-1)!;
    expect(earn.key).toEqual({ driver_id: 'driver-1', day: '2026-10-05' });
  });

  it('rolls back the business write and the event together', async () => {
    await engine.exec('CREATE TABLE IF NOT EXISTS rides (id text PRIMARY KEY)');
    const before = seen.length;
    await expect(engine.transaction(async (tx) => {
      await tx.query('INSERT INTO rides (id) VALUES ($1)', ['ride-x']);
      await writeEvent(tx, { type: 'RideRequested', aggregateId: 'ride-x', payload: { rider_id: 'r', pickup: P1, dropoff: P2 } });
      throw new Error('service crashed mid-transaction');
    })).rejects.toThrow('service crashed');
    expect(await engine.query('SELECT * FROM rides')).toEqual([]);
    expect(await engine.query(`SELECT * FROM outbox WHERE aggregate_id = 'ride-x'`)).toEqual([]);
    expect(await engine.query(`SELECT * FROM trip_history WHERE trip_id = 'ride-x'`)).toEqual([]);
    await engine.feed.poke();
    expect(seen.length).toBe(before);
  });

  it('refuses a malformed payload with BAD_OUTBOX_PAYLOAD and writes nothing of the batch', async () => {
    const err = await engine.transaction((tx) => writeEvents(tx, [
      { type: 'RideRequested', aggregateId: 'ride-bad', payload: { rider_id: 'r', pickup: P1, dropoff: P2 } },
      { type: 'FareCalculated', aggregateId: 'ride-bad', payload: { amount: 12.5, currency: 'EUR', distance_km: '1' } as never },
    ])).catch((e: unknown) => e);
    expect(isGatewayError(err, GatewayErrorCode.BAD_OUTBOX_PAYLOAD)).toBe(true);
    expect((err as Error).message).toContain('payload.amount');
    expect(await engine.query(`SELECT * FROM outbox WHERE aggregate_id = 'ride-bad'`)).toEqual([]);
  });

  it('replays a view after a cursor, and expires cursors older than the retention', async () => {
    const cursor = engine.feed.head();
    await ride('ride-2', 'rider-2', 'driver-1', '7.00');
    await waitFor(() => engine.feed.head() !== cursor && seen.some((e) => e.key['trip_id'] === 'ride-2'));
    const replayed = await replayAll(engine.feed, 'trip_history', cursor);
    expect(replayed.length).toBeGreaterThan(0);
    expect(replayed.every((e) => e.view === 'trip_history' && e.key['trip_id'] === 'ride-2')).toBe(true);
    for (let i = 0; i < 20; i++) await ride(`ride-bulk-${i}`, `rider-b${i}`, 'driver-2', '3.00');
    await waitFor(() => seen.some((e) => e.key['trip_id'] === 'ride-bulk-19'));
    // The engine's own pruner (every 10 s) may have pruned these already on a busy machine: what
    // must hold either way is that the old cursor is expired afterwards.
    await engine.prune();
    const expired = await replayAll(engine.feed, 'trip_history', '0').catch((e: unknown) => e);
    expect(isGatewayError(expired, GatewayErrorCode.CURSOR_EXPIRED)).toBe(true);
  });
});
