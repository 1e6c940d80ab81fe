/**
 * One contract from outbox write to view row, for the real services: the traffic driver
 * (examples/ride-hailing/src/traffic.ts) rides through the Ride service's HTTP API, the four
 * services (each with its own MariaDB database) react over the real Kafka broker, the OutboxRouter
 * STANDS IN FOR RISINGWAVE CDC + SINKS between them. Then the test STANDS IN FOR RISINGWAVE CDC into
 * the views: it copies each service's outbox into PostgreSQL as `outbox_<service>` (the CDC tables
 * the RisingWave DDL generator names), creates `outbox` with the generator's own UNION ALL
 * statement (as a plain view: PostgreSQL stands in for RisingWave) and the four views from
 * schema/*.sql on top, and checks the rows against what the services' own tables say. A second test
 * drives the cases the traffic leaves to chance over HTTP directly: a rider cancelling a ride that
 * waits for a driver, a match timeout, a trip charged more than quoted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RowDataPacket } from 'mysql2/promise';
import { generateDdl } from '../../src/engine/risingwave/ddl';
import { loadRisingWaveSettings } from '../../src/engine/risingwave/settings';
import { recordingLogger, silentLogger, type Logger } from '../../src/log';
import { sourceMigrations } from '../../src/outbox/dialect';
import { bundledRegistry } from '../../src/views/load';
import { viewNamed } from '../../src/views/find';
import { addDrivers, createDriverService } from '../../examples/ride-hailing/src/driver';
import { createNotificationService } from '../../examples/ride-hailing/src/notification';
import { createPaymentService, fareFor } from '../../examples/ride-hailing/src/payment';
import { SERVICE_NAMES, toHundredths, type Service, type ServiceName } from '../../examples/ride-hailing/src/service';
import { createTraffic, type Traffic, type TrafficOptions } from '../../examples/ride-hailing/src/traffic';
import { ServicesLoop } from '../../examples/ride-hailing/test/loop';
import { waitFor, type ServiceDatabase, type TestKafka } from '../../examples/ride-hailing/test/support';
import { createPgDatabase, type PgTestDatabase } from '../conformance/databases';

let loop: ServicesLoop;
let kafka: TestKafka;
let dbs: Record<ServiceName, ServiceDatabase>;
let pg: PgTestDatabase | undefined;

beforeEach(async () => {
  loop = await ServicesLoop.create();
  ({ kafka, dbs } = loop);
}, 60_000);

afterEach(async () => {
  await loop?.cleanup();
  await pg?.drop();
  pg = undefined;
}, 60_000);

const options = (name: ServiceName) => loop.options(name);
const started = <S extends Service>(service: S) => loop.started(service);
const startRouter = () => loop.startRouter();
/** Starts the Ride service on `port` (0 = any); resolves to its base URL. */
const startRide = async (port = 0) => (await loop.startRide({}, port)).url;

/** The traffic driver with test timings (short polls, backoff and trips); stopped by afterEach. */
function traffic(rideUrl: string, o: Partial<TrafficOptions>, log: Logger = silentLogger): Traffic {
  const t = createTraffic({
    rideUrl, log, rate: 20, riders: 5, tripMs: 150, maxInFlight: 6, rideIdPrefix: `${kafka.scope}ride`,
    pollMs: { min: 25, max: 200 }, retry: { initialMs: 25, maxMs: 250 }, rideTimeoutMs: 25_000, stopTimeoutMs: 5_000, ...o,
  });
  loop.defer(async () => void await t.stop());
  return t;
}

/** `n` drivers spread around the centre (`driver-001`…). */
function drivers(n: number): Array<{ id: string; lat: number; lng: number }> {
  return Array.from({ length: n }, (_, i) => ({ id: `driver-${String(i + 1).padStart(3, '0')}`, lat: 52.52 + ((i * 37) % 100 - 50) / 1000, lng: 13.405 + ((i * 61) % 100 - 50) / 1000 }));
}

async function post(url: string, body: unknown = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const count = (rows: readonly unknown[], p: (r: RowDataPacket) => boolean) => (rows as RowDataPacket[]).filter(p).length;
const cents = (v: unknown) => (v === null || v === undefined ? 0 : toHundredths(String(v)));
const sumCents = (values: readonly unknown[]) => values.reduce<number>((s, v) => s + cents(v), 0);

/**
 * Stands in for RisingWave CDC: every service's outbox copied into `outbox_<service>` (columns from
 * migrations/source/postgres/0001_create_outbox.sql, created in a scratch schema and copied with
 * LIKE), then `outbox` from the generated UNION ALL and the four views of schema/.
 */
async function viewsOverOutboxes(db: PgTestDatabase): Promise<{ unionSql: string }> {
  const c = db.client;
  await c.query('CREATE SCHEMA upstream');
  await c.query('SET search_path TO upstream');
  for (const m of sourceMigrations('postgres')) await c.query(m.sql);
  await c.query('RESET search_path');

  const ddl = generateDdl(loadRisingWaveSettings({ WAVEGATE_CDC_DATABASE: SERVICE_NAMES.join(',') }));
  const cdcTables = ddl.filter((o) => o.kind === 'table').map((o) => o.name);
  expect(cdcTables).toEqual(SERVICE_NAMES.map((s) => `outbox_${s}`));
  const union = ddl.find((o) => o.name === 'outbox');
  expect(union).toMatchObject({ kind: 'materialized view' });
  expect(union!.create).toMatch(/^CREATE MATERIALIZED VIEW outbox AS\nSELECT .+ FROM outbox_ride\nUNION ALL\n/);

  for (const name of SERVICE_NAMES) {
    const table = `outbox_${name}`;
    await c.query(`CREATE TABLE ${table} (LIKE upstream.outbox INCLUDING ALL)`);
    const rows = await dbs[name].rows(`SELECT id, aggregate_type, aggregate_id, event_type, payload, trace_context,
      DATE_FORMAT(occurred_at, '%Y-%m-%dT%H:%i:%s.%fZ') AS occurred_at FROM outbox`);
    for (const r of rows) {
      await c.query(`INSERT INTO ${table} (id, aggregate_type, aggregate_id, event_type, payload, occurred_at, trace_context) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)`,
        [r['id'], r['aggregate_type'], r['aggregate_id'], r['event_type'], typeof r['payload'] === 'string' ? r['payload'] : JSON.stringify(r['payload']), r['occurred_at'], r['trace_context']]);
    }
  }
  // PostgreSQL stands in for RisingWave: the generated statement, as a plain view.
  const unionSql = union!.create.replace(/^CREATE MATERIALIZED VIEW /, 'CREATE VIEW ');
  await c.query(unionSql);
  for (const v of bundledRegistry().views) await c.query(`CREATE VIEW ${v.name} AS ${viewNamed(bundledRegistry(), v.name).sql}`);
  return { unionSql };
}

async function view(name: string, orderBy: string): Promise<Array<Record<string, unknown>>> {
  return (await pg!.client.query<Record<string, unknown>>(`SELECT * FROM ${name} ORDER BY ${orderBy}`)).rows;
}

describe('ride-hailing services read through the views (router stands in for CDC + sinks; PostgreSQL for RisingWave)', () => {
  it('turns traffic over the Ride HTTP API into trip_history, rider_stats, driver_stats and driver_earnings_daily rows that agree with every service\'s tables', async () => {
    const RIDES = 12;
    // One driver for all rides: rides wait for it to be freed, and riders cancel some while they wait
    // (assignment status `withdrawn`; the next test and services.test.ts cover that deterministically).
    await addDrivers(dbs.driver, drivers(1));
    const driver = await started(createDriverService(options('driver')));
    const payment = await started(createPaymentService(options('payment')));
    const notification = await started(createNotificationService(options('notification')));
    const rideUrl = await startRide();
    await startRouter();

    const t = traffic(rideUrl, { seed: 42, maxRides: RIDES, cancelRate: 0.35 });
    t.start();
    const stats = await t.settled(RIDES, 25_000);
    expect(stats).toMatchObject({ requested: RIDES, failed: 0, gaveUp: 0, aborted: 0, httpErrors: 0, inFlight: 0 });
    expect(stats.completed + stats.cancelled).toBe(RIDES);
    const planned = t.rides();
    // Seed 42: both outcomes, and cancellations both before and after assignment.
    expect(new Set(planned.map((r) => r.plan))).toEqual(new Set(['complete', 'cancel-requested', 'cancel-assigned']));
    for (const r of planned) expect(r.outcome).toBe(r.plan === 'complete' ? 'completed' : 'cancelled');

    // Quiet: every service has handled all its input (so every outbox is final), and the
    // Notification service (it consumes every event type written here) has seen every event.
    const outboxTotal = async () => (await Promise.all(SERVICE_NAMES.map((s) => dbs[s].count('outbox')))).reduce((a, b) => a + b, 0);
    await waitFor(async () => driver.consumer.stats().handled === RIDES + stats.completed + stats.cancelled
      && payment.consumer.stats().handled === RIDES + stats.completed
      && (await dbs.payment.count('payments')) === stats.completed
      && notification.consumer.stats().handled === await outboxTotal(), 20_000, 50);
    for (const s of [driver, payment, notification]) expect(s.consumer.stats().deadLettered).toBe(0);

    // What the services' own tables say.
    const rides = await dbs.ride.rows('SELECT id, rider_id, status, driver_id, pickup_lat, pickup_lng, dropoff_lat, dropoff_lng FROM rides ORDER BY id');
    const assignments = new Map((await dbs.driver.rows('SELECT ride_id, driver_id FROM assignments')).map((a) => [a['ride_id'] as string, a['driver_id'] as string | null]));
    const fares = new Map((await dbs.payment.rows('SELECT ride_id, currency, estimate_amount, final_amount, final_km FROM fares')).map((f) => [f['ride_id'] as string, f]));
    const payments = new Map((await dbs.payment.rows('SELECT ride_id, amount FROM payments')).map((p) => [p['ride_id'] as string, p['amount'] as string]));
    expect(rides).toHaveLength(RIDES);
    expect(count(rides, (r) => r['status'] === 'completed')).toBe(stats.completed);
    expect(count(rides, (r) => r['status'] === 'cancelled')).toBe(stats.cancelled);
    expect(assignments.size).toBe(RIDES);
    const assignmentStates = await dbs.driver.rows('SELECT DISTINCT status FROM assignments');
    for (const st of assignmentStates) expect(['released', 'withdrawn', 'cancelled']).toContain(st['status']); // nothing left waiting
    expect(fares.size).toBe(RIDES);

    pg = await createPgDatabase();
    const { unionSql } = await viewsOverOutboxes(pg);
    expect(unionSql).toMatch(/^CREATE VIEW outbox AS\n/);
    expect(Number((await pg.client.query('SELECT count(*) AS n FROM outbox')).rows[0].n)).toBe(await outboxTotal());

    // trip_history: one row per ride, as the rider would expect it.
    const trips = new Map((await view('trip_history', 'trip_id')).map((r) => [r['trip_id'] as string, r]));
    expect([...trips.keys()]).toEqual(rides.map((r) => r['id']));
    const planById = new Map(planned.map((r) => [r.id, r]));
    let chargedMoreThanQuoted = 0;
    for (const r of rides) {
      const id = r['id'] as string;
      const trip = trips.get(id)!;
      const fare = fares.get(id)!;
      const plan = planById.get(id)!;
      expect(trip).toMatchObject({
        rider_id: r['rider_id'], driver_id: assignments.get(id) ?? null, fare_currency: fare['currency'],
        pickup_lat: r['pickup_lat'], pickup_lng: r['pickup_lng'], dropoff_lat: r['dropoff_lat'], dropoff_lng: r['dropoff_lng'],
        rider_rating: null, driver_rating: null,
      });
      expect(trip['requested_at']).toBeInstanceOf(Date);
      if (r['status'] === 'completed') {
        expect(trip).toMatchObject({
          status: 'COMPLETED', driver_id: r['driver_id'], cancelled_at: null, cancelled_by: null,
          paid_amount: payments.get(id), // exactly what the Payment service captured
          distance_km: fare['final_km'],
          event_count: '6', // RideRequested, DriverAssigned, FareCalculated, RideStarted, RideCompleted, PaymentCaptured
        });
        expect(trip['distance_km']).toBe(plan.distanceKm); // what the driver's app sent
        // The fare is the quote (the one FareCalculated); the paid amount is what was charged.
        expect(trip['fare_amount']).toBe(fare['estimate_amount']);
        expect(trip['paid_amount']).toBe(fare['final_amount']);
        if (cents(fare['final_amount']) > cents(fare['estimate_amount'])) chargedMoreThanQuoted++;
        for (const at of ['assigned_at', 'started_at', 'completed_at']) expect(trip[at]).toBeInstanceOf(Date);
      } else {
        expect(r['status']).toBe('cancelled');
        expect(trip).toMatchObject({
          status: 'CANCELLED', cancelled_by: 'rider', paid_amount: null, completed_at: null, started_at: null, distance_km: null,
          fare_amount: fare['estimate_amount'],
        });
        expect(trip['cancelled_at']).toBeInstanceOf(Date);
      }
    }
    // Seed 42 charges some trips more than quoted, so a second FareCalculated (the final fare) would
    // raise trip_history's max(amount) above the quote and fail above (as would event_count).
    expect(chargedMoreThanQuoted).toBeGreaterThan(0);
    // One RideCancelled per cancelled ride, whoever cancelled it (the views count events).
    const cancelEvents = await Promise.all(SERVICE_NAMES.map((s) => dbs[s].count("outbox WHERE event_type = 'RideCancelled'")));
    expect(cancelEvents).toEqual([stats.cancelled, 0, 0, 0]);

    // rider_stats: counts and money per rider, from the Ride and Payment services' tables.
    const riders = await view('rider_stats', 'rider_id');
    const riderIds = [...new Set(rides.map((r) => r['rider_id'] as string))].sort();
    expect(riders.map((r) => r['rider_id'])).toEqual(riderIds);
    for (const row of riders) {
      const mine = rides.filter((r) => r['rider_id'] === row['rider_id']);
      expect({
        trips: Number(row['trips']), completed: Number(row['completed_trips']), cancelled: Number(row['cancelled_trips']),
        spent: cents(row['total_spent']), ratings: Number(row['ratings_given']), avg: row['avg_rating_given'],
      }).toEqual({
        trips: mine.length, completed: count(mine, (r) => r['status'] === 'completed'), cancelled: count(mine, (r) => r['status'] === 'cancelled'),
        spent: sumCents(mine.map((r) => payments.get(r['id'] as string))), ratings: 0, avg: null,
      });
    }
    // The views count RideCancelled events: their total is the number of cancelled rides.
    expect(riders.reduce((n, r) => n + Number(r['cancelled_trips']), 0)).toBe(stats.cancelled);

    // driver_stats: per driver the Driver service assigned, with the rides' fates and payments.
    const byDriver = new Map<string, RowDataPacket[]>();
    for (const r of rides) {
      const d = assignments.get(r['id'] as string);
      if (d !== null && d !== undefined) byDriver.set(d, [...(byDriver.get(d) ?? []), r]);
    }
    const driverRows = await view('driver_stats', 'driver_id');
    expect(driverRows.map((r) => r['driver_id'])).toEqual([...byDriver.keys()].sort());
    for (const row of driverRows) {
      const mine = byDriver.get(row['driver_id'] as string)!;
      const completed = count(mine, (r) => r['status'] === 'completed');
      expect({
        trips: Number(row['trips']), completed: Number(row['completed_trips']), cancelled: Number(row['cancelled_trips']),
        earned: cents(row['lifetime_earnings']), ratings: Number(row['ratings']), rating: row['rating'], hasLastTrip: row['last_trip_at'] instanceof Date,
      }).toEqual({
        trips: mine.length, completed, cancelled: count(mine, (r) => r['status'] === 'cancelled'),
        earned: sumCents(mine.map((r) => payments.get(r['id'] as string))), ratings: 0, rating: null, hasLastTrip: completed > 0,
      });
    }

    // driver_earnings_daily: summed over days (a run across UTC midnight splits a driver's rows).
    const daily = new Map<string, { trips: number; gross: number }>();
    for (const row of await view('driver_earnings_daily', 'driver_id, day')) {
      expect(row).toMatchObject({ avg_rating: null, ratings: '0' });
      const d = daily.get(row['driver_id'] as string) ?? { trips: 0, gross: 0 };
      daily.set(row['driver_id'] as string, { trips: d.trips + Number(row['trips']), gross: d.gross + cents(row['gross_fares']) });
    }
    const earning = [...byDriver].filter(([, mine]) => mine.some((r) => r['status'] === 'completed'));
    expect(Object.fromEntries(daily)).toEqual(Object.fromEntries(earning.map(([d, mine]) => [d, {
      trips: count(mine, (r) => r['status'] === 'completed'),
      gross: sumCents(mine.map((r) => payments.get(r['id'] as string))),
    }])));
  });

  it('counts one cancellation per cancelled ride and shows the quote as the fare: a rider cancelling while no driver is free, a match timeout, a trip charged more than quoted', async () => {
    await addDrivers(dbs.driver, drivers(1)); // driver-001
    const driver = await started(createDriverService(options('driver')));
    const payment = await started(createPaymentService(options('payment')));
    const notification = await started(createNotificationService(options('notification')));
    const { ride, url } = await loop.startRide(); // the 60 s match timeout: the test backdates a ride past it
    await startRouter();
    const request = async (id: string, rider: string) =>
      expect((await post(`${url}/rides`, { rider_id: rider, pickup: { lat: 52.52, lng: 13.405 }, dropoff: { lat: 52.51, lng: 13.38 }, ride_id: id })).status).toBe(201);
    const status = async (id: string) => (await dbs.ride.rows('SELECT status FROM rides WHERE id = ?', [id]))[0]?.['status'];
    const waiting = (id: string) => waitFor(async () => (await dbs.driver.count("assignments WHERE ride_id = ? AND status = 'waiting'", [id])) === 1, 20_000);

    await request('ride-done', 'rider-a');
    await waitFor(async () => (await status('ride-done')) === 'assigned', 20_000);
    // The only driver is busy: this ride waits (nothing emitted), and its rider cancels it.
    await request('ride-rider-cancel', 'rider-b');
    await waiting('ride-rider-cancel');
    expect(await post(`${url}/rides/ride-rider-cancel/cancel`, { cancelled_by: 'rider', reason: 'too slow' })).toMatchObject({ status: 200 });
    // This one waits past the match timeout: the Ride service cancels it (system).
    await request('ride-timeout', 'rider-b');
    await waiting('ride-timeout');
    await dbs.ride.db.execute("UPDATE rides SET requested_at = requested_at - INTERVAL 2 MINUTE WHERE id = 'ride-timeout'");
    expect(await ride.sweep()).toBe(1);
    // Driven well beyond the quoted route: charged more than quoted, so a second (final)
    // FareCalculated would raise trip_history's max(amount) above the quote.
    expect((await post(`${url}/rides/ride-done/start`)).status).toBe(200);
    expect((await post(`${url}/rides/ride-done/complete`, { distance_km: '9.99' })).status).toBe(200);

    const outboxTotal = async () => (await Promise.all(SERVICE_NAMES.map((s) => dbs[s].count('outbox')))).reduce((a, b) => a + b, 0);
    await waitFor(async () => driver.consumer.stats().handled === 3 + 1 + 2 // RideRequested ×3, RideCompleted, RideCancelled ×2
      && payment.consumer.stats().handled === 3 + 1 && (await dbs.payment.count('payments')) === 1
      && notification.consumer.stats().handled === await outboxTotal(), 20_000, 50);
    for (const s of [driver, payment, notification]) expect(s.consumer.stats().deadLettered).toBe(0);
    expect(await dbs.driver.rows('SELECT ride_id, driver_id, status FROM assignments ORDER BY ride_id')).toEqual([
      { ride_id: 'ride-done', driver_id: 'driver-001', status: 'released' },
      { ride_id: 'ride-rider-cancel', driver_id: null, status: 'withdrawn' },
      { ride_id: 'ride-timeout', driver_id: null, status: 'withdrawn' },
    ]);
    expect(await Promise.all(SERVICE_NAMES.map((s) => dbs[s].count("outbox WHERE event_type = 'RideCancelled'")))).toEqual([2, 0, 0, 0]);
    expect(await Promise.all(SERVICE_NAMES.map((s) => dbs[s].count("outbox WHERE event_type = 'FareCalculated'")))).toEqual([0, 0, 3, 0]);
    const [fare] = await dbs.payment.rows("SELECT estimate_amount, final_amount FROM fares WHERE ride_id = 'ride-done'");
    const [paid] = await dbs.payment.rows("SELECT amount FROM payments WHERE ride_id = 'ride-done'");
    expect(paid!['amount']).toBe(fareFor('9.99'));
    expect(fare!['final_amount']).toBe(fareFor('9.99'));
    expect(cents(fare!['final_amount'])).toBeGreaterThan(cents(fare!['estimate_amount']));

    pg = await createPgDatabase();
    await viewsOverOutboxes(pg);
    const trips = new Map((await view('trip_history', 'trip_id')).map((r) => [r['trip_id'] as string, r]));
    expect([...trips.keys()]).toEqual(['ride-done', 'ride-rider-cancel', 'ride-timeout']);
    expect(trips.get('ride-done')).toMatchObject({
      status: 'COMPLETED', rider_id: 'rider-a', driver_id: 'driver-001', cancelled_by: null,
      fare_amount: fare!['estimate_amount'], paid_amount: paid!['amount'], distance_km: '9.99', event_count: '6',
    });
    expect(trips.get('ride-rider-cancel')).toMatchObject({ status: 'CANCELLED', rider_id: 'rider-b', driver_id: null, cancelled_by: 'rider', paid_amount: null, event_count: '3' });
    expect(trips.get('ride-timeout')).toMatchObject({ status: 'CANCELLED', rider_id: 'rider-b', driver_id: null, cancelled_by: 'system', paid_amount: null, event_count: '3' });

    const riders = await view('rider_stats', 'rider_id');
    expect(riders.map((r) => [r['rider_id'], Number(r['trips']), Number(r['completed_trips']), Number(r['cancelled_trips']), cents(r['total_spent'])])).toEqual([
      ['rider-a', 1, 1, 0, cents(paid!['amount'])],
      ['rider-b', 2, 0, 2, 0], // one cancellation each: two cancelled rides, cancelled_trips 2
    ]);
    const driverRows = await view('driver_stats', 'driver_id');
    expect(driverRows.map((r) => [r['driver_id'], Number(r['trips']), Number(r['completed_trips']), Number(r['cancelled_trips']), cents(r['lifetime_earnings'])]))
      .toEqual([['driver-001', 1, 1, 0, cents(paid!['amount'])]]);
  });

  it('traffic waits for a Ride service that is not up yet (one warning per outage) and counts an HTTP error without stopping', async () => {
    await addDrivers(dbs.driver, drivers(1));
    await started(createDriverService(options('driver')));
    await startRouter();
    // A free port for the Ride service to come up on later.
    const probe: Server = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const log = recordingLogger();
    // rate 4/s: ride 1 meets the outage well before ride 2 is due, so ride 2 waits for the service.
    const t = traffic(`http://127.0.0.1:${port}`, { seed: 7, maxRides: 3, cancelRate: 0, rate: 4 }, log);
    // Ride 2's id is taken already: its POST /rides gets a 409 on the first attempt.
    await dbs.ride.db.execute("INSERT INTO rides (id, rider_id, status, pickup_lat, pickup_lng, dropoff_lat, dropoff_lng) VALUES (?, 'rider-0001', 'completed', 52.5, 13.4, 52.5, 13.4)", [`${kafka.scope}ride-000002`]);
    t.start();
    await waitFor(() => log.lines.some((l) => l.msg.startsWith('ride service unreachable')), 5_000);
    expect(t.stats()).toMatchObject({ requested: 0, inFlight: 1 }); // no new rides while it is down
    await startRide(port);

    const stats = await t.settled(3, 20_000);
    expect(stats).toMatchObject({ requested: 2, completed: 2, failed: 1, httpErrors: 1, gaveUp: 0 });
    expect(t.rides().map((r) => r.outcome)).toEqual(['completed', 'failed', 'completed']);
    expect(log.lines.filter((l) => l.msg.startsWith('ride service unreachable'))).toHaveLength(1);
    expect(log.lines.filter((l) => l.msg === 'ride service reachable again')).toHaveLength(1);
    expect(log.lines.find((l) => l.msg === 'ride service answered with an error')).toMatchObject({ level: 'warn', fields: { status: 409, method: 'POST', path: '/rides' } });
    expect(await dbs.ride.count("rides WHERE status = 'completed'")).toBe(3);
  });
});
