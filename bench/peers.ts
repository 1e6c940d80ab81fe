/**
 * Wavegate next to a peer, side by side in the same run on the same PostgreSQL data: the 20 latest
 * trips, for ops (all trips) and for one rider, requests/s and latency under the same load.
 *
 * - Database: a fresh `wavegate_bench_<hex>` on the local PostgreSQL (WAVEGATE_BENCH_PG_URL, default
 *   postgres://postgres@127.0.0.1:5432/postgres), dropped at the end, also on failure or deadline.
 *   It is the RisingWave stand-in of test/conformance/databases.ts (the Postgres outbox migration,
 *   then every schema/*.sql view over it), seeded with `rides` completed rides over `riders` riders
 *   as in bench/queries.ts. With --materialized=1 (the default) each view is a MATERIALIZED VIEW,
 *   computed once after seeding, and trip_history gets a unique index on trip_id plus indexes that
 *   fit each target's ORDER BY: reads cost what reading a RisingWave materialized view costs. With
 *   --materialized=0 they are plain VIEWs, exactly the stand-in of the tests: every request then
 *   aggregates the whole outbox (~40 ms of PostgreSQL CPU), and all targets measure PostgreSQL.
 * - Targets, one at a time, same connection-pool size (`pool`):
 *   1. wavegate: startGateway over a RisingWaveEngine (pg pool on that database, IdleFeed: no Kafka),
 *      auth on, production limits; `trips(first: 20)` with an ops or a rider token.
 *   2. postgraphile: PostGraphile 5 (amber preset, grafserv on node:http) over the same database's
 *      `public` schema, in a child process (bench/peers/server.mjs, plain JavaScript in a package of
 *      its own: PostGraphile declares Node >= 22, so it stays out of the project's dependencies and
 *      the bench installs it on first use with `npm ci --prefix bench/peers`; on Node 20 the child
 *      polyfills the one Node 22 API it calls);
 *      `allTripHistories(first: 20, orderBy: [REQUESTED_AT_DESC, TRIP_ID_DESC])`, plus
 *      `condition: { riderId }` for the rider, selecting the same columns. No GraphiQL, no watch, no
 *      websockets, no explain, default error masking, no JWT and no row policy (nothing to verify).
 *   3. bare: the bare Node http server of bench/queries.ts (util.ts startBare) sending the statement
 *      Wavegate sends, through the same RisingWaveEngine: the limit for Wavegate.
 * - Before any load: all three return the same 20 trip ids in the same order, per viewer.
 * - Load: autocannon in a child process (bench/loadgen.ts), POST + keep-alive, `connections`
 *   connections, `warmup` s discarded then `seconds` s measured, per target and viewer. Every target
 *   gets the same headers (the bearer token too; only Wavegate reads it).
 *
 * Hasura (a Haskell binary / Docker image) and Wavelet (needs RisingWave) cannot run on this machine
 * and are not measured (docs/benchmarks.md).
 *
 * Run: `npm run build && node dist/bench/peers.js [--rides=5000] [--riders=200] [--connections=10]
 *       [--seconds=10] [--warmup=2] [--pool=10] [--materialized=1] [--timeout=170] [--compiled=1]`
 * (`--compiled=0`: no fast path, every Wavegate request through express and Apollo)
 * (the first run installs bench/peers: it needs the npm registry once).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Viewer } from '../src/auth/viewer';
import { RisingWaveEngine } from '../src/engine/risingwave/engine';
import { IdleFeed } from '../src/engine/risingwave/idleFeed';
import { startGateway, type Gateway } from '../src/gateway';
import { connectionStatementOf } from '../src/graphql/build/schema';
import type { SqlStatement } from '../src/graphql/build/statements';
import { bundledRegistry } from '../src/views/load';
import { silentLogger } from '../src/log';
import { projectRoot } from '../src/paths';
import { benchConfig, benchToken, deadline, emit, machineLoad, note, numberFlags } from './harness';
import { ChildRpc, cpuPercent, usage, type Usage } from './ipc';
import { LoadProcess, type LoadResult } from './loadgen';
import { createDatabase, prepare, type BenchDatabase } from './pgdata';
import { environment, post, runMain, startBare, stopBare } from './util';

const PAGE = 20;
const VIEWERS = ['ops', 'rider'] as const;
type Who = (typeof VIEWERS)[number];
const TARGETS = ['wavegate', 'postgraphile', 'bare'] as const;
type Target = (typeof TARGETS)[number];
const RIDER = 'rider-7';

/** The query of bench/queries.ts: 8 fields per trip, cursors, pageInfo. */
const WAVEGATE_QUERY = `query Trips {
  trips(first: ${PAGE}) {
    edges { cursor node { id riderId driverId status requestedAt updatedAt fare { amount currency } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

/** The node fields of WAVEGATE_QUERY (the generated resolver selects their columns only). */
const NODE_FIELDS = ['id', 'riderId', 'driverId', 'status', 'requestedAt', 'updatedAt', 'fare'];

/** The statement the generated trips resolver sends for WAVEGATE_QUERY and this viewer (as in queries.ts). */
function tripsStatement(viewer: Viewer): SqlStatement {
  return connectionStatementOf(bundledRegistry(), 'trip_history', viewer, { first: PAGE }, NODE_FIELDS);
}

/** The same page from PostGraphile: same order, same columns (fare flattened), cursors, pageInfo. */
function postgraphileQuery(riderId: string | undefined): string {
  const condition = riderId === undefined ? '' : `, condition: { riderId: ${JSON.stringify(riderId)} }`;
  return `query Trips {
  allTripHistories(first: ${PAGE}, orderBy: [REQUESTED_AT_DESC, TRIP_ID_DESC]${condition}) {
    edges { cursor node { tripId riderId driverId status requestedAt updatedAt fareAmount fareCurrency } }
    pageInfo { hasNextPage endCursor }
  }
}`;
}

// ---------------------------------------------------------------------------------------------
// The database

// ---------------------------------------------------------------------------------------------
// PostGraphile, in a child process of its own package (bench/peers/)

/** bench/peers: PostGraphile's package, outside the project's dependencies (it declares Node >= 22). */
const PEERS_DIR = join(projectRoot(), 'bench', 'peers');

/** What the PostGraphile child is started with (bench/peers/server.mjs `PeerSpec`). */
interface PostGraphileSpec {
  /** postgres:// URL of the bench database. */
  readonly url: string;
  /** Connection-pool size (pg Pool `max`). */
  readonly pool: number;
}

/** A started PostGraphile (bench/peers/server.mjs `PeerStarted`). */
interface PostGraphileStarted {
  /** http://127.0.0.1:<port>/graphql */
  readonly url: string;
  readonly version: string;
  /** Schema build (introspection included), ms. */
  readonly startMs: number;
}

/**
 * Installs bench/peers (exactly its lockfile: `npm ci --prefix bench/peers`) when its
 * node_modules lacks PostGraphile. npm prints EBADENGINE warnings there on Node 20: PostGraphile
 * declares Node >= 22 and runs here with the polyfill in server.mjs.
 */
function ensurePeersInstalled(): void {
  if (existsSync(join(PEERS_DIR, 'node_modules', 'postgraphile', 'package.json'))) return;
  note(`PostGraphile is not installed in ${PEERS_DIR}: installing it (npm ci --prefix bench/peers), once`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--prefix', PEERS_DIR, '--no-audit', '--no-fund'], { stdio: ['ignore', process.stderr, process.stderr] });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error(`could not install the peer: \`npm ci --prefix bench/peers\` ${r.error !== undefined ? `failed: ${r.error.message}` : `exited ${String(r.status)}`}; ` +
      'run it yourself (it needs the npm registry), then run the bench again');
  }
}

/** The PostGraphile child (bench/peers/server.mjs), seen from the bench. */
class PostGraphileProcess {
  private constructor(private readonly rpc: ChildRpc) {}

  static fork(): PostGraphileProcess {
    ensurePeersInstalled();
    return new PostGraphileProcess(ChildRpc.fork(join(PEERS_DIR, 'server.mjs')));
  }

  start(spec: PostGraphileSpec): Promise<PostGraphileStarted> {
    return this.rpc.call('start', spec);
  }

  usage(): Promise<Usage> {
    return this.rpc.usage();
  }

  async close(): Promise<void> {
    await this.rpc.call('stop').catch(() => undefined);
    await this.rpc.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The bench

interface WavegateAnswer { data?: { trips: { edges: Array<{ node: { id: string } }> } }; errors?: unknown }
interface PostGraphileAnswer { data?: { allTripHistories: { edges: Array<{ node: { tripId: string } }> } }; errors?: unknown }
interface BareAnswer { data: Array<{ trip_id: string }> }

/** One target's measured run, with the CPU its server process used and how busy the machine was. */
type TargetResult = LoadResult & { serverCpuPercentOfOneCore: number; loadavg1Before: number };

/** Where and what each target is asked, per viewer. */
interface Endpoint {
  url(who: Who): string;
  body(who: Who): string;
  /** How a good answer starts (loadgen counts anything else as a mismatch). */
  readonly expectPrefix: string;
}

/** Fails unless every target returns the same non-empty page of trip ids, in the same order, per viewer. Returns the page sizes. */
async function checkSamePage(ep: Record<Target, Endpoint>, tokens: Record<Who, string>): Promise<Record<Who, number>> {
  const rows = {} as Record<Who, number>;
  for (const who of VIEWERS) {
    const ask = (t: Target) => post(ep[t].url(who), ep[t].body(who), tokens[who]);
    const g = await ask('wavegate') as WavegateAnswer;
    const p = await ask('postgraphile') as PostGraphileAnswer;
    const b = await ask('bare') as BareAnswer;
    const ids = {
      wavegate: g.errors === undefined ? g.data?.trips.edges.map((e) => e.node.id) : undefined,
      postgraphile: p.errors === undefined ? p.data?.allTripHistories.edges.map((e) => e.node.tripId) : undefined,
      bare: b.data.slice(0, PAGE).map((r) => r.trip_id),
    };
    if (ids.bare.length === 0 || !isDeepStrictEqual(ids.wavegate, ids.bare) || !isDeepStrictEqual(ids.postgraphile, ids.bare)) {
      throw new Error(`${who}: the targets disagree (or the page is empty): ${JSON.stringify({ ids, wavegateErrors: g.errors, postgraphileErrors: p.errors })}`);
    }
    rows[who] = ids.bare.length;
  }
  return rows;
}

/** How PostgreSQL runs Wavegate's (and the bare server's) statements: the scan and sort nodes of EXPLAIN. */
async function scanPlans(engine: RisingWaveEngine, statements: Record<Who, SqlStatement>): Promise<Record<Who, string>> {
  const plans = {} as Record<Who, string>;
  for (const who of VIEWERS) {
    const lines = await engine.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${statements[who].text}`, statements[who].params);
    plans[who] = lines.map((l) => l['QUERY PLAN'].trim().replace(/^->\s*/, '').replace(/\s*\(cost=.*$/, ''))
      .filter((l) => /Scan|Sort/.test(l) && !l.includes(':')).join(' > ');
  }
  return plans;
}

/** Loads every target for every viewer, one at a time: ops then rider; wavegate, postgraphile, bare. */
async function measure(
  loader: LoadProcess, ep: Record<Target, Endpoint>, tokens: Record<Who, string>, serverUsage: (t: Target) => Promise<Usage>,
  o: { connections: number; seconds: number; warmup: number },
): Promise<Record<Who, Record<Target, TargetResult>>> {
  const results = { ops: {}, rider: {} } as Record<Who, Record<Target, TargetResult>>;
  for (const who of VIEWERS) {
    for (const t of TARGETS) {
      const loadavg1Before = machineLoad().loadavg1;
      note(`${who}: ${t}, ${o.warmup} + ${o.seconds} s at ${o.connections} connections (load average ${loadavg1Before})`);
      const before = await serverUsage(t);
      const r = await loader.run({
        url: ep[t].url(who), headers: { authorization: `Bearer ${tokens[who]}` }, body: ep[t].body(who),
        connections: o.connections, seconds: o.seconds, warmup: o.warmup, expectPrefix: ep[t].expectPrefix,
      });
      const after = await serverUsage(t);
      results[who][t] = { ...r, serverCpuPercentOfOneCore: cpuPercent(before, after, o.warmup + o.seconds), loadavg1Before };
    }
  }
  return results;
}

async function main(): Promise<void> {
  const flags = numberFlags({ rides: 5_000, riders: 200, connections: 10, seconds: 10, warmup: 2, pool: 10, materialized: 1, timeout: 170, compiled: 1 });
  const materialized = flags.materialized !== 0;
  const loadAtStart = machineLoad();
  let db: BenchDatabase | undefined;
  let engine: RisingWaveEngine | undefined;
  let gateway: Gateway | undefined;
  let bare: Server | undefined;
  let pgl: PostGraphileProcess | undefined;
  let load: LoadProcess | undefined;
  let stopped: Promise<void> | undefined;
  const shutdown = () => (stopped ??= (async () => {
    await load?.close().catch(() => undefined);
    await pgl?.close().catch(() => undefined);
    if (bare !== undefined) await stopBare(bare).catch(() => undefined);
    await gateway?.stop().catch(() => undefined);
    await engine?.close().catch(() => undefined);
    await db?.drop().catch((err: unknown) => note(`could not drop ${db?.name}: ${String(err)}`));
  })());
  const cancel = deadline(flags.timeout, shutdown);
  try {
    const t0 = Date.now();
    db = await createDatabase();
    const prepared = await prepare(db, { rides: flags.rides, riders: flags.riders, materialized });
    note(`${db.name}: ${prepared.events} events, ${prepared.tripRows} trips, ${materialized ? 'materialized views + indexes' : 'plain views'} in ${Date.now() - t0} ms`);

    engine = await RisingWaveEngine.create({ databaseUrl: db.url, feed: new IdleFeed(), log: silentLogger, maxConnections: flags.pool, healthIntervalMs: 60_000 });
    // --compiled=0: every request through express and Apollo (the path before the compiled fast path).
    gateway = await startGateway(benchConfig('risingwave'), { log: silentLogger, engine, queries: { compiled: flags.compiled !== 0 } });
    const viewers: Record<Who, Viewer> = { ops: { sub: 'ops-bench', role: 'ops', claims: {} }, rider: { sub: RIDER, role: 'rider', claims: {} } };
    // The statement the trips resolver sends for `trips(first: 20)` and this viewer (as in queries.ts).
    const statements: Record<Who, SqlStatement> = {
      ops: tripsStatement(viewers.ops),
      rider: tripsStatement(viewers.rider),
    };
    bare = await startBare(engine, { '/ops': statements.ops, '/rider': statements.rider });
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
    pgl = PostGraphileProcess.fork();
    const peer = await pgl.start({ url: db.url, pool: flags.pool });
    note(`PostGraphile ${peer.version} ready in ${peer.startMs} ms`);
    const loader = LoadProcess.start();
    load = loader;

    const tokens: Record<Who, string> = { ops: await benchToken(viewers.ops.sub, 'ops'), rider: await benchToken(RIDER, 'rider') };
    const gatewayUrl = gateway.url;
    const endpoints: Record<Target, Endpoint> = {
      wavegate: { url: () => gatewayUrl, body: () => JSON.stringify({ query: WAVEGATE_QUERY }), expectPrefix: '{"data":{"trips":' },
      postgraphile: {
        url: () => peer.url,
        body: (who) => JSON.stringify({ query: postgraphileQuery(who === 'rider' ? RIDER : undefined) }),
        expectPrefix: '{"data":{"allTripHistories":',
      },
      // The bare server ignores the body; it gets Wavegate's, so the requests are the same size.
      bare: { url: (who) => `${bareUrl}/${who}`, body: () => JSON.stringify({ query: WAVEGATE_QUERY }), expectPrefix: '{"data":[' },
    };
    const pageRows = await checkSamePage(endpoints, tokens);
    note(`all targets return the same ${pageRows.ops} (ops) and ${pageRows.rider} (${RIDER}) trip ids in the same order`);
    const plans = await scanPlans(engine, statements);

    const child = pgl;
    const serverUsage = (t: Target): Promise<Usage> => (t === 'postgraphile' ? child.usage() : usage());
    const results = await measure(loader, endpoints, tokens, serverUsage, flags);
    const ratio = (a: LoadResult, b: LoadResult) => +(a.requestsPerSecond / b.requestsPerSecond).toFixed(3);
    emit({
      bench: 'peers',
      wavegatePath: flags.compiled !== 0 ? 'compiled fast path (graphql-jit), Apollo for the rest' : 'express + Apollo (--compiled=0)',
      ...environment(),
      machineLoad: { start: loadAtStart, end: machineLoad() },
      peer: { name: 'postgraphile', version: peer.version, preset: 'amber', process: 'child, Promise.withResolvers polyfilled (Node 20)', schemaBuildMs: peer.startMs },
      database: { postgres: prepared.postgres, views: materialized ? 'materialized + indexes' : 'plain', pool: flags.pool },
      load: 'autocannon 8 in a child process, POST + keep-alive, one target at a time',
      dataset: { rides: flags.rides, outboxEvents: prepared.events, tripRows: prepared.tripRows, riders: flags.riders, rider: RIDER, riderTrips: Math.ceil(flags.rides / flags.riders) },
      pageRows,
      queries: { wavegate: WAVEGATE_QUERY.replace(/\s+/g, ' '), postgraphileOps: postgraphileQuery(undefined).replace(/\s+/g, ' '), postgraphileRider: postgraphileQuery(RIDER).replace(/\s+/g, ' ') },
      statements,
      wavegatePlans: plans,
      connections: flags.connections,
      warmupSeconds: flags.warmup,
      seconds: flags.seconds,
      ...Object.fromEntries(VIEWERS.map((who) => [who, {
        ...results[who],
        wavegateToBare: ratio(results[who].wavegate, results[who].bare),
        postgraphileToBare: ratio(results[who].postgraphile, results[who].bare),
        wavegateToPostgraphile: ratio(results[who].wavegate, results[who].postgraphile),
      }])),
    });
  } finally {
    cancel();
    await shutdown();
  }
}

runMain(main);
