/**
 * The gateway: one HTTP server with GraphQL over HTTP (Apollo) and websockets (graphql-ws) on
 * /graphql, GraphiQL, /healthz, /readyz and /metrics, over an engine and its change feed.
 *
 * Lifecycle (a typed phase, as Apollo's ServerState): starting → running → draining → stopped.
 * Shutdown order: stop accepting (draining: new HTTP requests get 503, upgrades are refused),
 * close websockets with 1001, close the hub, stop Apollo (its drain plugin closes the listener and
 * waits for in-flight requests), close the engine only if the gateway opened it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTokenVerifier } from './auth/verify';
import type { Config } from './config/types';
import { openEngine } from './engine/open';
import { QueryScheduler } from './engine/scheduler';
import type { Engine } from './engine/types';
import type { ContextDeps } from './graphql/context';
import { createErrorFormatter } from './graphql/errors';
import { createApolloServer } from './graphql/apollo';
import { createOperationCache } from './graphql/executableSchema';
import { getSchema } from './graphql/executableSchema';
import { attachWebSocketServer, type WebSocketHandle } from './graphql/websocket';
import type { Logger } from './log';
import { createMetrics, type GatewayMetrics } from './metrics';
import { createHttpApp } from './http/app';
import type { Readiness } from './http/health';
import { SubscriptionHub } from './subscriptions/hub';
import { LookupHub } from './subscriptions/lookups';

/** What the gateway is given rather than creates. */
export interface GatewayDeps {
  log: Logger;
  /**
   * The engine to serve; it stays open on stop (the caller closes it after). Without one, the
   * gateway opens the engine `config` names with openEngine (on risingwave with its Kafka feed,
   * poison records counted on `metrics`) and closes it after its own shutdown.
   */
  engine?: Engine;
  /** Metrics to serve on /metrics, when the caller feeds some too (the Kafka feed's poison count). @default createMetrics() */
  metrics?: GatewayMetrics;
  /**
   * GraphQL queries over HTTP through compiled operations (http/app.ts, graphql/compiled/), and the
   * events of shared subscriptions through compiled subscriptions (graphql/fanout.ts):
   * `compiled: false` sends every request through express and Apollo and executes events with
   * graphql-js; `verify: true` (the tests)
   * also runs graphql-js on each compiled request and answers INTERNAL_SERVER_ERROR on any difference.
   * @default { compiled: true, verify: false }
   */
  queries?: { readonly compiled?: boolean; readonly verify?: boolean };
}

/** A running gateway. */
export interface Gateway {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4000/graphql` (websockets: same path, ws://). */
  readonly url: string;
  /** The bound port (useful with `port: 0`). */
  readonly port: number;
  readonly engine: Engine;
  readonly hub: SubscriptionHub;
  /** Shares engine queries of GraphQL requests fairly between viewers (its `active`/`waiting` show the load). */
  readonly scheduler: QueryScheduler;
  /** Shuts down in order (see the module comment). Idempotent; concurrent calls share one shutdown. */
  stop(): Promise<void>;
}

type GatewayState =
  | { readonly phase: 'starting' }
  | { readonly phase: 'running' }
  | { readonly phase: 'draining'; readonly done: Promise<void> }
  | { readonly phase: 'stopped' };

function unreachable(x: never): never {
  throw new Error(`unreachable: ${JSON.stringify(x)}`);
}

/** The engine to serve, with its close when the gateway opened it (a given engine is the caller's to close). */
async function engineToServe(config: Config, deps: GatewayDeps, metrics: GatewayMetrics): Promise<{ engine: Engine; close?: () => Promise<void> }> {
  if (deps.engine !== undefined) return { engine: deps.engine };
  const opened = await openEngine(config, { log: deps.log, onPoison: (r) => metrics.feedPoison(r.reason) });
  return { engine: opened.engine, close: () => opened.close() };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** A host usable in a URL: wildcard binds become loopback, IPv6 literals get brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** Starts the gateway on `config.host:config.port`. Throws BAD_CONFIG for a bad auth setup before opening anything. */
export async function startGateway(config: Config, deps: GatewayDeps): Promise<Gateway> {
  const log = deps.log.child('gateway');
  // The views' GraphQL schema is generated (and checked: BAD_CONFIG) before anything opens.
  getSchema(config.views);
  const verifier = createTokenVerifier(config.auth, config.views, deps.log.child('auth'));
  const metrics = deps.metrics ?? createMetrics();
  const { engine, close: closeEngine } = await engineToServe(config, deps, metrics);
  let state: GatewayState = { phase: 'starting' };
  const accepting = () => state.phase === 'running';
  let hub: SubscriptionHub;
  // Subscriptions whose permission reads another view hold its sets here; the hub sees each batch
  // of changes after the sets do.
  // The views served (the engine's, as for the hub and the passthrough): the GraphQL schema is theirs.
  const registry = engine.views;
  const lookups = new LookupHub(engine, registry, { log: deps.log });
  try {
    const subs = config.subscriptions;
    hub = new SubscriptionHub(lookups.feedThrough(engine.feed), {
      views: engine.views,
      queueLimit: subs.queueLimit,
      conflateLimit: subs.conflateLimit,
      replayPageSize: subs.replayPageSize,
      maxReplays: subs.maxReplays,
      maxReplaysPerSubject: subs.maxReplaysPerSubject,
      maxReplaysPerSocket: subs.maxReplaysPerSocket,
      log: deps.log,
      onDelivered: metrics.delivered,
    });
  } catch (err) {
    await closeEngine?.().catch(() => undefined);
    throw err;
  }
  metrics.bind({ hub, feed: engine.feed });
  const formatError = createErrorFormatter(deps.log.child('graphql'), metrics.graphqlError);
  const { queryConcurrency, viewerQueryConcurrency, viewerQueueLimit } = config.limits;
  const scheduler = new QueryScheduler({ concurrency: queryConcurrency, perKey: viewerQueryConcurrency, queueLimit: viewerQueueLimit });
  const contextDeps: ContextDeps = { engine, hub, lookups, scheduler, registry, limits: config.limits, log: deps.log };
  const readiness = (): Readiness => {
    if (state.phase !== 'running') return { ready: false, reason: `gateway is ${state.phase}` };
    if (!engine.ready()) return { ready: false, reason: 'engine not ready' };
    const feed = engine.feed.status();
    if (!feed.ready) return { ready: false, reason: `change feed not ready${feed.detail !== undefined ? `: ${feed.detail}` : ''}` };
    return { ready: true };
  };

  // Idle keep-alive connections outlive the clients' and load balancers' own idle timeouts (60 s on
  // common ones), so the server never closes a connection a client is just reusing (ECONNRESET).
  const httpServer = createServer({ keepAliveTimeout: 65_000, headersTimeout: 66_000 });
  capConnectionsPerAddress(httpServer, config.limits.maxConnectionsPerAddress, metrics.httpConnectionRefused);
  const apollo = createApolloServer({ httpServer, limits: config.limits, registry, formatError, log: deps.log });
  let ws: WebSocketHandle | undefined;
  try {
    await apollo.start();
    const compiled = deps.queries?.compiled === false ? undefined
      : { operations: createOperationCache(registry, config.limits), verify: deps.queries?.verify === true, formatError };
    httpServer.on('request', createHttpApp({ config, apollo, contextDeps, verifier, metrics, log: deps.log, readiness, accepting, ...(compiled !== undefined ? { compiled } : {}) }));
    await listen(httpServer, config.port, config.host);
    // After listen: ws re-emits the HTTP server's errors, and graphql-ws reports those on the console.
    ws = attachWebSocketServer({
      httpServer, config, verifier, contextDeps, formatError, countError: metrics.graphqlError, log: deps.log, accepting,
      compiled: deps.queries?.compiled !== false, verifyCompiled: deps.queries?.verify === true,
    });
  } catch (err) {
    await ws?.close().catch(() => undefined);
    hub.close();
    await apollo.stop().catch(() => undefined);
    await closeEngine?.().catch(() => undefined);
    throw err;
  }
  const sockets = ws;
  state = { phase: 'running' };
  const port = (httpServer.address() as AddressInfo).port;
  const url = `http://${urlHost(config.host)}:${port}/graphql`;
  log.info({ url, engine: engine.kind, auth: config.auth.enabled }, 'gateway listening');

  const shutdown = async (): Promise<void> => {
    log.info({}, 'gateway draining');
    const failures: unknown[] = [];
    const step = async (name: string, fn: () => Promise<void> | void) => {
      try {
        await fn();
      } catch (err) {
        log.error({ err, step: name }, 'shutdown step failed');
        failures.push(err);
      }
    };
    await step('websockets', () => sockets.close());
    await step('hub', () => hub.close());
    await step('lookups', () => lookups.close());
    await step('apollo', () => apollo.stop());
    if (closeEngine !== undefined) await step('engine', closeEngine);
    log.info({ failures: failures.length }, 'gateway stopped');
    if (failures.length > 0) throw failures[0];
  };

  return {
    url,
    port,
    engine,
    hub,
    scheduler,
    async stop() {
      switch (state.phase) {
        case 'stopped':
          return;
        case 'draining':
          return state.done;
        case 'starting':
        case 'running': {
          const done = shutdown().finally(() => {
            state = { phase: 'stopped' };
          });
          state = { phase: 'draining', done };
          return done;
        }
        default:
          return unreachable(state);
      }
    },
  };
}

/**
 * At most `max` open connections per client address (0: no cap): one more is destroyed as it
 * arrives, before a byte is read, so slow or idle clients from one address cannot hold every
 * descriptor (docs/SECURITY.md). Websockets count while they are open.
 */
function capConnectionsPerAddress(server: Server, max: number, refused: () => void): void {
  if (max === 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = socket.remoteAddress ?? '';
    const n = open.get(address) ?? 0;
    if (n >= max) {
      refused();
      socket.destroy();
      return;
    }
    open.set(address, n + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
