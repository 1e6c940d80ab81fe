/**
 * The transport-free core of the event consumer: one Kafka record in, one outcome out. It decodes
 * the record, runs the handler inside the service's database transaction together with the
 * processed-events record, retries with backoff and decides when a record is dead-lettered. It
 * never imports kafkajs, so unit tests drive it with plain records: the adapter (eventSource.ts)
 * supplies `heartbeat` and `deadLetter`, and turns outcomes into resolved offsets.
 *
 * Exactly one effect per event id: the transaction *first* inserts `processed_events(event_id)`.
 * A redelivery finds the row and is skipped (`duplicate`); a concurrent delivery of the same event
 * to a zombie member (after a rebalance) blocks on the row lock until the first transaction ends,
 * then sees the duplicate key (committed) or proceeds (rolled back). The handler's rows and its
 * outbox events commit or roll back with that record.
 */
import type { Pool, PoolConnection } from 'mysql2/promise';
import type { Logger } from '../log';
import type { EventType, OutboxEvent } from '../outbox/events';
import { writeEvent } from '../outbox/mysql';
import type { WrittenEvent } from '../outbox/writer';
import { classifyError, DeadLetterReason, describeError } from './errors';
import { decodeSinkRecord, SinkDecodeError, topicEventType, type ConsumedEvent } from './sinkFormat';

/** Backoff between attempts. Durations are milliseconds. */
export interface RetryPolicy {
  /** kafkajs request retries before its consumer restarts (client-level; not handler attempts). */
  retries: number;
  /** First backoff. */
  initialMs: number;
  /** Longest backoff. */
  maxMs: number;
}

/**
 * The backoff before attempt `attempt + 1` (attempt ≥ 1): `initialMs · 2^(attempt−1)`, capped at
 * `maxMs`, then randomized by ±20% as kafkajs does, so instances that failed together do not retry
 * in lockstep. `random` returns [0, 1).
 */
export function backoffMs(attempt: number, policy: Pick<RetryPolicy, 'initialMs' | 'maxMs'>, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(0, Math.round(base * (0.8 + 0.4 * random())));
}

/** What a handler may run SQL with: the transaction's connection, without commit/rollback/release. */
export type TransactionExecutor = Pick<PoolConnection, 'execute' | 'query'>;

/** An event a handler emits: aggregateId defaults to the consumed event's, traceContext too. */
export type EmittedEvent<T extends EventType = EventType> = Omit<OutboxEvent<T>, 'aggregateId'> & { aggregateId?: string };

/** Where the record came from. `offset` and `timestamp` are kafkajs strings (timestamp: ms). */
export interface RecordSource {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: string;
}

/** What a handler gets. */
export interface HandlerContext<T extends EventType = EventType> {
  readonly event: ConsumedEvent<T>;
  /** The service's transaction: business rows go here. Committed by the consumer after the handler returns. */
  readonly tx: TransactionExecutor;
  /** Writes an event to the service's outbox in the same transaction (src/outbox/mysql.ts writeEvent). */
  emit<E extends EventType>(event: EmittedEvent<E>): Promise<WrittenEvent>;
  /** 1 on the first try. */
  readonly attempt: number;
  readonly source: RecordSource;
  /** The consumer's logger, with the event's id and type bound in the fields of each line. */
  readonly log: Logger;
}

/** A handler for events of type `T`. Throw to roll back; see classifyError for what is retried. */
export type EventHandler<T extends EventType = EventType> = (ctx: HandlerContext<T>) => Promise<void>;

/** One Kafka record, as the adapter passes it in. */
export interface SourceRecord extends RecordSource {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

/** A record for the dead-letter topic: the original bytes and why. */
export interface DeadLetter {
  readonly record: SourceRecord;
  readonly reason: DeadLetterReason;
  readonly detail: string;
  /** Handler attempts made (0 when the record never reached a handler). */
  readonly attempts: number;
  readonly eventId: string | undefined;
  readonly eventType: EventType | undefined;
}

/** What happened to one record. `aborted` records are not resolved: Kafka redelivers them. */
export type Outcome =
  | { readonly kind: 'handled'; readonly event: ConsumedEvent; readonly attempts: number; readonly emitted: number; readonly startedAt: number; readonly committedAt: number }
  | { readonly kind: 'duplicate'; readonly event: ConsumedEvent; readonly attempts: number }
  | { readonly kind: 'dead-lettered'; readonly letter: DeadLetter }
  | { readonly kind: 'aborted'; readonly attempts: number };

/** What the processor needs. */
export interface ProcessorDeps {
  readonly db: Pool;
  readonly topicPrefix: string;
  readonly handlers: ReadonlyMap<EventType, EventHandler>;
  readonly retry: RetryPolicy;
  readonly maxAttempts: number;
  readonly log: Logger;
  /** Publishes a dead letter; rejects when it could not (the record is then not resolved). */
  readonly deadLetter: (letter: DeadLetter) => Promise<void>;
  /** Aborted by stop(): waits end early and the record is left unresolved. */
  readonly signal: AbortSignal;
  /** Connections of transactions in progress (stop() destroys them after its grace period). */
  readonly connections?: Set<PoolConnection>;
  /** Wall clock in ms. @default Date.now */
  readonly now?: () => number;
  /** @default Math.random */
  readonly random?: () => number;
}

const CLAIM = 'INSERT INTO processed_events (event_id, event_type, processed_at) VALUES (?, ?, CURRENT_TIMESTAMP(6))';

/** Resolves after `ms`, or at once when `signal` aborts (resolving to false). */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener('abort', onAbort);
  });
}

/** Processes one record to an {@link Outcome}. Never throws except when `deadLetter` or `heartbeat` does. */
export async function processRecord(deps: ProcessorDeps, record: SourceRecord, heartbeat: () => Promise<void>): Promise<Outcome> {
  const now = deps.now ?? Date.now;
  const type = topicEventType(record.topic, deps.topicPrefix);
  const handler = type === undefined ? undefined : deps.handlers.get(type);
  if (type === undefined || handler === undefined) {
    // Only subscribed topics reach here, so this is a configuration slip: keep the record, say why.
    return deadLetter(deps, { record, reason: DeadLetterReason.TOPIC_MISMATCH, detail: `no handler for topic ${record.topic}`, attempts: 0, eventId: undefined, eventType: type });
  }
  let event: ConsumedEvent;
  try {
    event = decodeSinkRecord(type, record.key, record.value);
  } catch (err) {
    if (!(err instanceof SinkDecodeError)) throw err;
    return deadLetter(deps, { record, reason: err.reason, detail: err.detail, attempts: 0, eventId: err.eventId, eventType: type });
  }
  const log = deps.log.child('handler');
  let attempts = 0;
  let outages = 0;
  for (;;) {
    attempts++;
    const startedAt = now();
    try {
      const result = await runInTransaction(deps, handler, event, record, attempts, log);
      if (result.duplicate) return { kind: 'duplicate', event, attempts };
      return { kind: 'handled', event, attempts, emitted: result.emitted, startedAt, committedAt: now() };
    } catch (err) {
      const cls = classifyError(err);
      const fields = { err: describeError(err), eventId: event.id, eventType: event.type, topic: record.topic, partition: record.partition, offset: record.offset, attempt: attempts };
      let waitMs: number;
      if (cls === 'infrastructure') {
        attempts--; // the handler's budget is for its own failures, not for a database outage
        waitMs = backoffMs(++outages, deps.retry, deps.random);
        deps.log.warn({ ...fields, waitMs }, 'service database unavailable; retrying the event without counting an attempt');
      } else if (cls === 'permanent') {
        deps.log.error(fields, 'handler failed with a non-retriable error; dead-lettering the event');
        return deadLetter(deps, { record, reason: DeadLetterReason.HANDLER_FAILED, detail: describeError(err), attempts, eventId: event.id, eventType: event.type });
      } else if (attempts >= deps.maxAttempts) {
        deps.log.error(fields, `handler failed ${attempts} times; dead-lettering the event`);
        return deadLetter(deps, { record, reason: DeadLetterReason.RETRIES_EXHAUSTED, detail: describeError(err), attempts, eventId: event.id, eventType: event.type });
      } else {
        outages = 0;
        waitMs = backoffMs(attempts, deps.retry, deps.random);
        deps.log.warn({ ...fields, waitMs }, 'handler failed; retrying after a backoff');
      }
      if (!(await pause(waitMs, deps.signal))) return { kind: 'aborted', attempts };
      // Tells the group this member is alive during long backoffs; throws when a rebalance started,
      // which ends the batch with this record unresolved (the new owner processes it).
      await heartbeat();
    }
  }
}

async function deadLetter(deps: ProcessorDeps, letter: DeadLetter): Promise<Outcome> {
  await deps.deadLetter(letter);
  deps.log.warn({ reason: letter.reason, detail: letter.detail, eventId: letter.eventId, topic: letter.record.topic, partition: letter.record.partition, offset: letter.record.offset, attempts: letter.attempts }, 'event dead-lettered');
  return { kind: 'dead-lettered', letter };
}

/** One attempt: BEGIN, claim the event id, run the handler, COMMIT; ROLLBACK on any error. */
async function runInTransaction(deps: ProcessorDeps, handler: EventHandler, event: ConsumedEvent, record: SourceRecord, attempt: number, log: Logger): Promise<{ duplicate: boolean; emitted: number }> {
  const conn = await deps.db.getConnection();
  deps.connections?.add(conn);
  let broken = false;
  try {
    await conn.beginTransaction();
    try {
      try {
        await conn.execute(CLAIM, [event.id, event.type]);
      } catch (err) {
        if ((err as { code?: unknown }).code === 'ER_DUP_ENTRY') {
          await conn.rollback();
          return { duplicate: true, emitted: 0 };
        }
        throw err;
      }
      let emitted = 0;
      const emit = async <E extends EventType>(e: EmittedEvent<E>): Promise<WrittenEvent> => {
        const traceContext = e.traceContext ?? event.traceContext ?? undefined;
        const out: OutboxEvent = { ...e, aggregateId: e.aggregateId ?? event.aggregateId, ...(traceContext === undefined ? {} : { traceContext }) } as OutboxEvent;
        const written = await writeEvent(conn, out);
        emitted++;
        return written;
      };
      const child = bind(log, { eventId: event.id, eventType: event.type, aggregateId: event.aggregateId });
      await handler({ event, tx: conn, emit, attempt, source: record, log: child });
      await conn.commit();
      return { duplicate: false, emitted };
    } catch (err) {
      try {
        await conn.rollback();
      } catch {
        broken = true; // the connection is gone (the server rolled back) or unusable: never reuse it
      }
      throw err;
    }
  } catch (err) {
    if (classifyError(err) === 'infrastructure') broken = true;
    throw err;
  } finally {
    deps.connections?.delete(conn);
    if (broken) conn.destroy();
    else conn.release();
  }
}

/** A logger that adds `fields` to every line. */
function bind(log: Logger, fields: Record<string, unknown>): Logger {
  return {
    debug: (f, m) => log.debug({ ...fields, ...f }, m),
    info: (f, m) => log.info({ ...fields, ...f }, m),
    warn: (f, m) => log.warn({ ...fields, ...f }, m),
    error: (f, m) => log.error({ ...fields, ...f }, m),
    child: (ns) => bind(log.child(ns), fields),
  };
}
