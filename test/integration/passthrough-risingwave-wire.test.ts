/**
 * The SQL passthrough on the RisingWave engine, with a RisingWave frontend on the wire in front of
 * the PostgreSQL stand-in (test/conformance/fakeRisingWaveServer.ts: RisingWave v3.0.3's error
 * codes and texts, SHOW PROCESSLIST, KILL). What this shows: RisingWave's SQL errors reach the
 * client with a PostgreSQL code and RisingWave's text instead of a masked XX000, and a statement the
 * passthrough gives up on is KILLed on RisingWave by its session, with no comment tag involved.
 */
import pg from 'pg';
import { RisingWaveEngine } from '../../src/engine/risingwave/engine';
import { IdleFeed } from '../../src/engine/risingwave/idleFeed';
import { silentLogger } from '../../src/log';
import { startSqlPassthrough, type SqlPassthrough } from '../../src/passthrough';
import { createPgDatabase, createRisingWaveStandIn, writeUpstream, type PgTestDatabase } from '../conformance/databases';
import { FakeRisingWaveServer } from '../conformance/fakeRisingWaveServer';
import { FIXTURE_RIDES } from '../conformance/fixture';
import { client, USERS } from '../fixtures/pgwire/harness';
import { waitFor } from '../helpers/waitFor';

let db: PgTestDatabase;
let fake: FakeRisingWaveServer;
let engine: RisingWaveEngine;
let server: SqlPassthrough;
const clients: pg.Client[] = [];

beforeAll(async () => {
  db = await createPgDatabase();
  await createRisingWaveStandIn(db);
  for (const ride of FIXTURE_RIDES) await writeUpstream(db, ride);
  fake = await FakeRisingWaveServer.start({ pgUrl: db.url, workerId: 7 });
  engine = await RisingWaveEngine.create({ databaseUrl: fake.url(), feed: new IdleFeed(), log: silentLogger, statementTimeoutMs: 60_000, healthIntervalMs: 60_000 });
  server = await startSqlPassthrough({ port: 0, engine, users: USERS, log: silentLogger, statementTimeoutMs: 30_000, maxRows: 50 });
}, 60_000);
afterAll(async () => {
  for (const c of clients) await c.end().catch(() => undefined);
  await server?.close();
  await engine?.close();
  await fake?.close();
  await db?.drop();
}, 30_000);

async function connect(): Promise<pg.Client> {
  const c = await client(server.port, 'olga');
  clients.push(c);
  return c;
}

async function rejection(p: Promise<unknown>): Promise<{ code?: string; message?: string }> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  if (err === undefined) throw new Error('expected an error');
  return err as { code?: string; message?: string };
}

describe('SQL passthrough on the RisingWave engine (fake RisingWave frontend, SQL on PostgreSQL)', () => {
  it('passes RisingWave\'s XX000 SQL error through with the PostgreSQL code of its cause and RisingWave\'s text', async () => {
    const c = await connect();
    const err = await rejection(c.query('SELECT trip_id, 1 / (length(trip_id) - length(trip_id)) AS x FROM trip_history'));
    expect(err).toMatchObject({ code: '22012', message: expect.stringMatching(/^Expr error: .*: Division by zero$/) });
    expect(fake.statements.some((s) => s.sql.includes('1 / (length(trip_id) - length(trip_id))'))).toBe(true);
    // The connection stays usable.
    expect((await c.query('SELECT count(*)::int AS n FROM trip_history')).rows).toEqual([{ n: 4 }]);
  });

  it('at the statement timeout answers 57014 and KILLs the statement on RisingWave by its session (worker:pid)', async () => {
    const c = await connect();
    fake.hold = /'fake-rw-hold'/;
    const kills = fake.kills.length;
    await c.query('SET statement_timeout = 1000');
    const err = await rejection(c.query("SELECT count(*) FROM trip_history WHERE status <> 'fake-rw-hold'"));
    expect(err).toMatchObject({ code: '57014', message: 'canceling statement due to statement timeout' });
    await waitFor(() => fake.kills.length > kills, 5_000);
    const statement = fake.statements.filter((s) => s.sql.includes("'fake-rw-hold'")).at(-1)!;
    expect(fake.kills.slice(kills)).toEqual([`KILL '7:${statement.pid}'`]);
    // RisingWave never saw a comment: the statement is the guard's SQL as it was sent.
    expect(statement.sql).not.toMatch(/\/\*/);
    await waitFor(async () => (await db.client.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT pg_catalog.pg_sleep%'")).rows[0].n === 0, 5_000);
    fake.hold = undefined;
  });
});
