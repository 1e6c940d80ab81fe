/**
 * The RisingWave engine against a RisingWave frontend on the wire: test/conformance/fakeRisingWaveServer.ts
 * answers as RisingWave v3.0.3 does where Wavegate depends on it (startup options, version(), XX000
 * errors and their texts, SHOW PROCESSLIST, KILL, FLUSH) and runs the SQL on a throwaway PostgreSQL
 * database. What RisingWave itself would do beyond that (its planner, streaming, epochs) is not here.
 */
import pg from 'pg';
import { RisingWaveEngine } from '../../src/engine/risingwave/engine';
import { EngineSqlError } from '../../src/engine/risingwave/errors';
import { IdleFeed } from '../../src/engine/risingwave/idleFeed';
import { GatewayErrorCode } from '../../src/errors';
import { failure } from '../helpers/failure';
import { recordingLogger, silentLogger } from '../../src/log';
import { createPgDatabase, type PgTestDatabase } from '../conformance/databases';
import { FakeRisingWaveServer } from '../conformance/fakeRisingWaveServer';
import { waitFor } from '../helpers/waitFor';

let db: PgTestDatabase;
let fake: FakeRisingWaveServer;
const engines: RisingWaveEngine[] = [];

beforeAll(async () => {
  db = await createPgDatabase();
  await db.client.query('CREATE TABLE sample (id int PRIMARY KEY, note text)');
  await db.client.query("INSERT INTO sample VALUES (1, 'one')");
  fake = await FakeRisingWaveServer.start({ pgUrl: db.url });
}, 30_000);
afterAll(async () => {
  for (const e of engines) await e.close();
  await fake?.close();
  await db?.drop();
}, 30_000);
afterEach(() => {
  fake.onFlush = async () => undefined;
  fake.hold = undefined;
});

async function engineOn(url: string, extra: Partial<Parameters<typeof RisingWaveEngine.create>[0]> = {}): Promise<RisingWaveEngine> {
  const e = await RisingWaveEngine.create({ databaseUrl: url, feed: new IdleFeed(), log: silentLogger, healthIntervalMs: 60_000, ...extra });
  engines.push(e);
  return e;
}

/** PostgreSQL backends of this test database running pg_sleep (the fake's held statements). */
async function held(): Promise<number> {
  const { rows: [row] } = await db.client.query(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'SELECT pg_catalog.pg_sleep%' AND state = 'active'");
  return row.n as number;
}

describe('the RisingWave engine on a RisingWave frontend (fake, SQL on PostgreSQL)', () => {
  it('sends the statement timeout with its unit in the startup options, which RisingWave 3.0 parses', async () => {
    const before = fake.startups.length;
    const e = await engineOn(fake.url(), { statementTimeoutMs: 1234 });
    expect(fake.startups[before]).toMatchObject({ options: '-c statement_timeout=1234ms', application_name: 'wavegate' });
    expect(await e.query('SHOW statement_timeout')).toEqual([{ statement_timeout: '1234ms' }]);
  });

  it('refuses RisingWave 2.8 at start (it ignores startup options: no statement timeout) with BAD_CONFIG naming the version', async () => {
    const old = await FakeRisingWaveServer.start({ pgUrl: db.url, version: '2.8.5' });
    try {
      const err = await failure(engineOn(old.url()));
      expect(err).toMatchObject({ code: GatewayErrorCode.BAD_CONFIG });
      expect(err.message).toMatch(/RisingWave 2\.8\.5 is not supported: .*startup options.*RisingWave 3\.0 or later/);
    } finally {
      await old.close();
    }
  });

  it('turns RisingWave\'s XX000 "Query cancelled: timeout after N seconds" into ENGINE_UNAVAILABLE reason timeout, not a masked internal error', async () => {
    const log = recordingLogger();
    const e = await engineOn(fake.url(), { statementTimeoutMs: 1_000, log });
    fake.hold = /hold-me/;
    const err = await failure(e.query("SELECT 'hold-me'"));
    expect(err).toMatchObject({ code: GatewayErrorCode.ENGINE_UNAVAILABLE, safe: true, retriable: false, details: { reason: 'timeout', timeoutMs: 1_000 } });
    expect((err.cause as { code?: string; message?: string }).code).toBe('XX000');
    expect((err.cause as Error).message).toBe('Failed to run the query\n\nCaused by:\n  Query cancelled: timeout after 1 seconds');
    expect(log.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('hands over a SQL error in PostgreSQL\'s terms: RisingWave\'s 42704 catalog error keeps its code, its text loses the framing', async () => {
    const log = recordingLogger();
    const e = await engineOn(fake.url(), { log });
    const err = await failure(e.query('SELECT * FROM no_such_view'));
    expect(err).toMatchObject({ code: GatewayErrorCode.INTERNAL_SERVER_ERROR, safe: false });
    expect(err.cause).toBeInstanceOf(EngineSqlError);
    expect(err.cause).toMatchObject({ code: '42704', message: 'Catalog error: table or source not found: no_such_view' });
    const div = await failure(e.query('SELECT 1 / (id - 1) FROM sample', []));
    expect(div.cause).toMatchObject({ code: '22012', message: expect.stringMatching(/^Expr error: .*: Division by zero$/) });
    expect(log.lines).toContainEqual(expect.objectContaining({ level: 'error', fields: expect.objectContaining({ sqlState: '22012', engineSqlState: 'XX000' }) }));
  });

  it('cancels a running statement with KILL \'<worker>:<pid>\' of its own session, found through SHOW PROCESSLIST', async () => {
    const e = await engineOn(fake.url(), { statementTimeoutMs: 60_000 });
    fake.hold = /hold-me/;
    const kills = fake.kills.length;
    const running = e.start!("SELECT 'hold-me' AS x");
    await waitFor(async () => (await held()) === 1);
    await running.cancel();
    const err = await failure(running.rows);
    expect(err).toMatchObject({ code: GatewayErrorCode.ENGINE_UNAVAILABLE, details: { reason: 'cancelled' } });
    const pid = fake.statements.find((s) => s.sql === "SELECT 'hold-me' AS x")!.pid;
    expect(fake.kills.slice(kills)).toEqual([`KILL '1:${pid}'`]);
    expect(await held()).toBe(0);
    // The statement's connection identified itself once, by its own SHOW PROCESSLIST row.
    expect(fake.statements.filter((s) => s.pid === pid).map((s) => s.sql).slice(-2)).toEqual(['SHOW PROCESSLIST', "SELECT 'hold-me' AS x"]);
  });

  it('snapshot: takes the feed cursor, then FLUSH, then the read on the same session: rows committed by the FLUSH are in the read', async () => {
    const e = await engineOn(fake.url());
    // A row RisingWave has already sent to Kafka but whose epoch is not committed yet: held in an
    // open transaction that the fake's FLUSH commits.
    const writer = new pg.Client({ connectionString: db.url });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query("INSERT INTO sample VALUES (2, 'two')");
      expect(await e.query('SELECT id FROM sample ORDER BY id')).toEqual([{ id: 1 }]);
      fake.onFlush = async () => void await writer.query('COMMIT');
      const from = fake.statements.length;
      const snap = await e.snapshot!<{ id: number }>('SELECT id FROM sample ORDER BY id');
      expect(snap.rows).toEqual([{ id: 1 }, { id: 2 }]);
      expect(snap.cursor).toBe(new IdleFeed().head());
      const mine = fake.statements.slice(from).filter((s) => s.sql === 'FLUSH' || s.sql.startsWith('SELECT id FROM sample'));
      expect(mine.map((s) => s.sql)).toEqual(['FLUSH', 'SELECT id FROM sample ORDER BY id']);
      expect(new Set(mine.map((s) => s.pid)).size).toBe(1);
    } finally {
      await writer.end();
    }
  });

  it('snapshot on PostgreSQL standing in (no FLUSH there): a plain read', async () => {
    const e = await engineOn(db.url);
    expect((await e.snapshot!<{ id: number }>('SELECT id FROM sample WHERE id = 1')).rows).toEqual([{ id: 1 }]);
  });
});
