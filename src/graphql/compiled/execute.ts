/**
 * The fast path's executor: a POST body whose document is compiled (operations.ts) runs through
 * graphql-jit with the same resolvers, context, deadline and limits as Apollo's path, and is
 * answered as Apollo answers (apolloAnswer: the same error codes, masking through errors.ts, metrics
 * through the same formatter). Variables that do not coerce (nothing executed) go to Apollo for its
 * 400.
 *
 * Verify mode (tests): the operation also runs through graphql-js `execute` on the very same
 * engine results (recorded during the compiled run and replayed, so concurrent writes cannot make
 * the two differ), and any difference in the response is an INTERNAL_SERVER_ERROR, logged with both
 * results: the whole test suite becomes a corpus for "compiled returns what graphql-js returns".
 */
import { execute, getVariableValues, GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { Logger } from '../../log';
import type { GraphQLContext, RequestEngine } from '../context';
import type { ErrorFormatter } from '../errors';
import { createLoaders } from '../loaders';
import type { CompiledOperation, OperationCache } from './operations';

/** A request the fast path runs: its compiled operation and variables. */
export interface CompiledRequest {
  readonly operation: CompiledOperation;
  readonly variables: Readonly<Record<string, unknown>> | undefined;
}

const BODY_KEYS: ReadonlySet<string> = new Set(['query', 'operationName', 'variables']);

/**
 * The compiled request of a parsed POST body, or undefined when Apollo must handle it: not an
 * object, fields other than `query`, `operationName` and `variables` (extensions, persisted
 * queries), wrong types, or a document that is not compiled (operations.ts).
 */
export function compiledRequest(cache: OperationCache, body: unknown): CompiledRequest | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const b = body as Record<string, unknown>;
  for (const k in b) if (!BODY_KEYS.has(k)) return undefined;
  const { query, operationName, variables } = b;
  if (typeof query !== 'string') return undefined;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return undefined;
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) return undefined;
  const operation = cache.get(query, operationName ?? undefined);
  if (operation === undefined) return undefined;
  return { operation, variables: (variables ?? undefined) as Record<string, unknown> | undefined };
}

/** Options of {@link runCompiled}. */
export interface RunOptions {
  /** Also run graphql-js on the same engine results and refuse any difference (tests). */
  readonly verify: boolean;
  readonly formatError: ErrorFormatter;
  readonly log: Logger;
}

/** An HTTP answer of the fast path. */
export interface CompiledAnswer {
  readonly status: number;
  /** `application/json; charset=utf-8` text. */
  readonly body: string;
}

/** The response body Apollo sends for a result (its `prettyJSONStringify` of errors, data, extensions, then a newline). */
export function responseBody(result: { readonly errors?: unknown; readonly data?: unknown; readonly extensions?: unknown }): string {
  return `${JSON.stringify({ errors: result.errors, data: result.data, extensions: result.extensions })}\n`;
}

/**
 * Apollo Server 5's answer to an executed result (its requestPipeline and errorNormalize): each
 * error gets `extensions.code` (INTERNAL_SERVER_ERROR when it has none), an `extensions.http` head
 * is taken out and applied, then `formatError` (errors.ts masking) runs on it; a formatter that
 * throws gives Apollo's "Internal server error". Status 200 unless an error's head says otherwise.
 */
export function apolloAnswer(result: ExecutionResult, formatError: ErrorFormatter): CompiledAnswer {
  if (result.errors === undefined || result.errors.length === 0) return { status: 200, body: responseBody({ data: result.data, extensions: result.extensions }) };
  let status = 200;
  const errors = result.errors.map((error): GraphQLFormattedError => {
    try {
      const extensions: Record<string, unknown> = { ...error.extensions, code: error.extensions?.['code'] ?? 'INTERNAL_SERVER_ERROR' };
      const http = extensions['http'] as { status?: unknown } | undefined;
      if (typeof http === 'object' && http !== null) {
        if (typeof http.status === 'number') status = http.status;
        delete extensions['http'];
      }
      return formatError({ ...error.toJSON(), extensions }, error);
    } catch {
      return { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
    }
  });
  return { status, body: responseBody({ errors, data: result.data, extensions: result.extensions }) };
}

/**
 * What verify mode compares: the data exactly, and the errors as a sorted list of their messages and
 * the errors behind them (what masking reads). Which of several concurrent failures is reported,
 * and in which order, depends on timing in graphql-js as here (a replay cannot reproduce it), so
 * error paths and locations are compared by the corpus test (test/integration/graphql-compiled.test.ts)
 * instead, where nothing races.
 */
function fingerprint(result: ExecutionResult): string {
  const errors = result.errors?.map((e) => {
    const cause = e.originalError;
    const { message, extensions } = e.toJSON();
    return JSON.stringify({ message, extensions: extensions ?? null, cause: cause === undefined ? null : { name: cause.constructor.name, message: cause.message, code: (cause as { code?: unknown }).code ?? null } });
  }).sort();
  return JSON.stringify({ errors, data: result.data });
}

/**
 * Runs a compiled request and answers it as Apollo would. Undefined when the request failed before
 * execution (variables that do not coerce: nothing ran), which the caller hands to Apollo for its
 * 400 answer.
 */
export async function runCompiled(request: CompiledRequest, context: GraphQLContext, o: RunOptions): Promise<CompiledAnswer | undefined> {
  // Variables are checked by graphql-js first: graphql-jit coerces the built-in scalar names (our ID
  // among them) its own way, skipping the schema's parseValue (NUL, length), and words its errors
  // differently. Values graphql-js accepts, graphql-jit coerces to the same (the scalars' parseValue
  // is idempotent); any problem goes to Apollo, which answers 400 as before. Nothing has run yet.
  const definitions = request.operation.operation.variableDefinitions;
  if (definitions !== undefined && definitions.length > 0
    && getVariableValues(request.operation.schema, definitions, request.variables ?? {}, { maxErrors: 1 }).errors !== undefined) return undefined;
  if (!o.verify) {
    const result = await request.operation.compiled.query(undefined, context, request.variables ?? {});
    return result.data === undefined ? undefined : apolloAnswer(result, o.formatError);
  }
  const tape = recordingEngines(context.engine);
  const withEngine = (engine: RequestEngine): GraphQLContext => ({
    ...context, engine, loaders: createLoaders(engine, context.viewer, context.registry, { cache: context.transport === 'http' }),
  });
  const result = await request.operation.compiled.query(undefined, withEngine(tape.recording), request.variables ?? {});
  if (result.data === undefined) return undefined;
  const { document, operationName } = request.operation;
  const reference = await execute({
    schema: request.operation.schema,
    document, contextValue: withEngine(tape.replaying), variableValues: request.variables ?? {}, ...(operationName !== undefined ? { operationName } : {}),
  });
  const compiled = fingerprint(result);
  const expected = fingerprint(reference);
  if (compiled === expected) {
    o.log.debug({ requestId: context.requestId }, 'compiled operation verified against graphql-js');
    return apolloAnswer(result, o.formatError);
  }
  const error = new GraphQLError('A compiled operation answered differently from graphql-js', {
    originalError: new Error(`compiled operation differs from graphql-js: compiled ${compiled} graphql-js ${expected}`),
  });
  o.log.error({ requestId: context.requestId, compiled, graphqlJs: expected }, 'compiled operation differs from graphql-js');
  return apolloAnswer({ errors: [error], data: null }, o.formatError);
}

/**
 * Two views of one request engine: `recording` runs statements and keeps their results (and the
 * feed heads it read); `replaying` hands back the same results for the same statements, in order,
 * and runs only statements the recording never saw.
 */
export function recordingEngines(engine: RequestEngine): { recording: RequestEngine; replaying: RequestEngine } {
  // Outcomes per statement, in order: a result or the error it failed with (replayed as the same failure).
  const tape = new Map<string, Array<{ readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown }>>();
  const heads: ReturnType<RequestEngine['feed']['head']>[] = [];
  const keyOf = (kind: string, sql: string, params: readonly unknown[]) => `${kind}\u0000${sql}\u0000${JSON.stringify(params)}`;
  const record = async <T>(key: string, run: () => Promise<T>): Promise<T> => {
    let list = tape.get(key);
    if (list === undefined) tape.set(key, (list = []));
    try {
      const value = await run();
      list.push({ ok: true, value });
      return value;
    } catch (error) {
      list.push({ ok: false, error });
      throw error;
    }
  };
  const replay = async <T>(key: string, run: () => Promise<T>): Promise<T> => {
    const outcome = tape.get(key)?.shift();
    if (outcome === undefined) return run();
    if (!outcome.ok) throw outcome.error;
    return outcome.value as T;
  };
  const recordingFeed = Object.create(engine.feed, {
    head: { value: () => { const h = engine.feed.head(); heads.push(h); return h; } },
  }) as RequestEngine['feed'];
  const replayingFeed = Object.create(engine.feed, {
    head: { value: () => (heads.length > 0 ? heads.shift()! : engine.feed.head()) },
  }) as RequestEngine['feed'];
  const snapshot = engine.snapshot;
  type Options = Parameters<RequestEngine['query']>[2];
  const recording: RequestEngine = {
    kind: engine.kind,
    feed: recordingFeed,
    query: <R>(sql: string, params: readonly unknown[] = [], options?: Options) => record(keyOf('q', sql, params), () => engine.query<R>(sql, params, options)),
    ...(snapshot !== undefined ? { snapshot: <R>(sql: string, params: readonly unknown[] = []) => record(keyOf('s', sql, params), () => snapshot<R>(sql, params)) } : {}),
  };
  const replaying: RequestEngine = {
    kind: engine.kind,
    feed: replayingFeed,
    query: <R>(sql: string, params: readonly unknown[] = [], options?: Options) => replay(keyOf('q', sql, params), () => engine.query<R>(sql, params, options)),
    ...(snapshot !== undefined ? { snapshot: <R>(sql: string, params: readonly unknown[] = []) => replay(keyOf('s', sql, params), () => snapshot<R>(sql, params)) } : {}),
  };
  return { recording, replaying };
}
