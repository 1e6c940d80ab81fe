/**
 * Errors of the event consumer, shaped like Apollo Server's and kafkajs' (string codes that are
 * public and stable, each error marked retriable or not): public codes and dead-letter reasons, a
 * private error class, and the rule that decides whether a failed handler is tried again.
 *
 * Like kafkajs (`src/errors.js`), an error says whether retrying can help with a `retriable` flag.
 * Handlers mark their own errors with {@link retriableError} / {@link permanentError}; errors
 * without the flag are classified by {@link classifyError}.
 */

/** Codes of the errors the consumer itself throws or builds. Stable strings. */
export enum ConsumerErrorCode {
  /** Options are invalid, or the topics / tables the consumer needs are missing; the message says what to do. */
  BAD_CONFIG = 'CONSUMER_BAD_CONFIG',
  /** Kafka or the service database could not be reached in time. */
  UNAVAILABLE = 'CONSUMER_UNAVAILABLE',
  /** A handler failed in a way a retry may fix (marked by the handler with {@link retriableError}). */
  HANDLER_RETRIABLE = 'HANDLER_RETRIABLE',
  /** A handler failed in a way no retry can fix (marked by the handler with {@link permanentError}). */
  HANDLER_PERMANENT = 'HANDLER_PERMANENT',
  /** A method was called in a lifecycle phase that does not allow it (e.g. onEvent after start). */
  BAD_STATE = 'CONSUMER_BAD_STATE',
}

/**
 * Why a message went to the dead-letter topic: the `dlq.reason` header. Stable strings (they are
 * read by people and tools replaying the dead-letter topic).
 */
export enum DeadLetterReason {
  /** The record has no key, or its key differs from the event's aggregate_id (KEY ENCODE TEXT). */
  BAD_KEY = 'bad_key',
  /** Key or value is not valid UTF-8. */
  BAD_UTF8 = 'bad_utf8',
  /** The value is null (the append-only sink never writes tombstones) or not JSON. */
  BAD_JSON = 'bad_json',
  /** The JSON is not an outbox row: a column is missing or has the wrong JSON type. */
  BAD_ENVELOPE = 'bad_envelope',
  /** event_type differs from the topic's event type. */
  TOPIC_MISMATCH = 'topic_mismatch',
  /** The row is well-formed but the event fails `validateEvent` (src/outbox/events.ts). */
  INVALID_EVENT = 'invalid_event',
  /** The handler threw an error that is not retriable. */
  HANDLER_FAILED = 'handler_failed',
  /** The handler threw retriable errors `maxAttempts` times. */
  RETRIES_EXHAUSTED = 'retries_exhausted',
}

/** How the consumer reacts to a handler error. */
export type ErrorClass =
  /** Try the handler again after a backoff; counts against `maxAttempts`. */
  | 'retriable'
  /** Dead-letter now. */
  | 'permanent'
  /**
   * The service's database is unreachable: wait with backoff and try again without counting an
   * attempt, for as long as it takes (or until stop). A database outage must not dead-letter events.
   */
  | 'infrastructure';

class ConsumerError extends Error {
  readonly code: ConsumerErrorCode;
  readonly retriable: boolean;

  constructor(code: ConsumerErrorCode, message: string, retriable: boolean, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ConsumerError';
    this.code = code;
    this.retriable = retriable;
  }
}

/** True when `e` was made by this module (optionally with the given code). */
export function isConsumerError(e: unknown, code?: ConsumerErrorCode): e is Error & { code: ConsumerErrorCode; retriable: boolean } {
  return e instanceof ConsumerError && (code === undefined || e.code === code);
}

/** For handlers: a failure worth retrying (a downstream timeout, a busy resource). */
export function retriableError(message: string, cause?: unknown): Error {
  return new ConsumerError(ConsumerErrorCode.HANDLER_RETRIABLE, message, true, cause);
}

/** For handlers: a failure no retry can fix (the event contradicts the service's data); dead-letters at once. */
export function permanentError(message: string, cause?: unknown): Error {
  return new ConsumerError(ConsumerErrorCode.HANDLER_PERMANENT, message, false, cause);
}

/** @internal consumer-built errors */
export function consumerError(code: ConsumerErrorCode, message: string, cause?: unknown): Error {
  return new ConsumerError(code, message, code === ConsumerErrorCode.UNAVAILABLE, cause);
}

/**
 * mysql2 error codes that mean "the server or the connection is gone", not "this statement is
 * wrong": client-side socket codes plus server codes for shutdown, too many connections and
 * read-only failover.
 */
const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'POOL_CLOSED',
  'ER_CON_COUNT_ERROR', 'ER_TOO_MANY_USER_CONNECTIONS', 'ER_SERVER_SHUTDOWN', 'ER_SERVER_GONE_ERROR',
  'ER_SERVER_LOST', 'ER_OPTION_PREVENTS_STATEMENT', 'ER_CONNECTION_KILLED', 'ER_QUERY_INTERRUPTED',
]);

/** MySQL errors where the transaction lost a race and a retry normally succeeds. */
const TRANSIENT_SQL_CODES: ReadonlySet<string> = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'ER_CHECKREAD']);

function field(e: unknown, name: string): unknown {
  return typeof e === 'object' && e !== null ? (e as Record<string, unknown>)[name] : undefined;
}

/**
 * Classifies a handler (or transaction) error:
 * 1. a lost database connection (mysql2 `fatal`, socket codes, server shutdown) → `infrastructure`;
 * 2. an explicit boolean `retriable` on the error or its `cause` chain (ours, kafkajs's,
 *    GatewayError's — `BAD_OUTBOX_PAYLOAD` is not retriable) → that;
 * 3. deadlock / lock wait timeout → `retriable`;
 * 4. anything else → `retriable`: like kafkajs, an unmarked error is retried (up to `maxAttempts`),
 *    so a flaky dependency does not dead-letter an event on its first hiccup.
 */
export function classifyError(err: unknown): ErrorClass {
  const code = field(err, 'code');
  if (field(err, 'fatal') === true || (typeof code === 'string' && CONNECTION_CODES.has(code))) return 'infrastructure';
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 8; e = field(e, 'cause'), depth++) {
    const r = field(e, 'retriable');
    if (typeof r === 'boolean') return r ? 'retriable' : 'permanent';
  }
  if (typeof code === 'string' && TRANSIENT_SQL_CODES.has(code)) return 'retriable';
  return 'retriable';
}

/** The error's message (first line, at most `max` characters), for logs and the `dlq.detail` header. */
export function describeError(err: unknown, max = 1_000): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
