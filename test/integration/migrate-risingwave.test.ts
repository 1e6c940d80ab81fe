import { runMigrate } from '../../src/cli/migrate';
import { generateDdl } from '../../src/engine/risingwave/ddl';
import { applyPlan, inspect } from '../../src/engine/risingwave/migrator';
import { loadRisingWaveSettings } from '../../src/engine/risingwave/settings';
import { bundledRegistry } from '../../src/views/load';
import { viewNamed } from '../../src/views/find';
import { createPgDatabase, type PgTestDatabase } from '../conformance/databases';
import { FakeRisingWave } from '../conformance/fakeRisingWave';

// `wavegate migrate` against a fake RisingWave (DDL recorded in memory, bookkeeping tables on a real
// PostgreSQL database): no RisingWave can run here, so this checks migrate's own logic — resume,
// idempotence, drift, recreate order — not RisingWave's acceptance of the DDL.

let db: PgTestDatabase;
let rw: FakeRisingWave;

beforeEach(async () => {
  db = await createPgDatabase();
  rw = new FakeRisingWave(db.client);
}, 30_000);
afterEach(async () => db?.drop(), 30_000);

const ENV = { WAVEGATE_DATABASE_URL: 'postgres://root@risingwave:4566/dev', WAVEGATE_CDC_PASSWORD: 'pw' };

async function migrate(args: string[], env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const code = await runMigrate(args, { stdout: (s) => void (out += s), stderr: (s) => void (err += s), env: { ...ENV, ...env }, connect: async () => rw });
  return { code, out, err };
}

async function recorded(sql: string): Promise<unknown[]> {
  return (await db.client.query(sql)).rows;
}

describe('wavegate migrate (fake RisingWave: in-memory DDL, bookkeeping on real PostgreSQL)', () => {
  it('applies everything from scratch, records it, and is idempotent', async () => {
    const first = await migrate(['apply']);
    expect(first).toMatchObject({ code: 0, err: '' });
    const objects = generateDdl(loadRisingWaveSettings({}));
    expect(rw.executed).toHaveLength(objects.length + 2); // + the two bookkeeping tables
    expect([...rw.catalog.keys()].sort()).toEqual([...objects.map((o) => o.name), 'wavegate_migration_steps', 'wavegate_migrations'].sort());
    expect(await recorded('SELECT version, name FROM wavegate_migrations ORDER BY version')).toEqual([
      { version: 1, name: 'base' }, { version: 2, name: 'view:driver_earnings_daily' }, { version: 3, name: 'view:driver_stats' },
      { version: 4, name: 'view:rider_stats' }, { version: 5, name: 'view:trip_history' }, { version: 6, name: 'event_sinks' }]);
    const before = rw.executed.length;
    expect(await migrate(['apply'])).toMatchObject({ code: 0, out: 'wavegate migrate: up to date\n' });
    expect(rw.executed).toHaveLength(before);
    const status = await migrate(['status']);
    expect(status.code).toBe(0);
    expect(status.out).toContain('applied 6 event_sinks');
    expect(status.out).not.toContain('pending');
  });

  it('on MariaDB applies the CDC table with a VARCHAR payload and the `outbox` view casting it, before the views; a rerun is up to date', async () => {
    const env = { WAVEGATE_CDC_DIALECT: 'mariadb' };
    expect(await migrate(['apply'], env)).toMatchObject({ code: 0, err: '' });
    const order = rw.executed.filter((s) => /^CREATE (SOURCE|TABLE outbox|VIEW|MATERIALIZED VIEW trip_history)/.test(s)).map((s) => s.replace(/ \($| WITH \($| AS$/, ''));
    expect(order).toEqual(['CREATE SOURCE outbox_cdc', 'CREATE TABLE outbox_rides', 'CREATE VIEW outbox', 'CREATE MATERIALIZED VIEW trip_history']);
    expect(rw.catalog.get('outbox')).toBe('view');
    expect(await migrate(['apply'], env)).toMatchObject({ code: 0, out: 'wavegate migrate: up to date\n' });
  });

  it('applies one CDC table per service database and their UNION ALL before any view that reads it', async () => {
    const env = { WAVEGATE_CDC_DATABASE: 'ride,driver,payment,notification' };
    expect(await migrate(['apply'], env)).toMatchObject({ code: 0, err: '' });
    const order = rw.executed.filter((s) => /^CREATE (SOURCE|TABLE outbox|MATERIALIZED VIEW)/.test(s)).map((s) => s.replace(/ \($| WITH \($| AS$/, ''));
    expect(order).toEqual(['CREATE SOURCE outbox_cdc', 'CREATE TABLE outbox_ride', 'CREATE TABLE outbox_driver', 'CREATE TABLE outbox_payment',
      'CREATE TABLE outbox_notification', 'CREATE MATERIALIZED VIEW outbox', 'CREATE MATERIALIZED VIEW driver_earnings_daily',
      'CREATE MATERIALIZED VIEW driver_stats', 'CREATE MATERIALIZED VIEW rider_stats', 'CREATE MATERIALIZED VIEW trip_history']);
    expect(await migrate(['apply'], env)).toMatchObject({ code: 0, out: 'wavegate migrate: up to date\n' });
    // Switching to a single database later is a change to CDC objects: refused, nothing dropped.
    const single = await migrate(['apply']);
    expect(single.code).toBe(3);
    expect(rw.executed.some((s) => s.startsWith('DROP'))).toBe(false);
  });

  it('resumes an interrupted migration at the failed statement, without redoing what it recorded', async () => {
    rw.failBefore = /^CREATE SINK driver_stats_sink/;
    const failed = await migrate(['apply']);
    expect(failed.code).toBe(1);
    expect(failed.err).toContain('migration 3 (view:driver_stats) failed at statement 2 of 2');
    expect(failed.err).toContain('rerun `wavegate migrate apply` to resume');
    const status = await migrate(['status']);
    expect(status).toMatchObject({ code: 5 });
    expect(status.out).toContain('interrupted 3 view:driver_stats');
    const done = rw.executed.length;
    expect(await migrate(['apply'])).toMatchObject({ code: 0 });
    expect(rw.executed[done]).toBe('CREATE SINK driver_stats_sink FROM driver_stats');
    expect(rw.executed.filter((s) => s.startsWith('CREATE MATERIALIZED VIEW driver_stats'))).toHaveLength(1);
    expect((await migrate(['status'])).code).toBe(0);
  });

  it('recognises a statement that took effect but was never recorded (lost connection) and does not rerun it', async () => {
    rw.failAfter = /^CREATE MATERIALIZED VIEW rider_stats/;
    expect((await migrate(['apply'])).code).toBe(69);
    const resumed = await migrate(['apply']);
    expect(resumed.code).toBe(0);
    expect(resumed.out).toContain('[1/2] already in effect: CREATE MATERIALIZED VIEW rider_stats AS');
    expect(rw.executed.filter((s) => s.startsWith('CREATE MATERIALIZED VIEW rider_stats'))).toHaveLength(1);
  });

  it('refuses objects it did not create, and objects it created that were dropped behind its back (exit 3)', async () => {
    rw.catalog.set('hand_made_mv', 'materialized view');
    const refused = await migrate(['apply']);
    expect(refused.code).toBe(3);
    expect(refused.err).toContain('hand_made_mv: a materialized view that migrate did not create is present');
    expect(rw.executed).toEqual([]);
    rw.catalog.delete('hand_made_mv');
    expect((await migrate(['apply'])).code).toBe(0);
    rw.catalog.delete('trip_history_sink');
    const status = await migrate(['status']);
    expect(status.code).toBe(3);
    expect(status.out).toContain('drift trip_history_sink: migrate created this sink, but it is gone');
  });

  it('refuses a changed CDC source (it would re-snapshot everything) and a missing password', async () => {
    expect((await migrate(['apply'], { WAVEGATE_CDC_PASSWORD: '' })).code).toBe(78);
    expect(rw.executed).toEqual([]);
    expect((await migrate(['apply'])).code).toBe(0);
    const moved = await migrate(['plan'], { WAVEGATE_CDC_HOST: 'mysql-replica' });
    expect(moved.code).toBe(3);
    expect(moved.err).toContain('outbox_cdc: the source was created with checksum');
  });

  it('recreates only the sinks when the Kafka brokers change, each DROP SINK before its CREATE SINK', async () => {
    expect((await migrate(['apply'])).code).toBe(0);
    const plan = await migrate(['plan'], { WAVEGATE_SINK_BROKERS: 'kafka-2:9092' });
    expect(plan.code).toBe(0);
    expect(plan.out).toContain("properties.bootstrap.server = 'kafka-2:9092'");
    const done = rw.executed.length;
    expect((await migrate(['apply'], { WAVEGATE_SINK_BROKERS: 'kafka-2:9092' })).code).toBe(0);
    const changes = rw.executed.slice(done);
    expect(changes.slice(0, 2)).toEqual(['DROP SINK driver_earnings_daily_sink', 'CREATE SINK driver_earnings_daily_sink FROM driver_earnings_daily']);
    expect(changes.some((s) => s.includes('MATERIALIZED VIEW'))).toBe(false);
    expect(changes).toHaveLength(24); // 12 sinks, each dropped and created
  });

  it('a changed view: DROP SINK -> DROP INDEX -> DROP MATERIALIZED VIEW -> CREATE MATERIALIZED VIEW -> CREATE INDEX -> CREATE SINK', async () => {
    const settings = loadRisingWaveSettings({ WAVEGATE_CDC_PASSWORD: 'pw' });
    const ins = await inspect(rw, generateDdl(settings));
    await applyPlan(rw, ins, 'pw', { step: () => undefined, done: () => undefined });
    const changed = generateDdl({ ...settings, views: bundledRegistry().views.map((v) => ({ ...v, sql: v.sql.replace("ELSE 'REQUESTED'", "ELSE 'PENDING'") })) });
    const again = await inspect(rw, changed);
    expect(again.drift).toEqual([]);
    const done = rw.executed.length;
    await applyPlan(rw, again, 'pw', { step: () => undefined, done: () => undefined });
    expect(rw.executed.slice(done).map((s) => s.replace(/ (AS|FROM|ON)( .*)?$/, ''))).toEqual([
      'DROP SINK trip_history_sink', 'DROP INDEX trip_history_by_driver', 'DROP INDEX trip_history_by_rider',
      'DROP MATERIALIZED VIEW trip_history', 'CREATE MATERIALIZED VIEW trip_history',
      'CREATE INDEX trip_history_by_rider', 'CREATE INDEX trip_history_by_driver', 'CREATE SINK trip_history_sink']);
    expect(await recorded("SELECT version, name FROM wavegate_migrations WHERE version > 6")).toEqual([{ version: 7, name: 'view:trip_history' }]);
  });
});
