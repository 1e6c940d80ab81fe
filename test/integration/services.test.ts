/**
 * The ride-hailing example services (examples/ride-hailing) closing the loop on the real Kafka
 * broker and MariaDB, each service with its own database. RisingWave cannot run here, so the
 * tests play its role: they produce records in the exact bytes of its append-only event sinks, and
 * the OutboxRouter (examples/ride-hailing/src/router.ts) STANDS IN FOR RISINGWAVE CDC + SINKS by
 * forwarding every service's outbox rows to `events.<Type>` in that format.
 */
import { encodeSinkRecord } from '../../src/consumer';
import { addDrivers, createDriverService } from '../../examples/ride-hailing/src/driver';
import { createNotificationService } from '../../examples/ride-hailing/src/notification';
import { createPaymentService, fareFor } from '../../examples/ride-hailing/src/payment';
import type { Service, ServiceName } from '../../examples/ride-hailing/src/service';
import { ServicesLoop } from '../../examples/ride-hailing/test/loop';
import { outboxRow, rideRequested, waitFor, type ServiceDatabase, type TestKafka } from '../../examples/ride-hailing/test/support';

let loop: ServicesLoop;
let kafka: TestKafka;
let dbs: Record<ServiceName, ServiceDatabase>;

const BERLIN = { lat: 52.52, lng: 13.405 };
const NEAR = { id: 'driver-near', lat: 52.521, lng: 13.406 };
const FAR = { id: 'driver-far', lat: 52.6, lng: 13.5 };

beforeEach(async () => {
  loop = await ServicesLoop.create();
  ({ kafka, dbs } = loop);
}, 60_000);
afterEach(async () => loop?.cleanup(), 60_000);

const options = (name: ServiceName) => loop.options(name);
const started = <S extends Service>(service: S) => loop.started(service);
const startRouter = () => loop.startRouter();
const startRide = (matchTimeoutMs?: number, sweepEveryMs?: number) => loop.startRide({
  ...(matchTimeoutMs === undefined ? {} : { matchTimeoutMs }), ...(sweepEveryMs === undefined ? {} : { sweepEveryMs }) });

/** An HTTP answer of the Ride service. */
type Answer = { status: number; body: Record<string, unknown> };

async function post(url: string, body: unknown = {}): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const outbox = (name: ServiceName, type: string) => dbs[name].count('outbox WHERE event_type = ?', [type]);
const rideStatus = async (id: string) => (await dbs.ride.rows('SELECT status FROM rides WHERE id = ?', [id]))[0]?.['status'];
const driverStatus = async (id: string) => (await dbs.driver.rows('SELECT status, ride_id, lat FROM drivers WHERE id = ?', [id]))[0];

describe('ride-hailing services (tests play RisingWave: sink-format records, and the outbox router stands in for CDC + sinks)', () => {
  it('turns one RideRequested in RisingWave\'s sink format into exactly one DriverAssigned and one FareCalculated, in the right outboxes', async () => {
    await addDrivers(dbs.driver, [NEAR, FAR]);
    const driver = await started(createDriverService(options('driver')));
    const payment = await started(createPaymentService(options('payment')));
    const row = rideRequested('ride-1', 'rider-1', BERLIN, { lat: 52.5, lng: 13.3 });
    await kafka.produceRows([row]);

    await waitFor(() => driver.consumer.stats().handled === 1 && payment.consumer.stats().handled === 1, 15_000);
    expect(await outbox('driver', 'DriverAssigned')).toBe(1);
    expect(await dbs.driver.count('outbox')).toBe(1);
    expect(await outbox('payment', 'FareCalculated')).toBe(1);
    expect(await dbs.payment.count('outbox')).toBe(1);
    const [assigned] = await dbs.driver.rows("SELECT aggregate_id, payload FROM outbox WHERE event_type = 'DriverAssigned'");
    expect(assigned!['aggregate_id']).toBe('ride-1');
    expect(JSON.parse(assigned!['payload'] as string)).toEqual({ driver_id: NEAR.id, eta_seconds: expect.any(Number) });
    expect(await driverStatus(NEAR.id)).toMatchObject({ status: 'busy', ride_id: 'ride-1' });
    expect(await driverStatus(FAR.id)).toMatchObject({ status: 'available' });
    const [fare] = await dbs.payment.rows("SELECT payload FROM outbox WHERE event_type = 'FareCalculated'");
    const p = JSON.parse(fare!['payload'] as string) as { amount: string; distance_km: string; currency: string };
    expect(p).toEqual({ amount: fareFor(p.distance_km), currency: 'EUR', distance_km: expect.stringMatching(/^\d+\.\d{2}$/) });
  });

  it('still leads to one DriverAssigned and one FareCalculated when the RideRequested is delivered three times', async () => {
    await addDrivers(dbs.driver, [NEAR, FAR]);
    const driver = await started(createDriverService(options('driver')));
    const payment = await started(createPaymentService(options('payment')));
    const record = encodeSinkRecord(rideRequested('ride-3x'));
    await kafka.produce('RideRequested', [record, record, record]);

    const seen = (s: Service) => s.consumer.stats().handled + s.consumer.stats().duplicates;
    await waitFor(() => seen(driver) === 3 && seen(payment) === 3, 15_000);
    expect(driver.consumer.stats()).toMatchObject({ handled: 1, duplicates: 2 });
    expect(payment.consumer.stats()).toMatchObject({ handled: 1, duplicates: 2 });
    expect(await outbox('driver', 'DriverAssigned')).toBe(1);
    expect(await outbox('payment', 'FareCalculated')).toBe(1);
    expect(await dbs.driver.count("drivers WHERE status = 'busy'")).toBe(1);
  });

  it('closes the loop for a whole ride over HTTP: request, assign, start, complete, fare, payment, notifications', async () => {
    await addDrivers(dbs.driver, [NEAR, FAR]);
    await started(createDriverService(options('driver')));
    await started(createPaymentService(options('payment')));
    const notification = await started(createNotificationService(options('notification')));
    const { url } = await startRide();
    await startRouter();

    const created = await post(`${url}/rides`, { rider_id: 'rider-42', pickup: BERLIN, dropoff: { lat: 52.51, lng: 13.38 } });
    expect(created.status).toBe(201);
    const id = created.body['ride_id'] as string;
    await waitFor(async () => (await rideStatus(id)) === 'assigned', 20_000); // via DriverAssigned from the Driver service
    expect((await (await fetch(`${url}/rides/${id}`)).json())).toMatchObject({ status: 'assigned', driver_id: NEAR.id });
    expect((await post(`${url}/rides/${id}/start`)).status).toBe(200);
    expect((await post(`${url}/rides/${id}/complete`, { distance_km: '2.40' })).status).toBe(200);

    await waitFor(async () => (await outbox('payment', 'PaymentCaptured')) === 1 && (await driverStatus(NEAR.id))?.['status'] === 'available', 20_000);
    const [payment] = await dbs.payment.rows('SELECT ride_id, amount, currency FROM payments');
    expect(payment).toMatchObject({ ride_id: id, amount: fareFor('2.40'), currency: 'EUR' });
    expect(await outbox('payment', 'FareCalculated')).toBe(1); // the quote only: the contract has one per ride
    expect(await driverStatus(NEAR.id)).toMatchObject({ status: 'available', ride_id: null, lat: 52.51 }); // freed at the drop-off
    expect(await dbs.ride.count('outbox')).toBe(3); // RideRequested, RideStarted, RideCompleted
    expect(await dbs.driver.count('outbox')).toBe(1);

    await waitFor(async () => (await dbs.notification.count('notifications')) === 6, 20_000);
    const told = await dbs.notification.rows('SELECT kind, rider_id, message FROM notifications WHERE ride_id = ? ORDER BY kind', [id]);
    expect(told.map((n) => n['kind'])).toEqual(['DriverAssigned', 'FareCalculated', 'PaymentCaptured', 'RideCompleted', 'RideRequested', 'RideStarted']);
    expect(told.every((n) => n['rider_id'] === 'rider-42')).toBe(true);
    expect(told.find((n) => n['kind'] === 'PaymentCaptured')!['message']).toContain(`${fareFor('2.40')} EUR`);
    expect(notification.consumer.stats().deadLettered).toBe(0);
  });

  it('lets a ride wait when no driver is free, without writing anything, and assigns it when a driver is freed', async () => {
    await addDrivers(dbs.driver, [NEAR]);
    await started(createDriverService(options('driver')));
    const { url } = await startRide();
    await startRouter();

    const first = (await post(`${url}/rides`, { rider_id: 'rider-1', pickup: BERLIN, dropoff: { lat: 52.51, lng: 13.38 }, ride_id: 'ride-first' })).body['ride_id'] as string;
    await waitFor(async () => (await rideStatus(first)) === 'assigned', 20_000);
    const second = (await post(`${url}/rides`, { rider_id: 'rider-2', pickup: BERLIN, dropoff: BERLIN, ride_id: 'ride-second' })).body['ride_id'] as string;
    await waitFor(async () => (await dbs.driver.count("assignments WHERE ride_id = ? AND status = 'waiting'", [second])) === 1, 20_000);
    expect(await dbs.driver.count('outbox')).toBe(1); // the first ride's DriverAssigned only: no cancellation from this service
    expect(await rideStatus(second)).toBe('requested');

    expect((await post(`${url}/rides/${first}/start`)).status).toBe(200);
    expect((await post(`${url}/rides/${first}/complete`, { distance_km: '2.40' })).status).toBe(200);
    await waitFor(async () => (await rideStatus(second)) === 'assigned', 20_000); // the freed driver takes the waiting ride
    expect(await dbs.driver.rows("SELECT aggregate_id, JSON_UNQUOTE(JSON_EXTRACT(payload, '$.driver_id')) AS driver FROM outbox WHERE event_type = 'DriverAssigned' ORDER BY aggregate_id"))
      .toEqual([{ aggregate_id: 'ride-first', driver: NEAR.id }, { aggregate_id: 'ride-second', driver: NEAR.id }]);
    expect(await driverStatus(NEAR.id)).toMatchObject({ status: 'busy', ride_id: 'ride-second', lat: 52.51 }); // from the first drop-off

    // A driver added later takes the next waiting ride the same way.
    const third = (await post(`${url}/rides`, { rider_id: 'rider-3', pickup: BERLIN, dropoff: BERLIN, ride_id: 'ride-third' })).body['ride_id'] as string;
    await waitFor(async () => (await dbs.driver.count("assignments WHERE ride_id = ? AND status = 'waiting'", [third])) === 1, 20_000);
    await addDrivers(dbs.driver, [FAR]);
    await waitFor(async () => (await rideStatus(third)) === 'assigned', 20_000);
    expect(await outbox('driver', 'DriverAssigned')).toBe(3);
    expect(await outbox('driver', 'RideCancelled')).toBe(0);
  });

  it('cancels a ride still waiting after the match timeout with exactly one RideCancelled (system), which takes it off the Driver service\'s list', async () => {
    const driver = await started(createDriverService(options('driver'))); // no drivers at all
    const { ride, url } = await startRide(300); // the sweeper runs every 75 ms
    await startRouter();

    expect((await post(`${url}/rides`, { rider_id: 'rider-1', pickup: BERLIN, dropoff: BERLIN, ride_id: 'ride-alone' })).status).toBe(201);
    await waitFor(async () => (await rideStatus('ride-alone')) === 'cancelled', 20_000);
    // The Driver service sees RideRequested and RideCancelled (either order) and writes nothing.
    await waitFor(() => driver.consumer.stats().handled === 2, 20_000);
    expect(await dbs.driver.rows('SELECT status FROM assignments')).toEqual([{ status: expect.stringMatching(/^(withdrawn|cancelled)$/) }]);
    expect(await ride.sweep()).toBe(0); // a later sweep finds nothing more to cancel
    const cancels = await dbs.ride.rows("SELECT payload FROM outbox WHERE event_type = 'RideCancelled' AND aggregate_id = 'ride-alone'");
    expect(cancels.map((c) => JSON.parse(c['payload'] as string))).toEqual([{ cancelled_by: 'system', reason: 'no driver available' }]);

    // A driver added afterwards is not given the cancelled ride.
    await addDrivers(dbs.driver, [NEAR]);
    expect(await driverStatus(NEAR.id)).toMatchObject({ status: 'available', ride_id: null });
    expect(await dbs.driver.count('outbox')).toBe(0);
  });

  it('writes exactly one RideCancelled per ride when riders cancel while the match-timeout sweep cancels (2 × 20 rides, fired together)', async () => {
    const RIDES = 20;
    // No sweeper of its own: the rides below are past the timeout, and only the test's sweep may cancel them.
    const { ride, url } = await startRide(3_600_000, 0);

    /** RIDES rides past the match timeout, then one sweep and the riders' cancels at once; both lock each ride, one wins it. */
    const race = async (prefix: string, riders: (cancels: Array<() => Promise<Answer>>) => Promise<Answer[]>) => {
      const ids = Array.from({ length: RIDES }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);
      for (const id of ids) expect((await post(`${url}/rides`, { rider_id: 'rider-1', pickup: BERLIN, dropoff: BERLIN, ride_id: id })).status).toBe(201);
      // The test plays the clock: these rides are past the match timeout now.
      await dbs.ride.db.execute('UPDATE rides SET requested_at = requested_at - INTERVAL 2 HOUR WHERE id LIKE ?', [`${prefix}-%`]);
      const [swept, answers] = await Promise.all([ride.sweep(), riders(ids.map((id, i) => () => post(`${url}/rides/${id}/cancel`, { cancelled_by: 'rider', reason: `race ${i}` })))]);
      const riderWon = answers.filter((a) => a.status === 200).length;
      expect(swept + riderWon).toBe(RIDES);
      // A rider who lost got a 409 because the sweep had cancelled the ride, never a failed write.
      for (const [i, a] of answers.entries()) if (a.status !== 200) expect(a).toMatchObject({ status: 409, body: { error: `ride ${ids[i]} is cancelled, not requested or assigned` } });

      expect(await dbs.ride.count("rides WHERE id LIKE ? AND status = 'cancelled'", [`${prefix}-%`])).toBe(RIDES);
      const perRide = await dbs.ride.rows("SELECT aggregate_id, count(*) AS n FROM outbox WHERE event_type = 'RideCancelled' AND aggregate_id LIKE ? GROUP BY aggregate_id ORDER BY aggregate_id", [`${prefix}-%`]);
      expect(perRide.map((r) => [r['aggregate_id'], Number(r['n'])])).toEqual(ids.map((id) => [id, 1])); // exactly one each
      const byWhom = await dbs.ride.rows("SELECT JSON_UNQUOTE(JSON_EXTRACT(payload, '$.cancelled_by')) AS who, count(*) AS n FROM outbox WHERE event_type = 'RideCancelled' AND aggregate_id LIKE ? GROUP BY who", [`${prefix}-%`]);
      expect(Object.fromEntries(byWhom.map((r) => [r['who'], Number(r['n'])]))).toEqual({ ...(riderWon > 0 ? { rider: riderWon } : {}), ...(swept > 0 ? { system: swept } : {}) });
      return { swept, riderWon };
    };

    // Every rider at once: they contend with the sweep's first ride, and the sweep's other candidates
    // (read before the riders cancelled them) must be refused by the locked status check.
    await race('ride-all', (cancels) => Promise.all(cancels.map((c) => c())));
    // Riders one after another from the newest ride while the sweep goes from the oldest: they meet
    // in the middle, so each side wins some and both try the same ride there.
    const met = await race('ride-met', async (cancels) => {
      const out: Answer[] = [];
      for (const c of [...cancels].reverse()) out.unshift(await c());
      return out;
    });
    expect(met.swept).toBeGreaterThan(0);
    expect(met.riderWon).toBeGreaterThan(0);
  });

  it('frees the driver whichever the Driver service handles first, the RideCancelled or its own assignment; the Ride service keeps a cancelled ride cancelled when the DriverAssigned comes late', async () => {
    await addDrivers(dbs.driver, [NEAR]);
    const driver = await started(createDriverService(options('driver')));
    const handled = (n: number) => waitFor(() => driver.consumer.stats().handled === n, 15_000);
    const cancelled = (id: string) => outboxRow('RideCancelled', id, { cancelled_by: 'rider', reason: 'changed my mind' });

    // The cancel before the request (the Ride service cancelled before this service saw the request): nobody is assigned.
    await kafka.produceRows([cancelled('ride-early')]);
    await handled(1);
    await kafka.produceRows([rideRequested('ride-early')]);
    await handled(2);
    expect(await driverStatus(NEAR.id)).toMatchObject({ status: 'available', ride_id: null });

    // Assigned at the request, the cancel after: the cancel frees the driver.
    await kafka.produceRows([rideRequested('ride-late')]);
    await handled(3);
    expect(await driverStatus(NEAR.id)).toMatchObject({ status: 'busy', ride_id: 'ride-late' });
    await kafka.produceRows([cancelled('ride-late')]);
    await handled(4);
    expect(await driverStatus(NEAR.id)).toMatchObject({ status: 'available', ride_id: null });

    // A waiting ride assigned when the driver is freed, then cancelled (the rider cancelled while it was being assigned): freed again.
    await kafka.produceRows([rideRequested('ride-busy')]);
    await handled(5);
    await kafka.produceRows([rideRequested('ride-waiting')]);
    await handled(6);
    await kafka.produceRows([outboxRow('RideCompleted', 'ride-busy', { driver_id: NEAR.id, distance_km: '1.00' })]);
    await handled(7);
    expect(await driverStatus(NEAR.id)).toMatchObject({ status: 'busy', ride_id: 'ride-waiting' });
    await kafka.produceRows([cancelled('ride-waiting')]);
    await handled(8);
    expect(await driverStatus(NEAR.id)).toMatchObject({ status: 'available', ride_id: null });

    expect(await dbs.driver.rows('SELECT ride_id, status FROM assignments ORDER BY ride_id')).toEqual([
      { ride_id: 'ride-busy', status: 'released' }, { ride_id: 'ride-early', status: 'cancelled' },
      { ride_id: 'ride-late', status: 'released' }, { ride_id: 'ride-waiting', status: 'released' },
    ]);
    expect((await dbs.driver.rows("SELECT aggregate_id FROM outbox WHERE event_type = 'DriverAssigned' ORDER BY aggregate_id")).map((r) => r['aggregate_id']))
      .toEqual(['ride-busy', 'ride-late', 'ride-waiting']); // one each, none for the ride cancelled first
    expect(await dbs.driver.count('outbox')).toBe(3);
    expect(driver.consumer.stats().deadLettered).toBe(0);

    // The Ride service (no router here: the test delivers): a DriverAssigned for a ride the rider cancelled leaves it cancelled.
    const { ride, url } = await startRide();
    expect((await post(`${url}/rides`, { rider_id: 'rider-1', pickup: BERLIN, dropoff: BERLIN, ride_id: 'ride-gone' })).status).toBe(201);
    expect((await post(`${url}/rides/ride-gone/cancel`, { cancelled_by: 'rider', reason: 'found a bike' })).status).toBe(200);
    await kafka.produceRows([outboxRow('DriverAssigned', 'ride-gone', { driver_id: NEAR.id, eta_seconds: 60 })]);
    await waitFor(() => ride.consumer.stats().handled === 1, 15_000);
    expect(await (await fetch(`${url}/rides/ride-gone`)).json()).toEqual({ id: 'ride-gone', rider_id: 'rider-1', status: 'cancelled', driver_id: null });
    expect(await dbs.ride.count('outbox')).toBe(2); // RideRequested, RideCancelled
  });

  it('takes a cancelled ride off the waiting list, so a driver freed later does not get it, and frees the driver of a cancelled assignment', async () => {
    await addDrivers(dbs.driver, [NEAR]);
    await started(createDriverService(options('driver')));
    const { url } = await startRide();
    await startRouter();

    const first = (await post(`${url}/rides`, { rider_id: 'rider-1', pickup: BERLIN, dropoff: BERLIN, ride_id: 'ride-first' })).body['ride_id'] as string;
    await waitFor(async () => (await rideStatus(first)) === 'assigned', 20_000);
    const second = (await post(`${url}/rides`, { rider_id: 'rider-2', pickup: BERLIN, dropoff: BERLIN, ride_id: 'ride-second' })).body['ride_id'] as string;
    await waitFor(async () => (await dbs.driver.count("assignments WHERE ride_id = ? AND status = 'waiting'", [second])) === 1, 20_000);
    expect((await post(`${url}/rides/${second}/cancel`, { cancelled_by: 'rider', reason: 'too slow' })).status).toBe(200);
    await waitFor(async () => (await dbs.driver.count("assignments WHERE ride_id = ? AND status = 'withdrawn'", [second])) === 1, 20_000);

    expect((await post(`${url}/rides/${first}/cancel`, { cancelled_by: 'rider', reason: 'changed my mind' })).status).toBe(200);
    await waitFor(async () => (await driverStatus(NEAR.id))?.['status'] === 'available', 20_000);
    expect(await dbs.driver.rows('SELECT ride_id, status FROM assignments ORDER BY ride_id')).toEqual([
      { ride_id: 'ride-first', status: 'released' }, { ride_id: 'ride-second', status: 'withdrawn' },
    ]);
    expect(await outbox('driver', 'DriverAssigned')).toBe(1);
  });

  it('answers HTTP errors without writing anything: 400 on a contract violation, 404, 409', async () => {
    const { url } = await startRide();
    const bad = await post(`${url}/rides`, { rider_id: 'rider-1', pickup: { lat: 91, lng: 0 }, dropoff: BERLIN });
    expect(bad).toMatchObject({ status: 400, body: { path: 'payload.pickup' } });
    expect((await post(`${url}/rides/nope/start`)).status).toBe(404);
    const id = (await post(`${url}/rides`, { rider_id: 'rider-1', pickup: BERLIN, dropoff: BERLIN })).body['ride_id'] as string;
    expect((await post(`${url}/rides/${id}/complete`, { distance_km: '1.00' })).status).toBe(409);
    expect((await post(`${url}/rides`, { rider_id: 'rider-1', pickup: BERLIN, dropoff: BERLIN, ride_id: id })).status).toBe(409);
    expect((await post(`${url}/rides/${id}/cancel`, { cancelled_by: 'nobody', reason: 'x' })).status).toBe(400);
    expect(await dbs.ride.count('rides')).toBe(1);
    expect(await dbs.ride.count('outbox')).toBe(1);
  });
});
