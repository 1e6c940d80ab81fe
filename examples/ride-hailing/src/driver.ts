/**
 * Driver service. On RideRequested it assigns the nearest available driver from its `drivers`
 * table, marks them busy and emits DriverAssigned (or, with nobody free, RideCancelled by `system`,
 * "no driver available"). On RideCompleted / RideCancelled it frees the driver (after a completed
 * ride, at the drop-off point).
 *
 * Events of different types come from different topics, so their order across types is not
 * guaranteed (docs/CONSUMERS.md §6): a RideCancelled can arrive before its RideRequested. The
 * `assignments` row per ride records what happened, so a late RideRequested for a cancelled ride
 * assigns nobody.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { retriableError, type TransactionExecutor } from '../../../src/consumer';
import type { GeoPoint } from '../../../src/outbox/events';
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
  // status: assigned | released (ride over, driver freed) | unassigned (nobody free) | cancelled (cancel seen first)
  `CREATE TABLE IF NOT EXISTS assignments (
    ride_id     VARCHAR(64) NOT NULL PRIMARY KEY,
    driver_id   VARCHAR(64) NULL,
    status      VARCHAR(16) NOT NULL,
    dropoff_lat DOUBLE NULL,
    dropoff_lng DOUBLE NULL,
    eta_seconds INT NULL
  ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`,
];

/** Average pickup speed for the ETA, km/h. */
export const PICKUP_SPEED_KMH = 30;
/** How many drivers to try when the nearest ones are taken by concurrent assignments. */
const PICK_TRIES = 5;

/** Creates the outbox, processed_events, `drivers` and `assignments`. */
export async function migrateDriver(o: Pick<ServiceOptions, 'db'>): Promise<void> {
  await migrateCommon(o.db);
  await runStatements(o.db, DRIVER_TABLES);
}

/** Adds drivers (available). */
export async function addDrivers(o: Pick<ServiceOptions, 'db'>, drivers: ReadonlyArray<{ id: string } & GeoPoint>): Promise<void> {
  for (const d of drivers) await o.db.execute('INSERT INTO drivers (id, lat, lng) VALUES (?, ?, ?)', [d.id, d.lat, d.lng]);
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

/** Builds the Driver service. */
export function createDriverService(o: ServiceOptions): Service {
  const consumer = serviceConsumer('driver', o)
    .onEvent('RideRequested', async ({ event, tx, emit }) => {
      // The row exists already only when the cancellation overtook the request: assign nobody.
      if (!(await createAssignment(tx, event.aggregateId, 'unassigned'))) return;
      const { pickup, dropoff } = event.payload;
      const driver = await claimNearest(tx, event.aggregateId, pickup);
      if (driver === undefined) {
        await emit({ type: 'RideCancelled', payload: { cancelled_by: 'system', reason: 'no driver available' } });
        return;
      }
      const eta = etaSeconds(driver.km);
      await tx.execute("UPDATE assignments SET driver_id = ?, status = 'assigned', dropoff_lat = ?, dropoff_lng = ?, eta_seconds = ? WHERE ride_id = ?",
        [driver.id, dropoff.lat, dropoff.lng, eta, event.aggregateId]);
      await emit({ type: 'DriverAssigned', payload: { driver_id: driver.id, eta_seconds: eta } });
    })
    .onEvent('RideCompleted', async ({ event, tx }) => {
      // Completion follows assignment causally (the Ride service needs DriverAssigned to start), so the row exists.
      const a = await lockAssignment(tx, event.aggregateId);
      if (a === undefined || a['status'] !== 'assigned') return;
      await tx.execute("UPDATE drivers SET status = 'available', ride_id = NULL, lat = COALESCE(?, lat), lng = COALESCE(?, lng) WHERE id = ? AND ride_id = ?",
        [a['dropoff_lat'], a['dropoff_lng'], a['driver_id'], event.aggregateId]);
      await tx.execute("UPDATE assignments SET status = 'released' WHERE ride_id = ?", [event.aggregateId]);
    })
    .onEvent('RideCancelled', async ({ event, tx }) => {
      if (await createAssignment(tx, event.aggregateId, 'cancelled')) return; // before the request: it will assign nobody
      const a = await lockAssignment(tx, event.aggregateId);
      if (a === undefined || a['status'] !== 'assigned') return;
      await tx.execute("UPDATE drivers SET status = 'available', ride_id = NULL WHERE id = ? AND ride_id = ?", [a['driver_id'], event.aggregateId]);
      await tx.execute("UPDATE assignments SET status = 'released' WHERE ride_id = ?", [event.aggregateId]);
    });
  return consumerService('driver', consumer);
}
