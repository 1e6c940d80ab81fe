/**
 * The dead-letter record format (docs/CONSUMERS.md, "Failures and the dead-letter topic"). Pure: no
 * kafkajs.
 *
 * A dead letter is the original record, **byte for byte** (key and value unchanged, so it can be
 * produced back to its topic once fixed), on topic `dlq.<service>`, with headers saying where it
 * came from and why it was set aside. Header values are UTF-8 text.
 */
import { deadLetterTopic } from '../kafka/topics';
import { EVENT_TYPES, type EventType } from '../outbox/events';
import { DeadLetterReason } from './errors';
import type { DeadLetter } from './processor';

/** Header names. */
export const DLQ_HEADERS = {
  reason: 'dlq.reason',
  detail: 'dlq.detail',
  service: 'dlq.service',
  topic: 'dlq.original.topic',
  partition: 'dlq.original.partition',
  offset: 'dlq.original.offset',
  timestamp: 'dlq.original.timestamp',
  attempts: 'dlq.attempts',
  eventId: 'dlq.event.id',
  eventType: 'dlq.event.type',
  failedAt: 'dlq.failed_at',
} as const;

/** The default dead-letter topic of a service. */
export const deadLetterTopicOf = (service: string): string => deadLetterTopic(service);

/** The Kafka message (key, value, headers) that carries `letter`. */
export function deadLetterMessage(letter: DeadLetter, service: string, failedAt: Date): { key: Buffer | null; value: Buffer | null; headers: Record<string, string> } {
  const r = letter.record;
  const headers: Record<string, string> = {
    [DLQ_HEADERS.reason]: letter.reason,
    [DLQ_HEADERS.detail]: letter.detail,
    [DLQ_HEADERS.service]: service,
    [DLQ_HEADERS.topic]: r.topic,
    [DLQ_HEADERS.partition]: String(r.partition),
    [DLQ_HEADERS.offset]: r.offset,
    [DLQ_HEADERS.timestamp]: r.timestamp,
    [DLQ_HEADERS.attempts]: String(letter.attempts),
    [DLQ_HEADERS.failedAt]: failedAt.toISOString(),
  };
  if (letter.eventId !== undefined) headers[DLQ_HEADERS.eventId] = letter.eventId;
  if (letter.eventType !== undefined) headers[DLQ_HEADERS.eventType] = letter.eventType;
  return { key: r.key, value: r.value, headers };
}

/** A dead letter read back from the topic. */
export interface ReadDeadLetter {
  readonly reason: DeadLetterReason;
  readonly detail: string;
  readonly service: string;
  readonly original: { readonly topic: string; readonly partition: number; readonly offset: string; readonly timestamp: string };
  readonly attempts: number;
  readonly eventId: string | undefined;
  readonly eventType: EventType | undefined;
  readonly failedAt: string;
  /** The original key and value bytes. */
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

type HeaderValue = Buffer | string | Array<Buffer | string> | undefined;

/**
 * Parses a dead-letter record (kafkajs delivers header values as Buffers). Throws when a required
 * header is missing: the record was not written by this consumer.
 */
export function readDeadLetter(message: { key: Buffer | null; value: Buffer | null; headers?: Record<string, HeaderValue> }): ReadDeadLetter {
  const h = message.headers ?? {};
  const get = (name: string): string | undefined => {
    const v = h[name];
    const one = Array.isArray(v) ? v[v.length - 1] : v;
    return one === undefined ? undefined : one.toString();
  };
  const need = (name: string): string => {
    const v = get(name);
    if (v === undefined) throw new Error(`not a dead letter: header ${name} is missing`);
    return v;
  };
  const reason = need(DLQ_HEADERS.reason);
  if (!(Object.values(DeadLetterReason) as string[]).includes(reason)) throw new Error(`not a dead letter: unknown reason ${reason}`);
  const eventType = get(DLQ_HEADERS.eventType);
  return {
    reason: reason as DeadLetterReason,
    detail: need(DLQ_HEADERS.detail),
    service: need(DLQ_HEADERS.service),
    original: { topic: need(DLQ_HEADERS.topic), partition: Number(need(DLQ_HEADERS.partition)), offset: need(DLQ_HEADERS.offset), timestamp: need(DLQ_HEADERS.timestamp) },
    attempts: Number(need(DLQ_HEADERS.attempts)),
    eventId: get(DLQ_HEADERS.eventId),
    eventType: eventType !== undefined && (EVENT_TYPES as readonly string[]).includes(eventType) ? (eventType as EventType) : undefined,
    failedAt: need(DLQ_HEADERS.failedAt),
    key: message.key,
    value: message.value,
  };
}
