/**
 * Issue 11 item 3: one SQL statement must not stall the gateway. On the embedded engine the
 * passthrough's statements run in a worker thread on its own PGlite read copy of the views
 * (src/engine/embedded/isolated/), opened as `wavegate serve` opens it (openPassthroughEngine).
 * The assertions are structural, never timings: GraphQL answered while the statement was still
 * running; the statement got 57014 / 53200 / 54000; the worker was replaced and serves the next
 * statement; the memory the statement took was given back.
 */
import { spawn } from 'node:child_process';
import pg from 'pg';
import { IsolatedEngine, WorkerSqlError } from '../../src/engine/embedded/isolated/engine';
import { openPassthroughEngine, type PassthroughEngine } from '../../src/engine/open';
import { GatewayErrorCode } from '../../src/errors';
import { silentLogger } from '../../src/log';
import { writeEvents } from '../../src/outbox/writer';
import { startSqlPassthrough, type SqlPassthrough } from '../../src/passthrough';
import { FIXTURE_RIDES } from '../conformance/fixture';
import { client, PASSWORDS, USERS } from '../fixtures/pgwire/harness';
import { startTestGateway, writeRides, type TestGateway } from '../helpers/gateway';
import { waitFor } from '../helpers/waitFor';

/**
 * Runs for hours on any machine, and fools the plan-cost gate: the planner guesses 1,000 rows per
 * set-returning function, while the array built from the data has 400,000 elements (each trip id
 * padded to 100 characters, times 1,000), so the join has 1.6e11 rows.
 */
const RUNAWAY = `WITH s AS (SELECT string_to_array(string_agg(lpad(t.trip_id, 100), ''), NULL) AS a
    FROM trip_history t, generate_series(1, 1000) g)
  SELECT count(*) FROM s, generate_subscripts(s.a, 1) x, generate_subscripts(s.a, 1) y`;
/** The same join, but concatenating into one growing string: memory grows until something stops it. */
const HOG = `WITH s AS (SELECT string_to_array(string_agg(lpad(t.trip_id, 100), ''), NULL) AS a
    FROM trip_history t, generate_series(1, 1000) g)
  SELECT length(string_agg(x::text || y::text, ',')) FROM s, generate_subscripts(s.a, 1) x, generate_subscripts(s.a, 1) y`;
const PROBE = 'query($id: ID!) { trip(id: $id) { id status } }';
const WORKER_MEMORY_MB = 128;

let gw: TestGateway;
let opened: PassthroughEngine;
let iso: IsolatedEngine;
let server: SqlPassthrough;
let token: string;
const clients: pg.Client[] = [];

beforeAll(async () => {
  gw = await startTestGateway();
  for (const ride of FIXTURE_RIDES) await gw.engine.transaction((tx) => writeEvents(tx, ride));
  opened = await openPassthroughEngine({ databaseUrl: undefined }, { kind: 'embedded', engine: gw.engine, close: async () => undefined }, {
    log: silentLogger, statementTimeoutMs: 600_000, workerMemoryMb: WORKER_MEMORY_MB, maxResultMb: 1,
  });
  iso = opened.engine as IsolatedEngine;
  server = await startSqlPassthrough({ port: 0, engine: opened.engine, users: USERS, log: silentLogger, statementTimeoutMs: 600_000 });
  token = await gw.token('ops-1', 'ops');
}, 180_000);
afterAll(async () => {
  for (const c of clients) await c.end().catch(() => undefined);
  await server?.close();
  await opened?.close();
  await gw?.dispose();
}, 60_000);

async function connect(): Promise<pg.Client> {
  const c = await client(server.port, 'olga');
  clients.push(c);
  return c;
}

/** How a statement ended: its rows, or its error's code and message. */
function outcome(p: Promise<pg.QueryResult>): { settled: boolean; done: Promise<{ code?: string; message?: string; rows?: unknown[] }> } {
  const state = { settled: false, done: undefined as unknown as Promise<{ code?: string; message?: string; rows?: unknown[] }> };
  state.done = p.then((r) => ({ rows: r.rows }), (e: { code?: string; message?: string }) => ({ code: e.code, message: e.message }))
    .finally(() => { state.settled = true; });
  return state;
}

async function countTrips(c: pg.Client): Promise<number> {
  return (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM trip_history')).rows[0]!.n;
}

describe('SQL passthrough isolation on the embedded engine (issue 11 item 3)', () => {
  it('serves the copy of the views, and follows the engine\'s changes', async () => {
    const c = await connect();
    expect(await countTrips(c)).toBe(4);
    const direct = await gw.engine.query<{ trip_id: string; status: string; fare_amount: string | null }>('SELECT trip_id, status, fare_amount::text AS fare_amount FROM trip_history ORDER BY trip_id');
    const viaSql = await c.query('SELECT trip_id, status, fare_amount::text AS fare_amount FROM trip_history ORDER BY trip_id');
    expect(viaSql.rows).toEqual(direct);
    await writeRides(gw.engine, [{ id: 'iso-1', rider: 'rider-iso', driver: 'driver-iso' }]);
    await waitFor(async () => (await c.query("SELECT status FROM trip_history WHERE trip_id = 'iso-1'")).rows[0]?.status === 'COMPLETED', 30_000);
    await gw.engine.transaction((tx) => tx.query("DELETE FROM outbox WHERE aggregate_id = 'iso-1'"));
    await waitFor(async () => (await countTrips(c)) === 4, 30_000);
  }, 120_000);

  it('keeps GraphQL answering while a runaway statement runs; psql\'s Ctrl-C stops it (57014) and a fresh worker serves the next one', async () => {
    const stoppedBefore = iso.stats().workersStopped;
    const child = spawn('psql', ['-X', '-A', '-t', '-h', '127.0.0.1', '-p', String(server.port), '-U', 'olga', '-d', 'x', '-c', RUNAWAY], {
      env: { ...process.env, PGPASSWORD: PASSWORDS.olga, PGSSLMODE: 'disable' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let exited = false;
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => {
      exited = true;
      resolve(code);
    }));
    await waitFor(() => iso.stats().running || exited, 120_000);
    expect(exited).toBe(false);
    // The main thread's event loop answers GraphQL while the worker is busy with the statement.
    for (let answered = 0; answered < 5; answered++) {
      const r = await gw.gql<{ trip: { id: string; status: string } }>(PROBE, { id: 'ride-1' }, token);
      expect(r.body.data?.trip).toEqual({ id: 'ride-1', status: 'COMPLETED' });
      expect(exited).toBe(false);
      expect(iso.stats()).toMatchObject({ running: true, workersStopped: stoppedBefore });
    }
    child.kill('SIGINT');
    expect(await exit).not.toBe(0);
    expect(stderr).toMatch(/canceling statement due to user request/);
    expect(iso.stats().workersStopped).toBe(stoppedBefore + 1);
    const c = await connect();
    expect(await countTrips(c)).toBe(4);
  }, 300_000);

  it('stops a runaway statement at the session\'s statement_timeout with 57014, and the session goes on', async () => {
    const c = await connect();
    const stoppedBefore = iso.stats().workersStopped;
    await c.query('SET statement_timeout = 3000');
    const end = await outcome(c.query(RUNAWAY)).done;
    expect(end).toEqual({ code: '57014', message: 'canceling statement due to statement timeout' });
    expect(iso.stats().workersStopped).toBe(stoppedBefore + 1);
    await c.query('RESET statement_timeout');
    expect(await countTrips(c)).toBe(4);
  }, 300_000);

  it('stops a statement that grows memory (53200) and the process gives the memory back', async () => {
    const c = await connect();
    expect(await countTrips(c)).toBe(4);
    const baseline = process.memoryUsage.rss();
    const stoppedBefore = iso.stats().workersStopped;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
    const end = await outcome(c.query(HOG)).done;
    clearInterval(sampler);
    // The engine's own watch read the RSS that stopped the statement; this sampler can miss that last reading.
    peak = Math.max(peak, iso.stats().peakRss);
    expect(end).toMatchObject({ code: '53200', message: 'out of memory' });
    expect(iso.stats().workersStopped).toBe(stoppedBefore + 1);
    expect(peak - baseline).toBeGreaterThan(WORKER_MEMORY_MB * 1024 * 1024);
    // The fresh worker serves, and the statement's memory went with the old one: the process is back
    // within half the statement's budget of where it was.
    expect(await countTrips(c)).toBe(4);
    await waitFor(() => process.memoryUsage.rss() - baseline < (WORKER_MEMORY_MB / 2) * 1024 * 1024, 60_000);
  }, 300_000);

  it('a statement over the worker\'s heap ends with 53200 (ERR_WORKER_OUT_OF_MEMORY), and a fresh worker serves', async () => {
    const small = new IsolatedEngine({ source: gw.engine, log: silentLogger, statementTimeoutMs: 600_000, heapMb: 64, maxResultBytes: 1024 ** 3 });
    try {
      await small.whenServing();
      // 10,000 rows of 10,000 characters: PGlite hands the worker about 200 MB of strings.
      const err = await small.query('SELECT lpad(t.trip_id, 10000) AS p FROM trip_history t, generate_series(1, 1000) a, generate_series(1, 3) b')
        .then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(WorkerSqlError);
      expect(err).toMatchObject({ code: '53200', message: 'out of memory' });
      expect(small.stats().workersStopped).toBe(1);
      expect(await small.query('SELECT count(*)::int AS n FROM trip_history')).toEqual([{ n: 4 }]);
    } finally {
      await small.close();
    }
  }, 300_000);

  it('refuses a result larger than the worker hands back (54000), and the issue\'s string builders up front', async () => {
    const c = await connect();
    const big = await outcome(c.query('SELECT lpad(t.trip_id, 10000) AS p FROM trip_history t, generate_series(1, 200) g')).done;
    expect(big).toMatchObject({ code: '54000', message: `the result is larger than ${1024 * 1024} bytes` });
    expect(await outcome(c.query("SELECT format('%200000000s', '')")).done).toMatchObject({ code: '54000' });
    expect(await countTrips(c)).toBe(4);
  }, 120_000);
  // Last: it adds a trip, and the tests above count four.
  it('closes while a statement runs and a change batch waits behind it in the worker (SIGTERM of serve with the simulator on)', async () => {
    const own = new IsolatedEngine({ source: gw.engine, log: silentLogger, statementTimeoutMs: 600_000 });
    await own.whenServing();
    const runaway = own.query(RUNAWAY).then(() => 'finished', (e: unknown) => e);
    await waitFor(() => own.stats().running, 120_000);
    // A change rings the copy's doorbell: the catch-up posts a batch the busy worker cannot apply yet.
    await writeRides(gw.engine, [{ id: 'ride-close-1', rider: 'rider-close', driver: 'driver-close' }]);
    await waitFor(() => own.stats().applying > 0, 120_000);
    await own.close(); // hung for good before: the catch-up waited for an 'applied' a terminated worker never sends
    expect(await runaway).toMatchObject({ code: GatewayErrorCode.ENGINE_UNAVAILABLE });
    expect(own.stats()).toMatchObject({ running: false, applying: 0 });
  }, 300_000);
});
