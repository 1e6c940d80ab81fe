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

/** One outbox row as the writer inserts it (the columns of migrations/source/<dialect>/0001_create_outbox.sql). */
export interface OutboxInsert {
  readonly id: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly eventType: EventType;
  /** The payload as JSON text. */
  readonly payload: string;
  /** undefined: the database's current time. */
  readonly occurredAt: Date | undefined;
  readonly traceContext: string | null;
}

/** What differs between source databases: the INSERT, and any rule the column types add to validateEvent's. */
export interface OutboxDialect<Tx> {
  /** Throws BAD_OUTBOX_PAYLOAD when a valid event does not fit this database's columns. */
  readonly check?: (event: OutboxEvent) => void;
  /** Inserts one row on the caller's transaction. */
  readonly insert: (tx: Tx, row: OutboxInsert) => Promise<unknown>;
}

/** Writes events to the outbox **inside the caller's transaction** (`Tx`: that transaction's handle). */
export interface OutboxWriter<Tx> {
  /**
   * Validates, then writes one event. A bad event throws `BAD_OUTBOX_PAYLOAD` and nothing is
   * written, so the caller's transaction can roll its business row back with it.
   */
  writeEvent(tx: Tx, event: OutboxEvent): Promise<WrittenEvent>;
  /** Validates every event, then writes them in order; one bad event means none is written. */
  writeEvents(tx: Tx, events: readonly OutboxEvent[]): Promise<WrittenEvent[]>;
}

/** The outbox writer for one source database; postgres below, mysql.ts for MySQL and MariaDB. */
export function createOutboxWriter<Tx>(dialect: OutboxDialect<Tx>): OutboxWriter<Tx> {
  const validate = (event: OutboxEvent): void => {
    validateEvent(event);
    dialect.check?.(event);
  };
  const insert = async (tx: Tx, event: OutboxEvent): Promise<WrittenEvent> => {
    const id = randomUUID();
    await dialect.insert(tx, {
      id,
      aggregateType: RIDE_AGGREGATE,
      aggregateId: event.aggregateId,
      eventType: event.type,
      payload: JSON.stringify(event.payload),
      occurredAt: event.occurredAt,
      traceContext: event.traceContext ?? null,
    });
    return { id, type: event.type, aggregateId: event.aggregateId };
  };
  return {
    async writeEvent(tx, event) {
      validate(event);
      return insert(tx, event);
    },
    async writeEvents(tx, events) {
      for (const e of events) validate(e);
      const out: WrittenEvent[] = [];
      for (const e of events) out.push(await insert(tx, e));
      return out;
    },
  };
}

const INSERT = `INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, occurred_at, trace_context)
VALUES ($1, $2, $3, $4, $5::jsonb, COALESCE($6::timestamptz, now()), $7)`;

/** The Postgres outbox writer: `pg` clients, PGlite transactions (the embedded engine's). */
export const postgresOutbox: OutboxWriter<SqlExecutor> = createOutboxWriter<SqlExecutor>({
  insert: (tx, r) => tx.query(INSERT, [r.id, r.aggregateType, r.aggregateId, r.eventType, r.payload, r.occurredAt?.toISOString() ?? null, r.traceContext]),
});

/** {@link OutboxWriter.writeEvent} on Postgres ({@link postgresOutbox}). */
export function writeEvent(tx: SqlExecutor, event: OutboxEvent): Promise<WrittenEvent> {
  return postgresOutbox.writeEvent(tx, event);
}

/** {@link OutboxWriter.writeEvents} on Postgres ({@link postgresOutbox}). */
export function writeEvents(tx: SqlExecutor, events: readonly OutboxEvent[]): Promise<WrittenEvent[]> {
  return postgresOutbox.writeEvents(tx, events);
}
