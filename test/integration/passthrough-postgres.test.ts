import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { RisingWaveEngine } from '../../src/engine/risingwave/engine';
import { IdleFeed } from '../../src/engine/risingwave/idleFeed';
import { recordingLogger, silentLogger } from '../../src/log';
import { writeEvents } from '../../src/outbox/writer';
import { startSqlPassthrough } from '../../src/passthrough';
import { createPgDatabase, createRisingWaveStandIn, pgExecutor, type PgTestDatabase } from '../conformance/databases';
import { FIXTURE_RIDES } from '../conformance/fixture';
import { definePassthroughSuite, PASSWORDS, psql, USERS } from '../fixtures/pgwire/harness';
import { pgjdbcJar } from '../helpers/pgjdbc';

// The SQL passthrough over the RisingWave engine's read path, with PostgreSQL 15 standing in for
// RisingWave: a throwaway database holding the outbox and the four views as plain views made from
// schema/*.sql (test/conformance/databases.ts). The engine's own statement timeout is set high
// (30 s) so the 1 s passthrough timeout is what must stop the slow statement on the server.

async function standIn(): Promise<{ db: PgTestDatabase; engine: RisingWaveEngine }> {
  const db = await createPgDatabase();
  await createRisingWaveStandIn(db);
  const engine = await RisingWaveEngine.create({ databaseUrl: db.url, feed: new IdleFeed(), log: silentLogger,
    statementTimeoutMs: 30_000, healthIntervalMs: 60_000 });
  return { db, engine };
}

async function seed(db: PgTestDatabase, events: Parameters<typeof writeEvents>[1]): Promise<void> {
  await db.client.query('BEGIN');
  await writeEvents(pgExecutor(db.client), events);
  await db.client.query('COMMIT');
}

const SLOW = 'WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t';

definePassthroughSuite('SQL passthrough on the RisingWave engine (PostgreSQL standing in)', async () => {
  const { db, engine } = await standIn();
  return {
    engine,
    seed: (events) => seed(db, events),
    // Runs until cancelled, using nothing the guard forbids: only the timeout protects the engine.
    slow: async () => ({ sql: SLOW, release: async () => undefined }),
    // The engine gets the statement as the guard re-printed it (with the row cap), so match loosely.
    runningOnEngine: async () => (await db.client.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'
         AND pid <> pg_backend_pid() AND query ILIKE '%with recursive%'`)).rows[0].n as number,
    concurrentEngine: true,
    close: async () => {
      await engine.close();
      await db.drop();
    },
  };
});

describe('SQL passthrough over TLS', () => {
  let dir: string;
  let db: PgTestDatabase;
  let engine: RisingWaveEngine;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wavegate-sql-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    ({ db, engine } = await standIn());
    for (const ride of FIXTURE_RIDES) await seed(db, ride);
  }, 60_000);
  afterAll(async () => {
    await engine?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers SSLRequest with S and serves psql (sslmode=require) and node-postgres over TLS', async () => {
    const log = recordingLogger();
    const server = await startSqlPassthrough({ port: 0, engine, users: USERS, log,
      tls: { certPath: join(dir, 'cert.pem'), keyPath: join(dir, 'key.pem') } });
    try {
      const r = await psql(server.port, 'rita', PASSWORDS.rita, ['-c', 'SELECT count(*) FROM trip_history'], { PGSSLMODE: 'require' });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('2');
      const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'olga', password: PASSWORDS.olga, database: 'x', ssl: { rejectUnauthorized: false } });
      await c.connect();
      expect((await c.query('SELECT count(*)::int AS n FROM rider_stats')).rows).toEqual([{ n: 3 }]);
      await c.end();
      expect(log.lines.filter((l) => l.msg === 'sql login').map((l) => l.fields['tls'])).toEqual([true, true]);
    } finally {
      await server.close();
    }
  });

  it('without a certificate answers N, and psql sslmode=require gives up', async () => {
    const server = await startSqlPassthrough({ port: 0, engine, users: USERS, log: silentLogger });
    try {
      const r = await psql(server.port, 'rita', PASSWORDS.rita, ['-c', 'SELECT 1'], { PGSSLMODE: 'require' });
      expect(r.stderr).toMatch(/server does not support SSL/);
    } finally {
      await server.close();
    }
  });
});

// pgjdbc, the driver Metabase uses (jar fetched and cached by test/helpers/pgjdbc.ts).
describe('SQL passthrough with pgjdbc (Metabase\'s driver)', () => {
  let db: PgTestDatabase;
  let engine: RisingWaveEngine;

  beforeAll(async () => {
    pgjdbcJar();
    ({ db, engine } = await standIn());
    for (const ride of FIXTURE_RIDES) await seed(db, ride);
  }, 240_000);
  afterAll(async () => {
    await engine?.close();
    await db?.drop();
  });

  it('lists the views, runs binary server-prepared statements, refuses, times out via CancelRequest', async () => {
    const server = await startSqlPassthrough({ port: 0, engine, users: USERS, log: silentLogger, statementTimeoutMs: 10_000 });
    try {
      const out = await new Promise<string>((resolve, reject) => {
        execFile('java', ['-cp', pgjdbcJar(), join(__dirname, '../fixtures/pgwire/JdbcCheck.java'), String(server.port), 'olga', PASSWORDS.olga],
          { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
      });
      expect(out.trim().split('\n')).toEqual([
        'table driver_earnings_daily VIEW', 'table driver_stats VIEW', 'table rider_stats VIEW', 'table trip_history VIEW',
        'column driver_id text', 'column day date', 'column trips int8', 'column gross_fares numeric', 'column avg_rating numeric', 'column ratings int8',
        'trip ride-1 12.50 2026-10-05T10:00:00Z 8 52.52', 'trip ride-2 7.05 2026-10-05T23:40:00Z 7 52.5',
        'earnings 2026-10-05 0', 'earnings 2026-10-06 7.05',
        'refused 42P01', 'timeout 57014', 'after 3',
      ]);
    } finally {
      await server.close();
    }
  }, 90_000);
});
