/**
 * Queries per second for `trips(first: 20)` through the gateway, next to a bare Node `http` server
 * that sends the SAME statement to the SAME engine instance (issue 2). The bare server is the
 * limit for us: it does no auth, no GraphQL parse/validate/execute, no cost limits, no row
 * normalisation, and returns the raw rows as JSON.
 *
 * - Engine: one EmbeddedEngine (PGlite + pg_ivm), seeded with `rides` completed rides (7 outbox
 *   events each) over `riders` riders and 50 drivers. Seeding uses multi-row INSERTs into the
 *   outbox (pg_ivm maintains the views per statement), not the one-event writer: it is not measured.
 * - Statements: built by src/graphql/build (`connectionStatementOf`) exactly as the generated trips
 *   resolver builds them (the selected columns, first + 1 = 21 rows, policy predicate ANDed). Before loading, the bench
 *   asserts that the gateway sent exactly this text and these params, and that both servers return
 *   the same 20 trips.
 * - Load: autocannon in a child process (bench/loadgen.ts), POST with keep-alive, `connections`
 *   connections, `warmup` s discarded then `seconds` s measured, per target, one target at a time:
 *   gateway/ops, bare/ops, gateway/rider, bare/rider.
 *
 * Run: `npm run build && node dist/bench/queries.js [--rides=5000] [--riders=200] [--connections=10]
 *       [--seconds=10] [--warmup=2] [--timeout=170] [--compiled=1]` (`--compiled=0`: no fast path, every request through express and Apollo)
 */
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import type { Viewer } from '../src/auth/viewer';
import { EmbeddedEngine } from '../src/engine/embedded/engine';
import type { Engine } from '../src/engine/types';
import { startGateway } from '../src/gateway';
import { connectionStatementOf } from '../src/graphql/build/schema';
import type { SqlStatement } from '../src/graphql/build/statements';
import { bundledRegistry } from '../src/views/load';
import { silentLogger } from '../src/log';
import { benchConfig, benchToken, deadline, emit, machineLoad, note, numberFlags } from './harness';
import { LoadProcess, type LoadResult } from './loadgen';
import { BULK_CHUNK, BULK_INSERT, bulkInsertParams, environment, post, runMain, seedEvents, startBare, stopBare } from './util';

const flags = numberFlags({ rides: 5_000, riders: 200, connections: 10, seconds: 10, warmup: 2, timeout: 170, compiled: 1 });
const PAGE = 20;
const BASE = Date.parse('2026-09-01T00:00:00Z');

const QUERY = `query Trips {
  trips(first: ${PAGE}) {
    edges { cursor node { id riderId driverId status requestedAt updatedAt fare { amount currency } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

/** The node fields of QUERY (the statement selects their columns only). */
const NODE_FIELDS = ['id', 'riderId', 'driverId', 'status', 'requestedAt', 'updatedAt', 'fare'];

async function seed(engine: EmbeddedEngine): Promise<number> {
  const events = seedEvents(flags.rides, flags.riders, BASE);
  for (let i = 0; i < events.length; i += BULK_CHUNK) {
    const part = events.slice(i, i + BULK_CHUNK);
    await engine.transaction((tx) => tx.query(BULK_INSERT, bulkInsertParams(part)));
  }
  return events.length;
}

/** The statement the generated trips resolver sends for QUERY and this viewer. */
function tripsStatement(viewer: Viewer): SqlStatement {
  return connectionStatementOf(bundledRegistry(), 'trip_history', viewer, { first: PAGE }, NODE_FIELDS);
}

async function main(): Promise<void> {
  const engine = await EmbeddedEngine.create({ log: silentLogger });
  const t0 = Date.now();
  const events = await seed(engine);
  const tripRows = (await engine.query<{ n: number }>('SELECT count(*)::int AS n FROM trip_history'))[0]!.n;
  note(`seeded ${events} events (${tripRows} trips) in ${Date.now() - t0} ms`);

  // The gateway sees the same engine through a recorder that keeps the statements of the check below.
  let recording: SqlStatement[] | undefined;
  const observed: Engine = {
    kind: engine.kind,
    views: engine.views,
    feed: engine.feed,
    ready: () => engine.ready(),
    close: () => engine.close(),
    query: <R>(text: string, params: readonly unknown[] = []) => {
      recording?.push({ text, params });
      return engine.query<R>(text, params);
    },
  };
  // --compiled=0: every request through express and Apollo (the path before the compiled fast path).
  const gateway = await startGateway(benchConfig('embedded'), { log: silentLogger, engine: observed, queries: { compiled: flags.compiled !== 0 } });
  const ops: Viewer = { sub: 'ops-bench', role: 'ops', claims: {} };
  const rider: Viewer = { sub: 'rider-7', role: 'rider', claims: {} };
  const statements = { '/ops': tripsStatement(ops), '/rider': tripsStatement(rider) };
  const bare = await startBare(engine, statements);
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
  const load = LoadProcess.start();
  const shutdown = async () => {
    await load.close().catch(() => undefined);
    await stopBare(bare);
    await gateway.stop().catch(() => undefined);
    await engine.close().catch(() => undefined);
  };
  const cancel = deadline(flags.timeout, shutdown);
  try {
    const loadAtStart = machineLoad();
    const body = JSON.stringify({ query: QUERY });
    const tokens = { ops: await benchToken(ops.sub, 'ops'), rider: await benchToken(rider.sub, 'rider') };
    // Same SQL, same answer: checked once per viewer before any load.
    const pageRows: Record<string, number> = {};
    for (const who of ['ops', 'rider'] as const) {
      recording = [];
      const g = await post(gateway.url, body, tokens[who]) as { data?: { trips: { edges: Array<{ node: { id: string } }> } }; errors?: unknown };
      const sent = recording;
      recording = undefined;
      const want = statements[`/${who}`];
      if (sent.length !== 1 || !isDeepStrictEqual(sent[0], want)) {
        throw new Error(`the gateway sent ${JSON.stringify(sent)} for ${who}, the bare server sends ${JSON.stringify(want)}`);
      }
      const b = await post(`${bareUrl}/${who}`, body, tokens[who]) as { data: Array<{ trip_id: string }> };
      const gIds = g.data?.trips.edges.map((e) => e.node.id);
      const bIds = b.data.slice(0, PAGE).map((r) => r.trip_id);
      if (g.errors !== undefined || !isDeepStrictEqual(gIds, bIds) || bIds.length === 0) {
        throw new Error(`${who}: gateway and bare server disagree (or the page is empty): ${JSON.stringify(gIds)} vs ${JSON.stringify(bIds)}`);
      }
      pageRows[who] = bIds.length;
    }

    const common = { body, connections: flags.connections, seconds: flags.seconds, warmup: flags.warmup };
    const results: Record<string, { gateway: LoadResult; bare: LoadResult; gatewayToBare: number }> = {};
    for (const who of ['ops', 'rider'] as const) {
      const headers = { authorization: `Bearer ${tokens[who]}` };
      note(`${who}: gateway, ${flags.warmup} + ${flags.seconds} s at ${flags.connections} connections`);
      const g = await load.run({ ...common, url: gateway.url, headers, expectPrefix: '{"data":{"trips":' });
      note(`${who}: bare server`);
      const b = await load.run({ ...common, url: `${bareUrl}/${who}`, headers, expectPrefix: '{"data":[' });
      results[who] = { gateway: g, bare: b, gatewayToBare: +(g.requestsPerSecond / b.requestsPerSecond).toFixed(3) };
    }
    emit({
      bench: 'queries',
      gatewayPath: flags.compiled !== 0 ? 'compiled fast path (graphql-jit), Apollo for the rest' : 'express + Apollo (--compiled=0)',
      ...environment(),
      machineLoad: { start: loadAtStart, end: machineLoad() },
      engine: 'embedded (PGlite + pg_ivm), one instance shared by both servers',
      load: 'autocannon 8 in a child process, POST + keep-alive',
      dataset: { rides: flags.rides, outboxEvents: events, tripRows, riders: flags.riders, riderTrips: Math.ceil(flags.rides / flags.riders) },
      query: `trips(first: ${PAGE}) { edges { cursor node { 8 scalar/object fields } } pageInfo }`,
      // Fewer than 20 when the rider has fewer trips (--rides / --riders < 20).
      pageRows,
      statements: { ops: statements['/ops'], rider: statements['/rider'] },
      connections: flags.connections,
      warmupSeconds: flags.warmup,
      seconds: flags.seconds,
      ...results,
    });
  } finally {
    cancel();
    await shutdown();
  }
}

runMain(main);
