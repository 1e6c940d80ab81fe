/**
 * A graphql-ws client for tests: payloads are queued, so a test causes a change and then
 * `await sub.next()` (with a deadline, never a sleep). Close codes are captured for auth tests.
 */
import type { FormattedExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';

type ExecutionResult<T> = FormattedExecutionResult<T, unknown>;
import WebSocket from 'ws';

/** One event a subscription's sink saw. */
export type SinkEvent<T> = { kind: 'next'; value: ExecutionResult<T> } | { kind: 'error'; error: unknown } | { kind: 'complete' };

/** A subscription with a queue of what arrived. */
export interface TestSubscription<T> {
  /** Next queued event, which must be a `next` payload. */
  next(timeoutMs?: number): Promise<ExecutionResult<T>>;
  /** Next queued event, which must be an `error` (graphql-ws error message: an array of errors). */
  error(timeoutMs?: number): Promise<Array<{ message: string; extensions?: Record<string, unknown> }>>;
  /** Every event so far, in order. */
  readonly events: ReadonlyArray<SinkEvent<T>>;
  unsubscribe(): void;
}

/** A connected (or refused) client. */
export interface TestWsClient {
  readonly client: Client;
  /** Resolves with the first close of the socket. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Resolves when the server acknowledged connection_init; rejects if the socket closed first. */
  readonly connected: Promise<void>;
  subscribe<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): TestSubscription<T>;
  /** The underlying `ws` socket once opened (e.g. to pause() reading and play a slow client). */
  socket(): WebSocket | undefined;
  dispose(): Promise<void>;
}

const leftovers = new Set<TestWsClient>();

/** Connects eagerly with `connectionParams`, no retries. */
export function connectWs(url: string, connectionParams?: Record<string, unknown>): TestWsClient {
  let onClosed!: (c: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (onClosed = r));
  let onConnected!: () => void;
  let onRefused!: (e: Error) => void;
  const connected = new Promise<void>((res, rej) => {
    onConnected = res;
    onRefused = rej;
  });
  connected.catch(() => undefined);
  let socket: WebSocket | undefined;
  /** graphql-ws constructs the socket itself: this subclass remembers it. */
  class TrackedWebSocket extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      socket = this;
    }
  }
  const client = createClient({
    url,
    webSocketImpl: TrackedWebSocket,
    lazy: false,
    retryAttempts: 0,
    ...(connectionParams !== undefined ? { connectionParams } : {}),
    onNonLazyError: () => undefined,
    on: {
      connected: () => onConnected(),
      closed: (event) => {
        const e = event as { code: number; reason: string | Buffer };
        onClosed({ code: e.code, reason: String(e.reason) });
        onRefused(new Error(`socket closed with ${e.code} before acknowledgement`));
      },
    },
  });
  const handle: TestWsClient = {
    client,
    closed,
    connected,
    subscribe<T>(query: string, variables?: Record<string, unknown>): TestSubscription<T> {
      const events: Array<SinkEvent<T>> = [];
      let taken = 0;
      let wake: (() => void) | undefined;
      const push = (e: SinkEvent<T>) => {
        events.push(e);
        wake?.();
      };
      const take = async (timeoutMs: number): Promise<SinkEvent<T>> => {
        const deadline = Date.now() + timeoutMs;
        while (taken >= events.length) {
          const left = deadline - Date.now();
          if (left <= 0) throw new Error(`no subscription event within ${timeoutMs} ms (received ${events.length})`);
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, left);
            wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          wake = undefined;
        }
        return events[taken++]!;
      };
      const unsubscribe = client.subscribe<T>({ query, ...(variables !== undefined ? { variables } : {}) }, {
        next: (value) => push({ kind: 'next', value }),
        error: (error) => push({ kind: 'error', error }),
        complete: () => push({ kind: 'complete' }),
      });
      return {
        events,
        unsubscribe,
        async next(timeoutMs = 5_000) {
          const e = await take(timeoutMs);
          if (e.kind !== 'next') throw new Error(`expected a next payload, got ${e.kind}: ${JSON.stringify(e.kind === 'error' ? e.error : null)}`);
          return e.value;
        },
        async error(timeoutMs = 5_000) {
          const e = await take(timeoutMs);
          if (e.kind !== 'error') throw new Error(`expected an error, got ${e.kind}: ${JSON.stringify(e.kind === 'next' ? e.value : null)}`);
          return e.error as Array<{ message: string; extensions?: Record<string, unknown> }>;
        },
      };
    },
    socket: () => socket,
    async dispose() {
      leftovers.delete(handle);
      await client.dispose();
    },
  };
  leftovers.add(handle);
  return handle;
}

/** Disposes every client not disposed yet (call in afterAll). */
export async function disposeWsClients(): Promise<void> {
  await Promise.all([...leftovers].map((c) => c.dispose()));
}
