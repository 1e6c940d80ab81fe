import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { RisingWaveEngine } from '../../src/engine/risingwave/engine';
import { IdleFeed } from '../../src/engine/risingwave/idleFeed';
import { GatewayErrorCode, isGatewayError, type GatewayError } from '../../src/errors';
import { recordingLogger, silentLogger } from '../../src/log';
import { createPgDatabase, withDatabase, type PgTestDatabase } from '../conformance/databases';
import { closedPort, TcpProxy } from '../conformance/proxy';
import { waitFor } from '../helpers/waitFor';
import { loadRegistry } from '../../src/views/load';
import type { Registry } from '../../src/views/model';

// PostgreSQL 15 stands in for RisingWave here: the read path speaks the same wire protocol. RisingWave's
// own answers (errors, version, KILL, FLUSH) are in risingwave-wire.test.ts, with the fake frontend.

let db: PgTestDatabase;
const engines: RisingWaveEngine[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  db = await createPgDatabase();
  await db.client.query(`CREATE VIEW sample AS SELECT 12345678901234::int8 AS big, 12.50::numeric AS amount,
    '2026-10-05'::date AS day, '2026-10-05 14:03:07.123456+00'::timestamptz AS at`);
}, 30_000);
afterAll(async () => {
  for (const e of engines) await e.close();
  for (const p of proxies) await p.stop();
  await db?.drop();
}, 30_000);

async function engineFor(url: string, extra: Partial<Parameters<typeof RisingWaveEngine.create>[0]> = {}): Promise<RisingWaveEngine> {
  const e = await RisingWaveEngine.create({ databaseUrl: url, feed: new IdleFeed(), log: silentLogger,
    healthIntervalMs: 60_000, connectTimeoutMs: 1_000, retryDelayMs: 10, ...extra });
  engines.push(e);
  return e;
}

async function failure(p: Promise<unknown>): Promise<GatewayError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  if (!isGatewayError(err)) throw new Error(`expected a GatewayError, got ${String(err)}`);
  return err;
}

describe('risingwave engine read path (PostgreSQL 15 standing in for RisingWave)', () => {
  it('passes the statement timeout in the startup options, where RisingWave reads it [READ2]', async () => {
    const e = await engineFor(db.url, { statementTimeoutMs: 1234 });
    expect(await e.query('SHOW statement_timeout')).toEqual([{ statement_timeout: '1234ms' }]);
  });

  it('returns int8, numeric, date and timestamptz as raw text, with parsers on its own pool only', async () => {
    const e = await engineFor(db.url);
    expect(await e.query('SELECT * FROM sample')).toEqual([
      { big: '12345678901234', amount: '12.50', day: '2026-10-05', at: expect.stringMatching(/^2026-10-05 \d\d:\d\d:07\.123456[+-]\d\d/) }]);
    const plain = new pg.Client({ connectionString: db.url });
    await plain.connect();
    const { rows: [row] } = await plain.query('SELECT day FROM sample');
    await plain.end();
    expect(row.day).toBeInstanceOf(Date); // the global pg.types registry was not touched
  });

  it('reports an unreachable engine as ENGINE_UNAVAILABLE (retriable), and is not ready', async () => {
    const e = await engineFor(withDatabase(`postgres://postgres@127.0.0.1:${await closedPort()}/`, 'x'), { retries: 1 });
    expect(e.ready()).toBe(false);
    const err = await failure(e.query('SELECT 1'));
    expect(err).toMatchObject({ code: GatewayErrorCode.ENGINE_UNAVAILABLE, retriable: true, safe: true, details: { reason: 'unreachable' } });
  });

  it('cancels a query at the statement timeout: ENGINE_UNAVAILABLE with reason timeout, not retriable', async () => {
    const e = await engineFor(db.url, { statementTimeoutMs: 200 });
    const started = Date.now();
    const err = await failure(e.query('SELECT pg_sleep(2)'));
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(err).toMatchObject({ code: GatewayErrorCode.ENGINE_UNAVAILABLE, retriable: false, details: { reason: 'timeout', timeoutMs: 200 } });
    expect(e.ready()).toBe(true);
  });

  it('masks bad SQL as a non-safe internal error and logs the cause', async () => {
    const log = recordingLogger();
    const e = await engineFor(db.url, { log });
    const err = await failure(e.query('SELECT * FROM no_such_view'));
    expect(err).toMatchObject({ code: GatewayErrorCode.INTERNAL_SERVER_ERROR, safe: false, retriable: false });
    expect(err.message).not.toContain('no_such_view');
    expect(log.lines).toContainEqual(expect.objectContaining({ level: 'error', fields: expect.objectContaining({ sqlState: '42P01' }) }));
  });

  it('retries a read whose connection was cut, and succeeds', async () => {
    const proxy = await TcpProxy.start(Number(new URL(db.url).port));
    proxies.push(proxy);
    const e = await engineFor(db.url.replace(/:\d+\//, `:${proxy.port}/`), { retries: 2 });
    const before = proxy.accepted;
    proxy.cut(); // the pooled connection dies
    proxy.dropNext = 1; // and the next new one is reset before it reaches the server
    expect(await e.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(proxy.accepted).toBeGreaterThanOrEqual(before + 2);
    expect(e.ready()).toBe(true);
  });

  it('a proxy stood in for stopping the server: readiness flips false, then recovers without a new engine', async () => {
    const proxy = await TcpProxy.start(Number(new URL(db.url).port));
    proxies.push(proxy);
    const e = await engineFor(db.url.replace(/:\d+\//, `:${proxy.port}/`), { healthIntervalMs: 50, retries: 0 });
    expect(e.ready()).toBe(true);
    await proxy.stop(); // "stop the server"
    await waitFor(() => !e.ready());
    expect(await failure(e.query('SELECT 1'))).toMatchObject({ code: GatewayErrorCode.ENGINE_UNAVAILABLE });
    await proxy.listen(); // "start it again", same port
    await waitFor(() => e.ready());
    expect(await e.query('SELECT 2 AS two')).toEqual([{ two: 2 }]);
  });
});

describe('catalog check at start-up (serve turns it on)', () => {
  /** A schema directory with one view, `sample` (the view beforeAll created), declared with `at` as `atType`, plus `absent`. */
  function sampleSchema(atType: string): { views: Registry; remove(): void } {
    const dir = mkdtempSync(join(tmpdir(), 'wt-views-core-rw-'));
    writeFileSync(join(dir, 'wavegate.yaml'), 'roles: { ops: {} }\nsql_default_role: ops\nauth_off_role: ops\n');
    writeFileSync(join(dir, 'sample.sql'), 'SELECT 1::bigint AS big');
    writeFileSync(join(dir, 'sample.yaml'), `key: [big]\ncolumns:\n  big: { type: int }\n  amount: { type: numeric }\n  day: { type: date }\n  at: { type: ${atType} }\n`);
    writeFileSync(join(dir, 'absent.sql'), 'SELECT 1::bigint AS n');
    writeFileSync(join(dir, 'absent.yaml'), 'key: [n]\ncolumns:\n  n: { type: int }\n');
    return { views: loadRegistry(dir), remove: () => rmSync(dir, { recursive: true, force: true }) };
  }

  it('refuses columns whose types differ from the declarations with BAD_CONFIG saying what to change', async () => {
    const schema = sampleSchema('text');
    try {
      const err = await failure(RisingWaveEngine.create({ databaseUrl: db.url, feed: new IdleFeed(), log: silentLogger, healthIntervalMs: 60_000,
        views: schema.views, checkCatalog: true }));
      expect(err.code).toBe(GatewayErrorCode.BAD_CONFIG);
      expect(err.message).toContain('view sample: column 4 is at timestamptz in the engine, declared at text');
      expect(err.message).toContain('`wavegate migrate apply`');
    } finally {
      schema.remove();
    }
  });

  it('starts when the columns agree, logging the views migrate has not created yet', async () => {
    const schema = sampleSchema('timestamptz');
    const log = recordingLogger();
    try {
      const e = await engineFor(db.url, { log, views: schema.views, checkCatalog: true });
      expect(e.ready()).toBe(true);
      expect(e.views).toBe(schema.views);
      expect(log.lines).toContainEqual(expect.objectContaining({ level: 'error', fields: { views: ['absent'] } }));
    } finally {
      schema.remove();
    }
  });
});
