/**
 * What the four example services share: options, the consumer they build, the tables every service
 * database has (outbox + processed_events) and money/geo arithmetic.
 */
import type { Pool } from 'mysql2/promise';
import { createEventConsumer, migrateProcessedEvents, type EventConsumer, type EventConsumerOptions, type Logger } from 'wavegate/consumer';
import { sourceMigrations, type GeoPoint } from 'wavegate/outbox';

/** The example's service names (also their consumer groups and `dlq.<name>` topics). */
export const SERVICE_NAMES = ['ride', 'driver', 'payment', 'notification'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Options every service takes. */
export interface ServiceOptions {
  /** The service's own database (createMysqlPool: UTC sessions). */
  db: Pool;
  brokers: readonly string[];
  log: Logger;
  /**
   * Consumer settings (topicPrefix, groupId, deadLetterTopic, timeouts…). Defaults: retry
   * {retries 5, 300 ms → 30 s}, maxAttempts 5, group and dead-letter topic named after the service.
   */
  consumer?: Partial<Omit<EventConsumerOptions, 'service' | 'brokers' | 'db' | 'log'>>;
}

/** A running service: its consumer and how to stop it. */
export interface Service {
  readonly name: ServiceName;
  readonly consumer: EventConsumer;
  start(): Promise<void>;
  /** Stops consuming (waits for the event in flight). Does not end the pool. */
  stop(): Promise<void>;
}

/** The consumer of `service` with the example's defaults. */
export function serviceConsumer(service: ServiceName, o: ServiceOptions): EventConsumer {
  return createEventConsumer({
    service,
    brokers: o.brokers,
    db: o.db,
    log: o.log,
    retry: { retries: 5, initialMs: 300, maxMs: 30_000 },
    maxAttempts: 5,
    ...o.consumer,
  });
}

/** A {@link Service} around a consumer whose handlers are registered. */
export function consumerService(name: ServiceName, consumer: EventConsumer): Service {
  return { name, consumer, start: () => consumer.start(), stop: () => consumer.stop() };
}

/** The tables every service database has: the outbox (migrations/source/mysql) and processed_events. */
export async function migrateCommon(db: Pick<Pool, 'query'>): Promise<void> {
  for (const m of sourceMigrations('mysql')) for (const s of m.statements) await db.query(s);
  await migrateProcessedEvents(db);
}

/** Runs each statement (idempotent CREATE TABLE IF NOT EXISTS …). */
export async function runStatements(db: Pick<Pool, 'query'>, statements: readonly string[]): Promise<void> {
  for (const s of statements) await db.query(s);
}

/** Great-circle distance in km. */
export function haversineKm(a: GeoPoint, b: GeoPoint): number {
  const rad = (d: number) => (d * Math.PI) / 180;
  const dLat = rad(b.lat - a.lat);
  const dLng = rad(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** A decimal string (events.ts DECIMAL rule) → whole hundredths, exactly (no float). */
export function toHundredths(decimal: string): number {
  const [int = '0', frac = ''] = decimal.split('.');
  return Number(int) * 100 + Number(frac.padEnd(2, '0').slice(0, 2)) + (Number(frac[2] ?? '0') >= 5 ? 1 : 0);
}

/** Whole hundredths → `"12.50"`. */
export function fromHundredths(n: number): string {
  const v = Math.max(0, Math.round(n));
  return `${Math.floor(v / 100)}.${String(v % 100).padStart(2, '0')}`;
}
