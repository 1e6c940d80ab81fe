/**
 * A real gateway on the RisingWave engine for integration tests: PostgreSQL 15 stands in for
 * RisingWave's SQL (a throwaway database with the outbox and the four views as plain views, see
 * test/conformance/databases.ts) and the KafkaFeed reads a real broker. Engine and feed are opened by
 * openEngine and the metrics fed by the feed's poison hook exactly as `wavegate serve` does; the
 * configuration goes through loadConfig from WAVEGATE_* variables. Only the feed's timeouts are the
 * tests' short ones (TEST_FEED_TIMEOUTS).
 */
import { signToken } from '../../src/auth/token';
import { loadConfig } from '../../src/config/load';
import { openEngine } from '../../src/engine/open';
import type { OpenedRisingWave, OpenRisingWaveOptions } from '../../src/engine/risingwave/open';
import { startGateway, type Gateway } from '../../src/gateway';
import { silentLogger, type Logger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import { normalizeRow } from '../../src/views/normalize';
import { bundledRegistry } from '../../src/views/load';
import { viewNamed } from '../../src/views/find';
import type { Row } from '../../src/views/model';
import type { PgTestDatabase } from '../conformance/databases';

export { writeUpstream } from '../conformance/databases';
import { gqlRequest, type GatewayClient } from './gateway';
import { TEST_FEED_TIMEOUTS } from './kafka';
import { TEST_SECRET } from './tokens';
import { waitFor } from './waitFor';
import { connectWs, type TestSubscription, type TestWsClient } from './wsClient';

/** What a RisingWave test gateway runs on. */
export interface RwGatewayOptions {
  /** The stand-in database (createPgDatabase + createRisingWaveStandIn), shared by a test file. */
  db: PgTestDatabase;
  brokers: readonly string[];
  /** The test file's topic prefix (uniquePrefix()); its four view topics must exist. */
  topicPrefix: string;
  /** More WAVEGATE_* variables, e.g. `{ WAVEGATE_SUB_QUEUE_LIMIT: '10' }`. */
  env?: Record<string, string>;
  /** Feed options on top of TEST_FEED_TIMEOUTS (e.g. `recentLimit`). */
  feed?: OpenRisingWaveOptions['feed'];
  /** Read-pool options (e.g. `statementTimeoutMs`). @default RisingWaveEngine's defaults */
  engine?: OpenRisingWaveOptions['engine'];
  /** @default silentLogger */
  log?: Logger;
}

/** A started RisingWave test gateway. */
export interface RwTestGateway extends GatewayClient {
  readonly rw: OpenedRisingWave;
  /** Sum of every sample of a metric on /metrics: 0 when it has none yet, NaN when /metrics does not declare it. */
  metric(name: string): Promise<number>;
  /** GET /readyz. */
  readyz(): Promise<{ status: number; body: { status: string; reason?: string } }>;
  /** Stops the gateway, then the feed (its consumer group is deleted), then the engine. Idempotent. */
  dispose(): Promise<void>;
}

/** Starts the gateway as `serve` does with WAVEGATE_ENGINE=risingwave: feed started, engine on it, gateway. */
export async function startRwGateway(o: RwGatewayOptions): Promise<RwTestGateway> {
  const log = o.log ?? silentLogger;
  const config = loadConfig({
    WAVEGATE_ENGINE: 'risingwave',
    WAVEGATE_DATABASE_URL: o.db.url,
    WAVEGATE_KAFKA_BROKERS: o.brokers.join(','),
    WAVEGATE_KAFKA_TOPIC_PREFIX: o.topicPrefix,
    WAVEGATE_PORT: '0',
    WAVEGATE_JWT_SECRET: TEST_SECRET,
    WAVEGATE_LOG_LEVEL: 'silent',
    ...o.env,
  });
  const metrics = createMetrics();
  const rw = await openEngine(config, { log, onPoison: (r) => metrics.feedPoison(r.reason), risingwave: { feed: { ...TEST_FEED_TIMEOUTS, ...o.feed }, ...(o.engine !== undefined ? { engine: o.engine } : {}) } });
  if (rw.kind !== 'risingwave') {
    await rw.close();
    throw new Error(`expected the risingwave engine, opened ${rw.kind}`);
  }
  let gateway: Gateway;
  try {
    // Every compiled query is checked against graphql-js (a difference answers INTERNAL_SERVER_ERROR).
    gateway = await startGateway(config, { log, engine: rw.engine, metrics, queries: { verify: true } });
  } catch (err) {
    await rw.close();
    throw err;
  }
  const url = gateway.url;
  const origin = new URL(url).origin;
  let disposed: Promise<void> | undefined;
  return {
    gateway, rw, config, url, origin,
    wsUrl: url.replace(/^http/, 'ws'),
    token: (sub, role, ttlSeconds = 300) => signToken(TEST_SECRET, { sub, role }, ttlSeconds),
    gql: (query, variables, token) => gqlRequest(url, query, variables, token),
    async metric(name) {
      const text = await (await fetch(`${origin}/metrics`)).text();
      if (!text.includes(`# TYPE ${name} `)) return Number.NaN;
      const samples = text.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
      return samples.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    },
    async readyz() {
      const res = await fetch(`${origin}/readyz`);
      return { status: res.status, body: (await res.json()) as { status: string; reason?: string } };
    },
    dispose() {
      disposed ??= (async () => {
        try {
          await gateway.stop();
        } finally {
          await rw.close();
        }
      })();
      return disposed;
    },
  };
}


/** The current trip_history row of a trip in the stand-in, in canonical form (what the upsert sink would write). */
export async function tripRowOf(rw: OpenedRisingWave, tripId: string): Promise<Row> {
  const [raw] = await rw.engine.query<Record<string, unknown>>('SELECT * FROM trip_history WHERE trip_id = $1', [tripId]);
  if (raw === undefined) throw new Error(`no trip_history row for ${tripId}`);
  return normalizeRow(viewNamed(bundledRegistry(), 'trip_history'), raw);
}

/**
 * A synthetic trip_history row in canonical form. `seq` goes into event_count and updated_at, so
 * order per trip is checkable on the receiving end.
 */
export function tripRow(id: string, seq: number, extra: Partial<Row> = {}): Row {
  return {
    trip_id: id, rider_id: 'rider-1', driver_id: null, status: 'REQUESTED',
    pickup_lat: 52.52, pickup_lng: 13.405, dropoff_lat: 52.5, dropoff_lng: 13.3,
    requested_at: '2026-10-05T13:40:00.000Z', assigned_at: null, started_at: null, completed_at: null,
    cancelled_at: null, cancelled_by: null, fare_amount: '12.50', fare_currency: 'EUR', paid_amount: null,
    distance_km: null, rider_rating: null, driver_rating: null,
    updated_at: new Date(Date.UTC(2026, 9, 5, 13, 40) + seq * 1000).toISOString(), event_count: seq, ...extra,
  };
}

/** A tripUpdated payload as the tests select it. */
export interface TripChangeData {
  tripUpdated: {
    kind: string;
    tripId: string | null;
    cursor: string;
    trip: { id: string; riderId: string | null; driverId: string | null; status: string; updatedAt: string } | null;
  };
}

/** tripUpdated with every filter and the resume cursor as variables. */
export const TRIP_UPDATED = `subscription($riderId: ID, $driverId: ID, $tripId: ID, $after: String) {
  tripUpdated(riderId: $riderId, driverId: $driverId, tripId: $tripId, after: $after) { kind tripId cursor trip { id riderId driverId status updatedAt } }
}`;

/** The `seq` a {@link tripRow} was made with, read back from a delivered trip's updatedAt. */
export function seqOf(trip: { updatedAt: string }): number {
  return (Date.parse(trip.updatedAt) - Date.UTC(2026, 9, 5, 13, 40)) / 1000;
}

/** A graphql-ws client of `sub` with `role`, connected (acknowledged). */
export async function connectAs(g: RwTestGateway, sub: string, role: string): Promise<TestWsClient> {
  const c = connectWs(g.wsUrl, { authorization: `Bearer ${await g.token(sub, role)}` });
  await c.connected;
  return c;
}

/** Subscribes and waits until the hub registered it, so changes produced next are not missed. */
export async function subscribed<T = TripChangeData>(g: RwTestGateway, c: TestWsClient, query: string, variables?: Record<string, unknown>): Promise<TestSubscription<T>> {
  const before = g.gateway.hub.size;
  const sub = c.subscribe<T>(query, variables);
  await waitFor(() => g.gateway.hub.size > before);
  return sub;
}

/** The payloads a subscription received so far (failing on an error or GraphQL errors). */
export function payloads<T>(sub: TestSubscription<T>): T[] {
  return sub.events.map((e) => {
    if (e.kind !== 'next' || e.value.errors !== undefined) throw new Error(`unexpected subscription event: ${JSON.stringify(e)}`);
    return e.value.data as T;
  });
}

/** Waits until the gateway's feed has delivered every produced record (to the hub, synchronously). */
export async function delivered(g: RwTestGateway, topic: string, placed: ReadonlyArray<{ partition: number; offset: number }>, timeoutMs = 20_000): Promise<void> {
  const feed = g.rw.feed;
  await waitFor(() => placed.every((p) => !feed.isAfter(`${topic}:${p.partition}:${p.offset}`, feed.head())), timeoutMs);
}
