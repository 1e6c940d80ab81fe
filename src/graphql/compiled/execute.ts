/**
 * The fast path's executor: a POST body whose document is compiled (operations.ts) runs through
 * graphql-jit with the same resolvers, context and limits as Apollo's path. Only a result without
 * errors is answered here; any error (FORBIDDEN, BAD_USER_INPUT, bad variables, a timeout) makes the
 * caller hand the request to Apollo, so every error response is graphql-js's own, masked and
 * counted as before.
 *
 * Verify mode (tests): the operation also runs through graphql-js `execute` on the very same
 * engine results (recorded during the compiled run and replayed, so concurrent writes cannot make
 * the two differ), and any difference in the response is an INTERNAL_SERVER_ERROR, logged with both
 * results: the whole test suite becomes a corpus for "compiled returns what graphql-js returns".
 */
import { execute, GraphQLError, type ExecutionResult } from 'graphql';
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

/** The response body Apollo sends for a result (its `prettyJSONStringify`: errors, data, extensions, then a newline). */
export function responseBody(result: ExecutionResult): string {
  return `${JSON.stringify({ errors: result.errors, data: result.data, extensions: result.extensions })}\n`;
}

/**
 * Runs a compiled request. Resolves to the 200 response body, or undefined when the result has
 * errors (the caller hands the request to Apollo, with a fresh context).
 */
export async function runCompiled(request: CompiledRequest, context: GraphQLContext, o: RunOptions): Promise<string | undefined> {
  if (!o.verify) {
    const result = await request.operation.compiled.query(undefined, context, request.variables ?? {});
    return result.errors !== undefined && result.errors.length > 0 ? undefined : responseBody({ data: result.data });
  }
  const tape = recordingEngines(context.engine);
  const withEngine = (engine: RequestEngine): GraphQLContext => ({
    ...context, engine, loaders: createLoaders(engine, context.viewer, context.registry, { cache: context.transport === 'http' }),
  });
  const result = await request.operation.compiled.query(undefined, withEngine(tape.recording), request.variables ?? {});
  if (result.errors !== undefined && result.errors.length > 0) return undefined;
  const { document, operationName } = request.operation;
  const reference = await execute({
    schema: request.operation.schema,
    document, contextValue: withEngine(tape.replaying), variableValues: request.variables ?? {}, ...(operationName !== undefined ? { operationName } : {}),
  });
  const compiled = responseBody({ data: result.data });
  const expected = responseBody(reference);
  if (compiled === expected) {
    o.log.debug({ requestId: context.requestId }, 'compiled operation verified against graphql-js');
    return compiled;
  }
  const error = new GraphQLError('A compiled operation answered differently from graphql-js', {
    originalError: new Error(`compiled operation differs from graphql-js: compiled ${compiled.trim()} graphql-js ${expected.trim()}`),
  });
  o.log.error({ requestId: context.requestId, compiled: compiled.trim(), graphqlJs: expected.trim() }, 'compiled operation differs from graphql-js');
  return responseBody({ errors: [o.formatError(error.toJSON(), error)] as never, data: null });
}

/**
 * Two views of one request engine: `recording` runs statements and keeps their results (and the
 * feed heads it read); `replaying` hands back the same results for the same statements, in order,
 * and runs only statements the recording never saw.
 */
export function recordingEngines(engine: RequestEngine): { recording: RequestEngine; replaying: RequestEngine } {
  const tape = new Map<string, unknown[][]>();
  const heads: ReturnType<RequestEngine['feed']['head']>[] = [];
  const keyOf = (kind: string, sql: string, params: readonly unknown[]) => `${kind}\u0000${sql}\u0000${JSON.stringify(params)}`;
  const record = <T>(key: string, value: T): T => {
    let list = tape.get(key);
    if (list === undefined) tape.set(key, (list = []));
    list.push([value]);
    return value;
  };
  const replay = (key: string): { value: unknown } | undefined => {
    const v = tape.get(key)?.shift();
    return v === undefined ? undefined : { value: v[0] };
  };
  const recordingFeed = Object.create(engine.feed, {
    head: { value: () => { const h = engine.feed.head(); heads.push(h); return h; } },
  }) as RequestEngine['feed'];
  const replayingFeed = Object.create(engine.feed, {
    head: { value: () => (heads.length > 0 ? heads.shift()! : engine.feed.head()) },
  }) as RequestEngine['feed'];
  const snapshot = engine.snapshot;
  const recording: RequestEngine = {
    kind: engine.kind,
    feed: recordingFeed,
    query: async <R>(sql: string, params: readonly unknown[] = [], options?: Parameters<RequestEngine['query']>[2]) =>
      record(keyOf('q', sql, params), await engine.query<R>(sql, params, options)),
    ...(snapshot !== undefined ? {
      snapshot: async <R>(sql: string, params: readonly unknown[] = []) => record(keyOf('s', sql, params), await snapshot<R>(sql, params)),
    } : {}),
  };
  const replaying: RequestEngine = {
    kind: engine.kind,
    feed: replayingFeed,
    query: async <R>(sql: string, params: readonly unknown[] = [], options?: Parameters<RequestEngine['query']>[2]) => {
      const hit = replay(keyOf('q', sql, params));
      return hit !== undefined ? hit.value as R[] : engine.query<R>(sql, params, options);
    },
    ...(snapshot !== undefined ? {
      snapshot: async <R>(sql: string, params: readonly unknown[] = []) => {
        const hit = replay(keyOf('s', sql, params));
        return hit !== undefined ? hit.value as Awaited<ReturnType<NonNullable<RequestEngine['snapshot']>>> as never : snapshot<R>(sql, params);
      },
    } : {}),
  };
  return { recording, replaying };
}
