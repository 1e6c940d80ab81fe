import { randomUUID } from 'node:crypto';
import type { SqlExecutor } from '../db/types';
import { RIDE_AGGREGATE, validateEvent, type EventType, type OutboxEvent } from './events';

/** What the writer returns for each event it wrote. */
export interface WrittenEvent {
  /** The event id (UUID): the outbox primary key, and the consumers' dedupe key. */
  readonly id: string;
  readonly type: EventType;
  readonly aggregateId: string;
}

const INSERT = `INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, occurred_at, trace_context)
VALUES ($1, $2, $3, $4, $5::jsonb, COALESCE($6::timestamptz, now()), $7)`;

/**
 * Writes one event to the outbox **inside the caller's transaction** (Postgres dialect: `pg`
 * clients, PGlite transactions). Validates first: a bad payload throws `BAD_OUTBOX_PAYLOAD` and
 * nothing is written, so the caller's transaction can roll its business row back with it.
 */
export async function writeEvent(tx: SqlExecutor, event: OutboxEvent): Promise<WrittenEvent> {
  validateEvent(event);
  const id = randomUUID();
  await tx.query(INSERT, [
    id,
    RIDE_AGGREGATE,
    event.aggregateId,
    event.type,
    JSON.stringify(event.payload),
    event.occurredAt?.toISOString() ?? null,
    event.traceContext ?? null,
  ]);
  return { id, type: event.type, aggregateId: event.aggregateId };
}

/** Validates every event, then writes them in order; one bad event means none is written. */
export async function writeEvents(tx: SqlExecutor, events: readonly OutboxEvent[]): Promise<WrittenEvent[]> {
  for (const e of events) validateEvent(e);
  const out: WrittenEvent[] = [];
  for (const e of events) out.push(await writeEvent(tx, e));
  return out;
}
