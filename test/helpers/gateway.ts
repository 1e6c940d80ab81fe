/**
 * A real gateway for integration tests: EmbeddedEngine (PGlite), HTTP and websockets on port 0,
 * the {@link TEST_SECRET}, a silent (or given) logger. Dispose it in afterAll.
 */
import { bundledRegistry } from '../../src/views/load';
import type { Registry } from '../../src/views/model';
import { signToken } from '../../src/auth/token';
import { DEFAULT_LIMITS, DEFAULT_SUBSCRIPTIONS } from '../../src/config/load';
import type { AuthConfig, Config, CorsConfig, LimitsConfig, SubscriptionsConfig } from '../../src/config/types';
import { EmbeddedEngine } from '../../src/engine/embedded/engine';
import type { ChangeFeed, Engine, QueryOptions } from '../../src/engine/types';
import { startGateway, type Gateway } from '../../src/gateway';
import { silentLogger, type Logger } from '../../src/log';
import type { GeoPoint, OutboxEvent } from '../../src/outbox/events';
import { writeEvents } from '../../src/outbox/writer';
import { TEST_SECRET } from './tokens';

/** Changes to the test configuration. */
export interface TestGatewayOverrides {
  auth?: Partial<AuthConfig>;
  limits?: Partial<LimitsConfig>;
  subscriptions?: Partial<SubscriptionsConfig>;
  /** Browser origins allowed besides the gateway's own. @default none */
  cors?: CorsConfig;
  /** Embedded change-log rows kept for resume. @default 100_000 */
  changeRetention?: number;
  /** @default silentLogger */
  log?: Logger;
  /** Wraps the engine the gateway sees (e.g. to count queries); the test still writes to the real one. */
  wrapEngine?: (engine: EmbeddedEngine) => Engine;
  /** The views served (e.g. loadRegistry of a schema directory). @default bundledRegistry() */
  views?: Registry;
}

/** `engine` with its `query` (and, when given, its feed) replaced, for `wrapEngine`; the rest passes through. */
export function withQuery(engine: Engine, query: Engine['query'], feed: ChangeFeed = engine.feed): Engine {
  return { kind: engine.kind, views: engine.views, feed, ready: () => engine.ready(), close: () => engine.close(), query };
}

/** An engine kept busy by its first query until the request's deadline aborts it. */
export interface BusyEngine {
  readonly engine: Engine;
  /** Queries asked of the engine so far. */
  readonly calls: number;
}

/** `engine` whose first query with a signal waits until that signal aborts (the deadline passed), then runs. */
export function busyUntilDeadline(engine: Engine): BusyEngine {
  let calls = 0;
  const wrapped = withQuery(engine, async function query<R>(sql: string, params: readonly unknown[] = [], options?: QueryOptions): Promise<R[]> {
    if (calls++ === 0 && options?.signal !== undefined) {
      const signal = options.signal;
      await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    }
    return engine.query<R>(sql, params, options);
  });
  return { engine: wrapped, get calls() { return calls; } };
}

/** A GraphQL HTTP response. */
export interface GqlResponse<T = Record<string, unknown>> {
  status: number;
  body: { data?: T | null; errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }> };
}

/** A started test gateway. */
/** What tests use to reach a started gateway, on either engine. */
export interface GatewayClient {
  readonly gateway: Gateway;
  readonly config: Config;
  /** http://127.0.0.1:<port>/graphql */
  readonly url: string;
  /** ws://127.0.0.1:<port>/graphql */
  readonly wsUrl: string;
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  /** A valid HS256 token. */
  token(sub: string, role: string, ttlSeconds?: number): Promise<string>;
  /** POSTs a GraphQL request, with `Authorization: Bearer <token>` when given. */
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResponse<T>>;
}

export interface TestGateway extends GatewayClient {
  readonly engine: EmbeddedEngine;
  /** Stops the gateway, then closes the engine. */
  dispose(): Promise<void>;
}

/** The configuration a test gateway runs with. */
export function testConfig(o: TestGatewayOverrides = {}): Config {
  return {
    views: o.views ?? bundledRegistry(),
    host: '127.0.0.1',
    port: 0,
    engine: 'embedded',
    changeRetention: o.changeRetention ?? 100_000,
    auth: { enabled: true, secret: TEST_SECRET, ...o.auth },
    simulator: { enabled: false, ridesPerSecond: 1, riders: 1, drivers: 1, pace: 0 },
    limits: { ...DEFAULT_LIMITS, ...o.limits },
    subscriptions: { ...DEFAULT_SUBSCRIPTIONS, ...o.subscriptions },
    ...(o.cors !== undefined ? { cors: o.cors } : {}),
    logLevel: 'silent',
  };
}

/** POSTs a GraphQL request to `url`, with `Authorization: Bearer <token>` when given. */
export async function gqlRequest<T = Record<string, unknown>>(url: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, ...(variables !== undefined ? { variables } : {}) }),
  });
  return { status: res.status, body: (await res.json()) as GqlResponse<T>['body'] };
}

/** Starts a gateway over a fresh in-memory EmbeddedEngine. */
export async function startTestGateway(overrides: TestGatewayOverrides = {}): Promise<TestGateway> {
  const config = testConfig(overrides);
  const log = overrides.log ?? silentLogger;
  // No pruning timer: a test that needs the change log pruned calls engine.prune() and counts what
  // it deleted, which the engine's own timer must not have deleted first.
  const engine = await EmbeddedEngine.create({ log, changeRetention: config.changeRetention, pruneIntervalMs: 0, views: config.views });
  let gateway: Gateway;
  try {
    // Every compiled query is checked against graphql-js (a difference answers INTERNAL_SERVER_ERROR).
    gateway = await startGateway(config, { log, engine: overrides.wrapEngine?.(engine) ?? engine, queries: { verify: true } });
  } catch (err) {
    await engine.close();
    throw err;
  }
  const url = gateway.url;
  return {
    gateway,
    engine,
    config,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    origin: new URL(url).origin,
    token: (sub, role, ttlSeconds = 300) => signToken(TEST_SECRET, { sub, role }, ttlSeconds),
    gql: (query, variables, token) => gqlRequest(url, query, variables, token),
    async dispose() {
      try {
        await gateway.stop();
      } finally {
        await engine.close();
      }
    },
  };
}

/** Steps a test ride goes through after RideRequested, in order. */
export type RideStep = 'assign' | 'fare' | 'start' | 'complete' | 'pay' | 'rate' | 'cancel';

/** A ride to write. */
export interface RideSpec {
  id: string;
  rider: string;
  driver?: string;
  /** When the ride was requested; later events follow a minute apart. @default now */
  requestedAt?: Date;
  /** @default ['assign', 'fare', 'start', 'complete', 'pay', 'rate'] when a driver is given, else [] */
  steps?: readonly RideStep[];
  /** Fare and payment amount. @default '10.00' */
  amount?: string;
}

const P1: GeoPoint = { lat: 52.52, lng: 13.405 };
const P2: GeoPoint = { lat: 52.5, lng: 13.3 };

/** The outbox events of a ride: one minute apart, starting at requestedAt. */
export function rideEvents(r: RideSpec): OutboxEvent[] {
  const t0 = (r.requestedAt ?? new Date()).getTime();
  const amount = r.amount ?? '10.00';
  const driver = r.driver ?? 'driver-none';
  const steps = r.steps ?? (r.driver !== undefined ? ['assign', 'fare', 'start', 'complete', 'pay', 'rate'] : []);
  const when = (i: number) => ({ occurredAt: new Date(t0 + i * 60_000) });
  const events: OutboxEvent[] = [{ type: 'RideRequested', aggregateId: r.id, payload: { rider_id: r.rider, pickup: P1, dropoff: P2 }, ...when(0) }];
  steps.forEach((s, i) => {
    const occurredAt = when(i + 1);
    const aggregateId = r.id;
    switch (s) {
      case 'assign': return void events.push({ type: 'DriverAssigned', aggregateId, payload: { driver_id: driver, eta_seconds: 120 }, ...occurredAt });
      case 'fare': return void events.push({ type: 'FareCalculated', aggregateId, payload: { amount, currency: 'EUR', distance_km: '4.20' }, ...occurredAt });
      case 'start': return void events.push({ type: 'RideStarted', aggregateId, payload: { driver_id: driver }, ...occurredAt });
      case 'complete': return void events.push({ type: 'RideCompleted', aggregateId, payload: { driver_id: driver, distance_km: '4.25' }, ...occurredAt });
      case 'pay': return void events.push({ type: 'PaymentCaptured', aggregateId, payload: { amount, currency: 'EUR', payment_id: `pay-${r.id}` }, ...occurredAt });
      case 'rate': return void events.push({ type: 'TripRated', aggregateId, payload: { rated_by: 'rider', rating: 5 }, ...occurredAt });
      case 'cancel': return void events.push({ type: 'RideCancelled', aggregateId, payload: { cancelled_by: 'rider', reason: 'changed plans' }, ...occurredAt });
    }
  });
  return events;
}

/** Writes rides in one transaction (the views and change log update in it). */
export async function writeRides(engine: EmbeddedEngine, rides: readonly RideSpec[]): Promise<void> {
  await engine.transaction((tx) => writeEvents(tx, rides.flatMap(rideEvents)));
}

/** Writes more events of one ride in one transaction. */
export async function writeRideEvents(engine: EmbeddedEngine, events: readonly OutboxEvent[]): Promise<void> {
  await engine.transaction((tx) => writeEvents(tx, events));
}
