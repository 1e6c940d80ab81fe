/**
 * Issue 11 item 3 on the RisingWave engine path, with PostgreSQL standing in for RisingWave (a
 * database of this file's own) and a real Kafka broker for the gateway's feed (topics of this file's
 * own). The passthrough's statements run on the server, on a pool of their own (openPassthroughEngine,
 * as `wavegate serve` opens it), so a runaway statement costs the server's time, never the gateway's
 * event loop: GraphQL keeps answering while it runs, and Ctrl-C or the statement timeout stop it on
 * the server (pg_cancel_backend standing in for RisingWave's KILL).
 */
import { spawn } from 'node:child_process';
import pg from 'pg';
import { openPassthroughEngine, type PassthroughEngine } from '../../src/engine/open';
import { silentLogger } from '../../src/log';
import { startSqlPassthrough, type SqlPassthrough } from '../../src/passthrough';
import { bundledRegistry } from '../../src/views/load';
import { createPgDatabase, createRisingWaveStandIn, writeUpstream, type PgTestDatabase } from '../conformance/databases';
import { FIXTURE_RIDES } from '../conformance/fixture';
import { client, PASSWORDS, USERS } from '../fixtures/pgwire/harness';
import { KAFKA_BROKERS, KafkaTestClient, requireBroker, uniquePrefix } from '../helpers/kafka';
import { startRwGateway, type RwTestGateway } from '../helpers/rwGateway';
import { waitFor } from '../helpers/waitFor';

/** Never finishes: 1.6e11 rows from an array built from the data (see passthrough-isolation.test.ts). */
const RUNAWAY = `WITH s AS (SELECT string_to_array(string_agg(lpad(t.trip_id, 100), ''), NULL) AS a
    FROM trip_history t, generate_series(1, 1000) g)
  SELECT count(*) FROM s, generate_subscripts(s.a, 1) x, generate_subscripts(s.a, 1) y`;
const PROBE = 'query($id: ID!) { trip(id: $id) { id status } }';

let kafka: KafkaTestClient;
let db: PgTestDatabase;
let g: RwTestGateway;
let opened: PassthroughEngine;
let server: SqlPassthrough;
let token: string;
const clients: pg.Client[] = [];

beforeAll(async () => {
  await requireBroker();
  kafka = await KafkaTestClient.connect();
  const prefix = uniquePrefix();
  await kafka.createViewTopics(prefix, bundledRegistry().views.map((v) => v.name), 1);
  db = await createPgDatabase();
  await createRisingWaveStandIn(db);
  for (const ride of FIXTURE_RIDES) await writeUpstream(db, ride);
  g = await startRwGateway({ db, brokers: KAFKA_BROKERS, topicPrefix: prefix });
  opened = await openPassthroughEngine({ databaseUrl: db.url }, { kind: 'risingwave', ...g.rw }, { log: silentLogger, statementTimeoutMs: 600_000 });
  server = await startSqlPassthrough({ port: 0, engine: opened.engine, users: USERS, log: silentLogger, statementTimeoutMs: 600_000 });
  token = await g.token('ops-1', 'ops');
}, 120_000);
afterAll(async () => {
  for (const c of clients) await c.end().catch(() => undefined);
  await server?.close();
  await opened?.close();
  await g?.dispose();
  await kafka?.cleanup();
  await db?.drop();
}, 60_000);

/** Runs of the runaway statement active on the server. */
async function runningOnServer(): Promise<number> {
  const { rows } = await db.client.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE '%generate_subscripts(s.a, 1) y%' AND pid <> pg_backend_pid()");
  return rows[0]!.n;
}

describe('SQL passthrough isolation on the RisingWave engine path (PostgreSQL standing in)', () => {
  it('keeps GraphQL answering while a runaway statement runs on the server; Ctrl-C stops it there (57014)', async () => {
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
    await waitFor(async () => exited || (await runningOnServer()) === 1, 60_000);
    expect(exited).toBe(false);
    for (let answered = 0; answered < 5; answered++) {
      const r = await g.gql<{ trip: { id: string; status: string } }>(PROBE, { id: 'ride-1' }, token);
      expect(r.body.data?.trip).toEqual({ id: 'ride-1', status: 'COMPLETED' });
      expect(exited).toBe(false);
      expect(await runningOnServer()).toBe(1);
    }
    child.kill('SIGINT');
    expect(await exit).not.toBe(0);
    expect(stderr).toMatch(/canceling statement due to user request/);
    await waitFor(async () => (await runningOnServer()) === 0, 30_000);
  }, 180_000);

  it('stops it on the server at the session\'s statement_timeout (57014), and the session goes on', async () => {
    const c = await client(server.port, 'olga');
    clients.push(c);
    await c.query('SET statement_timeout = 2000');
    const err = await c.query(RUNAWAY).then(() => undefined, (e: { code?: string; message?: string }) => e);
    expect(err).toMatchObject({ code: '57014', message: 'canceling statement due to statement timeout' });
    await waitFor(async () => (await runningOnServer()) === 0, 30_000);
    expect((await c.query('SELECT count(*)::int AS n FROM trip_history')).rows).toEqual([{ n: 4 }]);
  }, 120_000);
});
