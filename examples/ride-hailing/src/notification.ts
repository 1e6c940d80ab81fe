/**
 * Notification service: records in `notifications` what the rider would be told for each event of
 * their ride (a real one would push or text). It learns the rider from RideRequested; an event that
 * overtakes its RideRequested (another topic, docs/CONSUMERS.md,
 * "Offsets, ordering, groups") is recorded without a rider,
 * filled in when the request arrives. It emits no events.
 */
import type { RowDataPacket } from 'mysql2/promise';
import type { EventType } from 'wavegate/outbox';
import type { AnyConsumedEvent, ConsumedEvent, TransactionExecutor } from 'wavegate/consumer';
import { consumerService, migrateCommon, runStatements, serviceConsumer, type Service, type ServiceOptions } from './service';

/** The Notification service's own tables. */
export const NOTIFICATION_TABLES = [
  `CREATE TABLE IF NOT EXISTS rider_rides (
    ride_id  VARCHAR(64) NOT NULL PRIMARY KEY,
    rider_id VARCHAR(64) NOT NULL
  ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS notifications (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    event_id   VARCHAR(64)  NOT NULL UNIQUE,
    ride_id    VARCHAR(64)  NOT NULL,
    rider_id   VARCHAR(64)  NULL,
    kind       VARCHAR(32)  NOT NULL,
    message    VARCHAR(500) NOT NULL,
    created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    KEY notifications_ride_idx (ride_id)
  ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`,
];

/** Creates the outbox, processed_events, `rider_rides` and `notifications`. */
export async function migrateNotification(o: Pick<ServiceOptions, 'db'>): Promise<void> {
  await migrateCommon(o.db);
  await runStatements(o.db, NOTIFICATION_TABLES);
}

/** The text the rider gets for each event (TripRated: none). */
export function messageFor(event: ConsumedEvent): string | undefined {
  const e = event as AnyConsumedEvent;
  switch (e.type) {
    case 'RideRequested':
      return 'We are looking for a driver near you.';
    case 'DriverAssigned':
      return `Driver ${e.payload.driver_id} is on the way, about ${Math.max(1, Math.round(e.payload.eta_seconds / 60))} min.`;
    case 'FareCalculated':
      return `Fare for ${e.payload.distance_km} km: ${e.payload.amount} ${e.payload.currency}.`;
    case 'RideStarted':
      return 'Your ride has started. Enjoy the trip!';
    case 'RideCompleted':
      return `You have arrived after ${e.payload.distance_km} km.`;
    case 'RideCancelled':
      return e.payload.cancelled_by === 'system' ? `Sorry, ${e.payload.reason}. Your ride was cancelled.` : `Your ride was cancelled by the ${e.payload.cancelled_by}.`;
    case 'PaymentCaptured':
      return `We charged ${e.payload.amount} ${e.payload.currency} (payment ${e.payload.payment_id}).`;
    case 'TripRated':
      return undefined;
  }
}

async function record(tx: TransactionExecutor, event: ConsumedEvent): Promise<void> {
  const message = messageFor(event);
  if (message === undefined) return;
  const [rows] = await tx.execute<RowDataPacket[]>('SELECT rider_id FROM rider_rides WHERE ride_id = ?', [event.aggregateId]);
  await tx.execute('INSERT INTO notifications (event_id, ride_id, rider_id, kind, message) VALUES (?, ?, ?, ?, ?)',
    [event.id, event.aggregateId, (rows[0]?.['rider_id'] as string | undefined) ?? null, event.type, message]);
}

/** The event types the service tells riders about. */
export const NOTIFIED: readonly EventType[] = ['RideRequested', 'DriverAssigned', 'FareCalculated', 'RideStarted', 'RideCompleted', 'RideCancelled', 'PaymentCaptured'];

/** Builds the Notification service. */
export function createNotificationService(o: ServiceOptions): Service {
  const consumer = serviceConsumer('notification', o);
  for (const type of NOTIFIED) {
    consumer.onEvent(type, async ({ event, tx }) => {
      const e = event as AnyConsumedEvent;
      if (e.type === 'RideRequested') {
        const rider = e.payload.rider_id;
        await tx.execute('INSERT IGNORE INTO rider_rides (ride_id, rider_id) VALUES (?, ?)', [event.aggregateId, rider]);
        // Fill in notifications that overtook the request. A plain read, then updates by primary key:
        // a locking range scan would take gap locks that deadlock concurrent partitions' inserts.
        const [early] = await tx.execute<RowDataPacket[]>('SELECT id FROM notifications WHERE ride_id = ? AND rider_id IS NULL', [event.aggregateId]);
        for (const n of early) await tx.execute('UPDATE notifications SET rider_id = ? WHERE id = ?', [rider, n['id']]);
      }
      await record(tx, event);
    });
  }
  return consumerService('notification', consumer);
}
