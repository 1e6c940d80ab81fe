/**
 * Error masking for every GraphQL response (HTTP and websockets), in the spirit of grafast's
 * SafeError: a GatewayError marked safe reaches the client with its code, message and details;
 * GraphQL's own request errors (parse, validation, bad variables) pass through; anything else
 * becomes INTERNAL_SERVER_ERROR "Internal error (id <uuid>)", logged in full under that id.
 */
import { randomUUID } from 'node:crypto';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { GatewayError, GatewayErrorCode } from '../errors';
import type { Logger } from '../log';

/** Codes of request errors that are safe to show as they are (Apollo's, and ours for websockets). */
const PASS_THROUGH: ReadonlySet<string> = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

/** Formats one error for a client; see the module comment. */
export type ErrorFormatter = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

/** The GatewayError behind an error, following GraphQLError.originalError links. */
export function findGatewayError(error: unknown): GatewayError | undefined {
  let e: unknown = error;
  for (let i = 0; i < 8 && e !== undefined && e !== null; i++) {
    if (e instanceof GatewayError) return e;
    e = e instanceof GraphQLError ? e.originalError : undefined;
  }
  return undefined;
}

/** The innermost error (what actually went wrong), for logs. */
function rootCause(error: unknown): unknown {
  let e: unknown = error;
  while (e instanceof GraphQLError && e.originalError !== undefined && e.originalError !== e) e = e.originalError;
  return e;
}

function position(f: GraphQLFormattedError): Pick<GraphQLFormattedError, 'locations' | 'path'> {
  return { ...(f.locations !== undefined ? { locations: f.locations } : {}), ...(f.path !== undefined ? { path: f.path } : {}) };
}

/**
 * Creates the formatter (Apollo's `formatError`, and the websocket server's). `onError` sees the
 * code of every error sent, for metrics.
 */
export function createErrorFormatter(log: Logger, onError: (code: string) => void = () => undefined): ErrorFormatter {
  return (formatted, error) => {
    const out = format(formatted, error, log);
    onError(String(out.extensions?.['code'] ?? GatewayErrorCode.INTERNAL_SERVER_ERROR));
    return out;
  };
}

function format(formatted: GraphQLFormattedError, error: unknown, log: Logger): GraphQLFormattedError {
  const gw = findGatewayError(error);
  if (gw?.safe === true) {
    return {
      message: gw.message,
      ...position(formatted),
      extensions: { code: gw.code, ...(gw.details !== undefined ? { details: gw.details } : {}) },
    };
  }
  const code = formatted.extensions?.['code'];
  if (gw === undefined && typeof code === 'string' && PASS_THROUGH.has(code)) {
    return { message: formatted.message, ...position(formatted), extensions: { code } };
  }
  const errorId = randomUUID();
  log.error({ errorId, err: rootCause(error), path: formatted.path, message: formatted.message }, 'unexpected error in a GraphQL request');
  return {
    message: `Internal error (id ${errorId})`,
    ...position(formatted),
    extensions: { code: GatewayErrorCode.INTERNAL_SERVER_ERROR, errorId },
  };
}

/** A GraphQL-shaped error body for responses made outside GraphQL execution (401, 413, bad JSON). */
export function errorBody(code: string, message: string): { errors: GraphQLFormattedError[] } {
  return { errors: [{ message, extensions: { code } }] };
}
