/**
 * Payment service. On RideRequested it quotes the fare from the straight-line distance (times a
 * route factor) and emits FareCalculated, once per ride as the contract says (docs/EVENTS.md: its
 * distance_km is the estimated route length). On RideCompleted it computes the final fare from the
 * distance driven and captures it (PaymentCaptured carries the amount charged). So the views show
 * the quote as the trip's fare and the charge as its paid amount. Money is computed in whole cents
 * and sent as decimal strings.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { consumerService, fromHundredths, haversineKm, migrateCommon, runStatements, serviceConsumer, toHundredths, type Service, type ServiceOptions } from './service';

/** The Payment service's own tables. */
export const PAYMENT_TABLES = [
  `CREATE TABLE IF NOT EXISTS fares (
    ride_id          VARCHAR(64)   NOT NULL PRIMARY KEY,
    currency         CHAR(3)       NOT NULL,
    estimate_amount  DECIMAL(16,2) NULL,
    estimate_km      DECIMAL(16,2) NULL,
    final_amount     DECIMAL(16,2) NULL,
    final_km         DECIMAL(16,2) NULL
  ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS payments (
    id          VARCHAR(64)   NOT NULL PRIMARY KEY,
    ride_id     VARCHAR(64)   NOT NULL UNIQUE,
    amount      DECIMAL(16,2) NOT NULL,
    currency    CHAR(3)       NOT NULL,
    captured_at TIMESTAMP(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
  ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`,
];

/** The tariff: base fare plus a price per km, in cents; roads are ~30% longer than the crow flies. */
export const TARIFF = { currency: 'EUR', baseCents: 250, centsPerKm: 120, routeFactor: 1.3 } as const;

/** Creates the outbox, processed_events, `fares` and `payments`. */
export async function migratePayment(o: Pick<ServiceOptions, 'db'>): Promise<void> {
  await migrateCommon(o.db);
  await runStatements(o.db, PAYMENT_TABLES);
}

/** The fare for `km` (a decimal string) as a decimal string. */
export function fareFor(km: string): string {
  return fromHundredths(TARIFF.baseCents + (TARIFF.centsPerKm * toHundredths(km)) / 100);
}

/** Builds the Payment service. */
export function createPaymentService(o: ServiceOptions): Service {
  const consumer = serviceConsumer('payment', o)
    .onEvent('RideRequested', async ({ event, tx, emit }) => {
      const km = fromHundredths(haversineKm(event.payload.pickup, event.payload.dropoff) * TARIFF.routeFactor * 100);
      const amount = fareFor(km);
      await tx.execute(
        'INSERT INTO fares (ride_id, currency, estimate_amount, estimate_km) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE estimate_amount = VALUES(estimate_amount), estimate_km = VALUES(estimate_km)',
        [event.aggregateId, TARIFF.currency, amount, km]);
      await emit({ type: 'FareCalculated', payload: { amount, currency: TARIFF.currency, distance_km: km } });
    })
    .onEvent('RideCompleted', async ({ event, tx, emit }) => {
      const km = fromHundredths(toHundredths(event.payload.distance_km));
      const amount = fareFor(km);
      await tx.execute(
        'INSERT INTO fares (ride_id, currency, final_amount, final_km) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE final_amount = VALUES(final_amount), final_km = VALUES(final_km)',
        [event.aggregateId, TARIFF.currency, amount, km]);
      const [paid] = await tx.execute<RowDataPacket[]>('SELECT id FROM payments WHERE ride_id = ?', [event.aggregateId]);
      if (paid.length > 0) return; // one capture per ride, whatever arrives twice
      // A real service would call its payment provider here, with the event id as idempotency key.
      const paymentId = `pay-${event.id}`;
      await tx.execute('INSERT INTO payments (id, ride_id, amount, currency) VALUES (?, ?, ?, ?)', [paymentId, event.aggregateId, amount, TARIFF.currency]);
      await emit({ type: 'PaymentCaptured', payload: { amount, currency: TARIFF.currency, payment_id: paymentId } });
    });
  return consumerService('payment', consumer);
}
