/**
 * The bytes RisingWave's event sinks write, both ways. Pure: no kafkajs, no I/O.
 *
 * The sinks (migration 6 `event_sinks`, src/engine/risingwave/sinks.ts; golden DDL in
 * test/golden/risingwave/plan-mysql.sql) are `FORMAT PLAIN ENCODE JSON (force_append_only='true',
 * timestamptz.handling.mode='utc_string', jsonb.handling.mode='dynamic') KEY ENCODE TEXT` with
 * `primary_key='aggregate_id'`, one per event type, on topic `events.<EventType>`
 * ([SINK2], [SINK3] in docs/RISINGWAVE.md, "RisingWave behaviours Wavegate depends on"):
 * - key   = the ride id (aggregate_id) as plain UTF-8 text;
 * - value = the outbox row as one JSON object, keys in alphabetical order [SINK2]:
 *   `{"aggregate_id":…,"aggregate_type":"Ride","event_type":…,"id":…,"occurred_at":"2026-10-05T14:03:07.123456Z","payload":{…},"trace_context":…|null}`
 *   occurred_at with always 6 fraction digits and `Z`; payload embedded as JSON (dynamic mode);
 * - never a null value (append-only: deletes emit nothing), and no headers;
 * - at least once: the same row may arrive again after a RisingWave recovery [SINK5].
 *
 * {@link encodeSinkRecord} is used by the tests and the example's router, which stand in for
 * RisingWave; {@link decodeSinkRecord} by the consumer. Keys inside `payload` are sorted too, as
 * RisingWave writes them: dynamic jsonb becomes a serde_json value (RisingWave v3.0.3,
 * src/connector/src/sink/encoder/json.rs, `JsonbVal::from(jsonb_ref).take()`), whose maps are sorted
 * at every level (serde_json without preserve_order, docs/RISINGWAVE.md [SINK2]); the decoder does not care.
 */
import { eventTypeOfTopic } from '../kafka/topics';
import { EVENT_TYPES, validateEvent, type EventPayloads, type EventType } from '../outbox/events';
import { DeadLetterReason } from './errors';

/** An outbox row as the sink sees it (the RisingWave CDC table's columns). */
export interface OutboxRow {
  readonly id: string;
  readonly aggregate_type: string;
  readonly aggregate_id: string;
  readonly event_type: string;
  /** The payload as JSON (already parsed). */
  readonly payload: unknown;
  /** UTC instant with 6 fraction digits and `Z`, e.g. `2026-10-05T14:03:07.123456Z` (see {@link utcString}). */
  readonly occurred_at: string;
  readonly trace_context: string | null;
}

/** An event as the consumer hands it to a handler: a decoded, validated sink record. */
export interface ConsumedEvent<T extends EventType = EventType> {
  /** The outbox row id (a UUID): the de-duplication key. */
  readonly id: string;
  readonly type: T;
  /** Always `Ride` today. */
  readonly aggregateType: string;
  /** The ride id; also the Kafka key. */
  readonly aggregateId: string;
  readonly payload: EventPayloads[T];
  /** occurred_at, to the millisecond. */
  readonly occurredAt: Date;
  /** occurred_at exactly as sent (`…07.123456Z`: microseconds kept). */
  readonly occurredAtText: string;
  /** W3C traceparent of the request that wrote the event, or null. */
  readonly traceContext: string | null;
}

/** {@link ConsumedEvent} as a union discriminated by `type` (a switch on `type` narrows `payload`). */
export type AnyConsumedEvent = { [T in EventType]: ConsumedEvent<T> }[EventType];

/** A record that is not an event of the contract; the consumer dead-letters it with `reason`. */
export class SinkDecodeError extends Error {
  constructor(
    readonly reason: DeadLetterReason,
    readonly detail: string,
    /** The event id, when the value got far enough to have one. */
    readonly eventId?: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'SinkDecodeError';
  }
}

/** Recursively sorts object keys, as serde_json without `preserve_order` writes them. */
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (typeof v !== 'object' || v === null) return v;
  const o = v as Record<string, unknown>;
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, sorted(o[k])]));
}

/** The Kafka record RisingWave's append-only event sink writes for one outbox row. */
export function encodeSinkRecord(row: OutboxRow): { key: Buffer; value: Buffer } {
  const value = sorted({
    aggregate_id: row.aggregate_id,
    aggregate_type: row.aggregate_type,
    event_type: row.event_type,
    id: row.id,
    occurred_at: row.occurred_at,
    payload: row.payload,
    trace_context: row.trace_context,
  });
  return { key: Buffer.from(row.aggregate_id, 'utf8'), value: Buffer.from(JSON.stringify(value), 'utf8') };
}

/**
 * RisingWave's `utc_string` form of a timestamptz: `YYYY-MM-DDTHH:MM:SS.ffffffZ`. `micros` (0–999)
 * are the microseconds below the Date's millisecond, when known.
 */
export function utcString(at: Date, micros = 0): string {
  return `${at.toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

const ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
const UTC_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

const fail = (reason: DeadLetterReason, detail: string, eventId?: string) => new SinkDecodeError(reason, detail, eventId);

function text(bytes: Buffer, what: 'key' | 'value'): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw fail(DeadLetterReason.BAD_UTF8, `${what} is not valid UTF-8`);
  }
}

function parseUtc(s: string, eventId: string): Date {
  const m = UTC_RE.exec(s);
  const at = m === null ? Number.NaN : Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, Number((m[7] ?? '').padEnd(3, '0').slice(0, 3)));
  // Date.UTC rolls over (month 13, 25:00): a rolled value no longer shows its own digits.
  if (m === null || Number.isNaN(at) || new Date(at).toISOString().slice(0, 19) !== s.slice(0, 19)) {
    throw fail(DeadLetterReason.BAD_ENVELOPE, `occurred_at ${JSON.stringify(s.slice(0, 40))} is not a UTC timestamp like 2026-10-05T14:03:07.123456Z`, eventId);
  }
  return new Date(at);
}

/** The event type a topic carries (`<prefix><EventType>`), or undefined when it is none. */
export function topicEventType(topic: string, topicPrefix: string): EventType | undefined {
  return eventTypeOfTopic(topic, topicPrefix, EVENT_TYPES);
}

/**
 * Decodes and validates one record of topic `events.<expected>`. Throws only {@link SinkDecodeError};
 * its `reason` says which rule failed (checked in this order: value present and JSON, row shape,
 * event type vs topic, key vs aggregate_id, the event contract).
 */
export function decodeSinkRecord(expected: EventType, key: Buffer | null, value: Buffer | null): ConsumedEvent {
  if (value === null) throw fail(DeadLetterReason.BAD_JSON, 'null value (a tombstone): the append-only event sink never writes one');
  let v: unknown;
  try {
    v = JSON.parse(text(value, 'value'));
  } catch (err) {
    if (err instanceof SinkDecodeError) throw err;
    throw fail(DeadLetterReason.BAD_JSON, `value is not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail(DeadLetterReason.BAD_ENVELOPE, 'value is not a JSON object');
  const row = v as Record<string, unknown>;
  const id = row['id'];
  if (typeof id !== 'string' || !ID_RE.test(id)) throw fail(DeadLetterReason.BAD_ENVELOPE, 'id must be a string of 1-64 of A-Z a-z 0-9 _ . : -');
  for (const col of ['aggregate_id', 'aggregate_type', 'event_type', 'occurred_at'] as const) {
    if (typeof row[col] !== 'string') throw fail(DeadLetterReason.BAD_ENVELOPE, `${col} must be a string`, id);
  }
  const tc = row['trace_context'];
  if (tc !== null && typeof tc !== 'string') throw fail(DeadLetterReason.BAD_ENVELOPE, 'trace_context must be a string or null', id);
  const payload = row['payload'];
  if (typeof payload === 'string') {
    throw fail(DeadLetterReason.BAD_ENVELOPE, "payload is a JSON string, not an object: the sink must set jsonb.handling.mode = 'dynamic'", id);
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw fail(DeadLetterReason.BAD_ENVELOPE, 'payload must be a JSON object', id);
  const type = row['event_type'] as string;
  if (type !== expected) throw fail(DeadLetterReason.TOPIC_MISMATCH, `event_type ${JSON.stringify(type.slice(0, 64))} on the topic of ${expected}`, id);
  const aggregateId = row['aggregate_id'] as string;
  if (key === null) throw fail(DeadLetterReason.BAD_KEY, 'record has no key; the sink keys events by aggregate_id', id);
  if (text(key, 'key') !== aggregateId) throw fail(DeadLetterReason.BAD_KEY, 'key differs from aggregate_id', id);
  const occurredAtText = row['occurred_at'] as string;
  const occurredAt = parseUtc(occurredAtText, id);
  const aggregateType = row['aggregate_type'] as string;
  if (aggregateType !== 'Ride') throw fail(DeadLetterReason.INVALID_EVENT, `aggregate_type ${JSON.stringify(aggregateType.slice(0, 64))} is not Ride`, id);
  const candidate = { type, aggregateId, payload, occurredAt, ...(tc === null ? {} : { traceContext: tc }) };
  try {
    validateEvent(candidate);
  } catch (err) {
    throw fail(DeadLetterReason.INVALID_EVENT, err instanceof Error ? err.message : String(err), id);
  }
  return { id, type: expected, aggregateType, aggregateId, payload: payload as EventPayloads[EventType], occurredAt, occurredAtText, traceContext: tc };
}
