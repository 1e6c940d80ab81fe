/**
 * Error codes Wavegate puts in GraphQL `extensions.code` (and in CLI / wire errors).
 * Codes are public and stable; the error class is internal. Only errors created with
 * `safe: true` reach clients with their message; everything else is masked with a logged id.
 */
export enum GatewayErrorCode {
  /** No or invalid credentials (HTTP 401, websocket close 4401). */
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  /** Authenticated, but the row policy does not allow this read. */
  FORBIDDEN = 'FORBIDDEN',
  /** An argument is malformed (bad cursor, bad date range, first out of range). */
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  /** The query nests deeper than the configured depth limit. */
  QUERY_TOO_DEEP = 'QUERY_TOO_DEEP',
  /** The query's estimated cost exceeds the configured limit. */
  QUERY_TOO_COSTLY = 'QUERY_TOO_COSTLY',
  /** Request body larger than the configured limit (HTTP 413). */
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  /** An outbox event payload failed validation; nothing was written. */
  BAD_OUTBOX_PAYLOAD = 'BAD_OUTBOX_PAYLOAD',
  /** A resume cursor points before what the change feed still retains. */
  CURSOR_EXPIRED = 'CURSOR_EXPIRED',
  /**
   * The request ran past its deadline (`WAVEGATE_REQUEST_TIMEOUT_MS`): its queries were cancelled
   * or never started. Retriable: the same request may succeed when the gateway is less busy.
   */
  REQUEST_TIMEOUT = 'REQUEST_TIMEOUT',
  /**
   * A per-client or global concurrency cap was hit (queued queries per viewer, subscriptions per
   * socket, sockets per subject, concurrent replays); `details.limit` names it. Retriable later.
   */
  TOO_MANY_REQUESTS = 'TOO_MANY_REQUESTS',
  /** The engine (PGlite or RisingWave) cannot serve reads right now. */
  ENGINE_UNAVAILABLE = 'ENGINE_UNAVAILABLE',
  /** Configuration is invalid; the message says what to change. */
  BAD_CONFIG = 'BAD_CONFIG',
  /** Anything unexpected; details are logged under the id in the message. */
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

/** Options for {@link GatewayError}. */
export interface GatewayErrorOptions {
  /** May the message be shown to clients? @default true for client-facing codes */
  safe?: boolean;
  /** Can the same operation succeed if retried later? @default false */
  retriable?: boolean;
  /** Underlying error, logged, never sent to clients. */
  cause?: unknown;
  /** Extra structured fields for clients (only when safe), e.g. `{ path: 'payload.amount' }`. */
  details?: Record<string, unknown>;
}

const SAFE_BY_DEFAULT: ReadonlySet<GatewayErrorCode> = new Set([
  GatewayErrorCode.UNAUTHENTICATED,
  GatewayErrorCode.FORBIDDEN,
  GatewayErrorCode.BAD_USER_INPUT,
  GatewayErrorCode.QUERY_TOO_DEEP,
  GatewayErrorCode.QUERY_TOO_COSTLY,
  GatewayErrorCode.PAYLOAD_TOO_LARGE,
  GatewayErrorCode.BAD_OUTBOX_PAYLOAD,
  GatewayErrorCode.CURSOR_EXPIRED,
  GatewayErrorCode.REQUEST_TIMEOUT,
  GatewayErrorCode.TOO_MANY_REQUESTS,
  GatewayErrorCode.ENGINE_UNAVAILABLE,
  GatewayErrorCode.BAD_CONFIG,
]);

/** The one error type Wavegate throws on purpose. */
export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  readonly safe: boolean;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: GatewayErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.safe = options.safe ?? SAFE_BY_DEFAULT.has(code);
    this.retriable = options.retriable ?? false;
    this.details = options.details;
  }
}

/** True when `e` is a {@link GatewayError} (optionally with the given code). */
export function isGatewayError(e: unknown, code?: GatewayErrorCode): e is GatewayError {
  return e instanceof GatewayError && (code === undefined || e.code === code);
}

/** Shorthand constructors for the common client-facing errors. */
export const errors = {
  unauthenticated: (message = 'Authentication required') =>
    new GatewayError(GatewayErrorCode.UNAUTHENTICATED, message),
  forbidden: (message = 'Not allowed to read these rows') =>
    new GatewayError(GatewayErrorCode.FORBIDDEN, message),
  badInput: (message: string, details?: Record<string, unknown>) =>
    new GatewayError(GatewayErrorCode.BAD_USER_INPUT, message, { details }),
  badConfig: (message: string) => new GatewayError(GatewayErrorCode.BAD_CONFIG, message),
  /** TOO_MANY_REQUESTS (retriable) for the cap named `limit` (a config field name), at `max`. */
  tooMany: (message: string, limit: string, max: number) =>
    new GatewayError(GatewayErrorCode.TOO_MANY_REQUESTS, message, { retriable: true, details: { limit, max } }),
  /** REQUEST_TIMEOUT (retriable): the request's deadline of `timeoutMs` passed. */
  requestTimeout: (timeoutMs: number) =>
    new GatewayError(GatewayErrorCode.REQUEST_TIMEOUT, `The request took longer than its ${timeoutMs} ms deadline; retry later or ask for less`,
      { retriable: true, details: { timeoutMs } }),
};
