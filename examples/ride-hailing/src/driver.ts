/**
 * Driver service. On RideRequested it assigns the nearest available driver from its `drivers`
 * table, marks them busy and emits DriverAssigned. With nobody free the ride **waits** (its
 * assignment row is `waiting`; nothing is emitted) and gets the next driver that becomes free: on
 * RideCompleted / RideCancelled (which free the ride's driver, after a completed ride at the
 * drop-off point) and when drivers are added, the oldest waiting ride is assigned in the same
 * transaction. RideCancelled also takes a ride off the waiting list.
 *
 * This service never cancels a ride: only the Ride service writes RideCancelled (a rider's or
 * driver's cancel, or `system` after its match timeout), under the ride's row lock, so a ride has
 * at most one RideCancelled (docs/EVENTS.md). Two writers could race: a rider cancelling while
 * this service gave up would write two.
 *
 * Events of different types come from different topics, so their order across types is not
 * guaranteed (docs/CONSUMERS.md, "Offsets, ordering, groups"): a RideCancelled can arrive before
 * its RideRequested. The `assignments` row per ride records what happened, so a late RideRequested
 * for a cancelled ride assigns nobody.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { retriableError, type TransactionExecutor } from 'wavegate/consumer';
import { inTransaction, mysqlOutbox, type GeoPoint, type OutboxEvent } from 'wavegate/outbox';
import { consumerService, haversineKm, migrateCommon, runStatements, serviceConsumer, type Service, type ServiceOptions } from './service';

/** The Driver service's own tables. */
export const DRIVER_TABLES = [
  `CREATE TABLE IF NOT EXISTS drivers (
    id         VARCHAR(64) NOT NULL PRIMARY KEY,
    lat        DOUBLE      NOT NULL,
    lng        DOUBLE      NOT NULL,
    status     VARCHAR(16) NOT NULL DEFAULT 'available',
    ride_id    VARCHAR(64) NULL,
    KEY drivers_status_idx (status)
  ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`,
  // status: assigned | released (ride over, driver freed) | waiting (nobody free yet) | withdrawn
  // (cancelled while waiting) | cancelled (cancel seen before the request)
  `CREATE TABLE IF NOT EXISTS assignments (
    ride_id       VARCHAR(64)  NOT NULL PRIMARY KEY,
    driver_id     VARCHAR(64)  NULL,
    status        VARCHAR(16)  NOT NULL,
    pickup_lat    DOUBLE NULL,
    pickup_lng    DOUBLE NULL,
    dropoff_lat   DOUBLE NULL,
    dropoff_lng   DOUBLE NULL,
    eta_seconds   INT NULL,
    waiting_since TIMESTAMP(6) NULL,
    KEY assignments_waiting_idx (status, waiting_since)
  ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`,
];

/** Average pickup speed for the ETA, km/h. */
export const PICKUP_SPEED_KMH = 30;
/** How many drivers to try when the nearest ones are taken by concurrent assignments. */
const PICK_TRIES = 5;

/** Creates the outbox, processed_events, `drivers` and `assignments` (which holds the waiting list). */
export async function migrateDriver(o: Pick<ServiceOptions, 'db'>): Promise<void> {
  await migrateCommon(o.db);
  await runStatements(o.db, DRIVER_TABLES);
}

/**
 * Adds drivers (available). Each new driver takes the oldest waiting ride, if any, in the same
 * transaction as its row (DriverAssigned written to this service's outbox).
 */
export async function addDrivers(o: Pick<ServiceOptions, 'db'>, drivers: ReadonlyArray<{ id: string } & GeoPoint>): Promise<void> {
  for (const d of drivers) {
    await inTransaction(o.db, async (conn) => {
      await conn.execute('INSERT INTO drivers (id, lat, lng) VALUES (?, ?, ?)', [d.id, d.lat, d.lng]);
      await assignWaiting(conn, d.id, (e) => mysqlOutbox.writeEvent(conn, e));
    });
  }
}

/** Whole seconds to drive `km` at {@link PICKUP_SPEED_KMH}, within the contract's 0–86400. */
export function etaSeconds(km: number): number {
  return Math.min(86_400, Math.max(0, Math.round((km / PICKUP_SPEED_KMH) * 3600)));
}

/**
 * The ride's assignment row, locked. Only called when the row exists: a locking read of a missing
 * key would take a gap lock, and gap locks of concurrent partitions deadlock their inserts.
 */
async function lockAssignment(tx: TransactionExecutor, rideId: string): Promise<RowDataPacket | undefined> {
  const [rows] = await tx.execute<RowDataPacket[]>('SELECT driver_id, status, dropoff_lat, dropoff_lng FROM assignments WHERE ride_id = ? FOR UPDATE', [rideId]);
  return rows[0];
}

/** Inserts the ride's assignment row with `status` unless it exists; true when this call created it. */
async function createAssignment(tx: TransactionExecutor, rideId: string, status: string): Promise<boolean> {
  const [res] = await tx.execute('INSERT IGNORE INTO assignments (ride_id, status) VALUES (?, ?)', [rideId, status]);
  return (res as { affectedRows: number }).affectedRows === 1;
}

/**
 * The nearest available driver, claimed: a plain read picks the candidate, a conditional UPDATE
 * claims it (0 rows = a concurrent assignment took it: try the next one). No range locks.
 */
async function claimNearest(tx: TransactionExecutor, rideId: string, at: GeoPoint): Promise<{ id: string; km: number } | undefined> {
  const tried: string[] = [];
  for (let i = 0; i < PICK_TRIES; i++) {
    const exclude = tried.length === 0 ? '' : ` AND id NOT IN (${tried.map(() => '?').join(', ')})`;
    // Equirectangular distance is enough to rank drivers in one city.
    const [rows] = await tx.execute<RowDataPacket[]>(
      `SELECT id, lat, lng FROM drivers WHERE status = 'available'${exclude}
       ORDER BY POW(lat - ?, 2) + POW((lng - ?) * COS(RADIANS(?)), 2), id LIMIT 1`,
      [...tried, at.lat, at.lng, at.lat]);
    const d = rows[0];
    if (d === undefined) return undefined;
    const [res] = await tx.execute("UPDATE drivers SET status = 'busy', ride_id = ? WHERE id = ? AND status = 'available'", [rideId, d['id']]);
    if ((res as { affectedRows: number }).affectedRows === 1) return { id: d['id'] as string, km: haversineKm(at, { lat: d['lat'] as number, lng: d['lng'] as number }) };
    tried.push(d['id'] as string);
  }
  throw retriableError(`the ${PICK_TRIES} nearest drivers were taken by concurrent assignments`);
}

/** Writes an event to this service's outbox in the caller's transaction. */
type Emit = (event: OutboxEvent) => Promise<unknown>;

/** Records `driverId` on `rideId`'s assignment row and emits DriverAssigned for that ride. */
async function assign(tx: TransactionExecutor, emit: Emit, rideId: string, driverId: string, km: number): Promise<void> {
  const eta = etaSeconds(km);
  await tx.execute("UPDATE assignments SET driver_id = ?, status = 'assigned', eta_seconds = ?, waiting_since = NULL WHERE ride_id = ?", [driverId, eta, rideId]);
  await emit({ type: 'DriverAssigned', aggregateId: rideId, payload: { driver_id: driverId, eta_seconds: eta } });
}

/**
 * Gives the just-freed (or new) available driver `driverId` the oldest waiting ride, if any. A plain
 * read picks the ride; conditional UPDATEs claim the ride and then the driver (0 rows: another
 * transaction won; try the next ride, or stop if the driver was taken). No locking range scans.
 */
async function assignWaiting(tx: TransactionExecutor, driverId: string, emit: Emit): Promise<void> {
  const tried: string[] = [];
  for (let i = 0; i < PICK_TRIES; i++) {
    const exclude = tried.length === 0 ? '' : ` AND ride_id NOT IN (${tried.map(() => '?').join(', ')})`;
    const [rows] = await tx.execute<RowDataPacket[]>(
      `SELECT ride_id, pickup_lat, pickup_lng FROM assignments WHERE status = 'waiting'${exclude} ORDER BY waiting_since, ride_id LIMIT 1`, tried);
    const ride = rows[0];
    if (ride === undefined) return;
    const rideId = ride['ride_id'] as string;
    const [won] = await tx.execute("UPDATE assignments SET status = 'claimed' WHERE ride_id = ? AND status = 'waiting'", [rideId]);
    if ((won as { affectedRows: number }).affectedRows !== 1) {
      tried.push(rideId);
      continue;
    }
    const [claimed] = await tx.execute("UPDATE drivers SET status = 'busy', ride_id = ? WHERE id = ? AND status = 'available'", [rideId, driverId]);
    if ((claimed as { affectedRows: number }).affectedRows !== 1) {
      // The driver went to another ride meanwhile: this ride keeps waiting.
      await tx.execute("UPDATE assignments SET status = 'waiting' WHERE ride_id = ?", [rideId]);
      return;
    }
    const [d] = await tx.execute<RowDataPacket[]>('SELECT lat, lng FROM drivers WHERE id = ?', [driverId]);
    const at = d[0] === undefined ? undefined : { lat: d[0]['lat'] as number, lng: d[0]['lng'] as number };
    const km = at === undefined ? 0 : haversineKm(at, { lat: ride['pickup_lat'] as number, lng: ride['pickup_lng'] as number });
    await assign(tx, emit, rideId, driverId, km);
    return;
  }
}

/** Builds the Driver service. */
export function createDriverService(o: ServiceOptions): Service {
  const consumer = serviceConsumer('driver', o)
    .onEvent('RideRequested', async ({ event, tx, emit }) => {
      // The row exists already only when the cancellation overtook the request: assign nobody.
      if (!(await createAssignment(tx, event.aggregateId, 'waiting'))) return;
      const { pickup, dropoff } = event.payload;
      await tx.execute('UPDATE assignments SET pickup_lat = ?, pickup_lng = ?, dropoff_lat = ?, dropoff_lng = ?, waiting_since = ? WHERE ride_id = ?',
        [pickup.lat, pickup.lng, dropoff.lat, dropoff.lng, event.occurredAt.toISOString().slice(0, 23).replace('T', ' '), event.aggregateId]);
      const driver = await claimNearest(tx, event.aggregateId, pickup);
      // Nobody free: the ride waits for the next driver to be freed (assignWaiting).
      if (driver !== undefined) await assign(tx, emit, event.aggregateId, driver.id, driver.km);
    })
    .onEvent('RideCompleted', async ({ event, tx, emit }) => {
      // Completion follows assignment causally (the Ride service needs DriverAssigned to start), so the row exists.
      const a = await lockAssignment(tx, event.aggregateId);
      if (a === undefined || a['status'] !== 'assigned') return;
      await tx.execute("UPDATE drivers SET status = 'available', ride_id = NULL, lat = COALESCE(?, lat), lng = COALESCE(?, lng) WHERE id = ? AND ride_id = ?",
        [a['dropoff_lat'], a['dropoff_lng'], a['driver_id'], event.aggregateId]);
      await tx.execute("UPDATE assignments SET status = 'released' WHERE ride_id = ?", [event.aggregateId]);
      await assignWaiting(tx, a['driver_id'] as string, emit);
    })
    .onEvent('RideCancelled', async ({ event, tx, emit }) => {
      if (await createAssignment(tx, event.aggregateId, 'cancelled')) return; // before the request: it will assign nobody
      const a = await lockAssignment(tx, event.aggregateId);
      if (a?.['status'] === 'waiting') {
        await tx.execute("UPDATE assignments SET status = 'withdrawn', waiting_since = NULL WHERE ride_id = ?", [event.aggregateId]);
        return;
      }
      if (a === undefined || a['status'] !== 'assigned') return;
      await tx.execute("UPDATE drivers SET status = 'available', ride_id = NULL WHERE id = ? AND ride_id = ?", [a['driver_id'], event.aggregateId]);
      await tx.execute("UPDATE assignments SET status = 'released' WHERE ride_id = ?", [event.aggregateId]);
      await assignWaiting(tx, a['driver_id'] as string, emit);
    });
  return consumerService('driver', consumer);
}
