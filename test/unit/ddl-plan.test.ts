import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runMigrate } from '../../src/cli/migrate';
import { generateDdl, outboxColumns } from '../../src/engine/risingwave/ddl';
import { bindPassword } from '../../src/engine/risingwave/migrator';
import type { DdlObject } from '../../src/engine/risingwave/objects';
import { catalogDrift, dropSql, planMigrations, type AppliedObject } from '../../src/engine/risingwave/plan';
import { loadRisingWaveSettings, RISINGWAVE_ENV_VARS } from '../../src/engine/risingwave/settings';
import { eventSinkName } from '../../src/engine/risingwave/sinks';
import { GatewayErrorCode, isGatewayError } from '../../src/errors';
import { bundledRegistry } from '../../src/views/load';
import { viewNamed } from '../../src/views/find';

const settings = loadRisingWaveSettings({});
const desired = generateDdl(settings);
const asApplied = (objects: readonly DdlObject[]) => new Map<string, AppliedObject>(objects.map((o) => [o.name, o]));
const ops = (steps: ReadonlyArray<{ op: string; name: string }>) => steps.map((s) => `${s.op} ${s.name}`);

describe('RisingWave DDL generation', () => {
  it('declares the same CDC columns and primary key for the MySQL and Postgres outbox [CDC3]', () => {
    expect(outboxColumns('mysql')).toEqual(outboxColumns('postgres'));
    expect(outboxColumns('mysql').primaryKey).toEqual(['id']);
    expect(outboxColumns('mysql').columns).toContainEqual(['occurred_at', 'TIMESTAMPTZ']);
    expect(outboxColumns('mysql').columns).toContainEqual(['payload', 'JSONB']);
  });

  it('uses each view key as its sink primary_key and never NOT NULL/DEFAULT on the CDC table', () => {
    for (const v of bundledRegistry().views) {
      const sink = desired.find((o) => o.name === `${v.name}_sink`)!;
      expect(sink.create).toContain(`primary_key = '${v.key.join(',')}'`);
      expect(sink.create).toContain(`topic = 'view.${v.name}'`);
    }
    const outbox = desired.find((o) => o.name === 'outbox')!;
    expect(outbox.create).not.toMatch(/NOT NULL|DEFAULT/i);
  });

  it('names event sinks events_<snake_case> and never puts the password in a statement', () => {
    expect(eventSinkName('RideRequested')).toBe('events_ride_requested');
    expect(eventSinkName('TripRated')).toBe('events_trip_rated');
    const withPassword = loadRisingWaveSettings({ WAVEGATE_CDC_PASSWORD: 's3cret' });
    expect(generateDdl(withPassword).some((o) => o.create.includes('s3cret'))).toBe(false);
    expect(generateDdl(withPassword).map((o) => o.checksum)).toEqual(desired.map((o) => o.checksum));
  });

  it('binds the password as an escaped literal, and refuses to apply without one', () => {
    expect(bindPassword("password = :'cdc_password',", "o'neil")).toBe("password = 'o''neil',");
    expect(bindPassword('CREATE SINK x', undefined)).toBe('CREATE SINK x');
    const err = (() => { try { return bindPassword(":'cdc_password'", undefined); } catch (e) { return e; } })();
    expect(isGatewayError(err, GatewayErrorCode.BAD_CONFIG)).toBe(true);
  });

  it('rejects settings that would need quoting inside DDL, naming the variable', () => {
    for (const env of [{ WAVEGATE_CDC_HOST: "x'; DROP" }, { WAVEGATE_CDC_SLOT: 'Bad-Slot' }, { WAVEGATE_CDC_DIALECT: 'oracle' }, { WAVEGATE_CDC_PORT: '0' }]) {
      const err = (() => { try { return loadRisingWaveSettings(env); } catch (e) { return e; } })();
      expect(isGatewayError(err, GatewayErrorCode.BAD_CONFIG)).toBe(true);
      expect((err as Error).message).toContain(Object.keys(env)[0]);
    }
  });
});

describe('several outbox databases (one per service)', () => {
  const multi = loadRisingWaveSettings({ WAVEGATE_CDC_DATABASE: 'ride,driver,payment,notification' });
  const objects = generateDdl(multi);
  const byName = (name: string) => objects.find((o) => o.name === name)!;

  it('reads them all through one mysql-cdc source, one CDC table each, and names their UNION ALL `outbox`', () => {
    expect(multi.source.databases).toEqual(['ride', 'driver', 'payment', 'notification']);
    expect(byName('outbox_cdc').create).toContain("database.name = 'ride,driver,payment,notification'");
    expect(objects.filter((o) => o.kind === 'table').map((o) => [o.name, o.create.split('\n').at(-1)])).toEqual([
      ['outbox_ride', ") FROM outbox_cdc TABLE 'ride.outbox'"],
      ['outbox_driver', ") FROM outbox_cdc TABLE 'driver.outbox'"],
      ['outbox_payment', ") FROM outbox_cdc TABLE 'payment.outbox'"],
      ['outbox_notification', ") FROM outbox_cdc TABLE 'notification.outbox'"],
    ]);
    const outbox = byName('outbox');
    expect(outbox).toMatchObject({ kind: 'materialized view', group: 'base', dependsOn: ['outbox_ride', 'outbox_driver', 'outbox_payment', 'outbox_notification'] });
    expect(outbox.create.match(/UNION ALL/g)).toHaveLength(3);
    // Every branch selects the columns in the same order, the order the event sinks select them in.
    const cols = outboxColumns('mysql').columns.map(([n]) => n).join(', ');
    for (const t of ['outbox_ride', 'outbox_driver', 'outbox_payment', 'outbox_notification']) expect(outbox.create).toContain(`SELECT ${cols} FROM ${t}`);
  });

  it('leaves the views, indexes and sinks exactly as with one database: they read `outbox` either way', () => {
    const rest = (list: readonly DdlObject[]) => list.filter((o) => o.group !== 'base').map((o) => [o.name, o.checksum]);
    expect(rest(objects)).toEqual(rest(desired));
  });

  it('refuses a database added later as drift (the union is a base object) instead of rebuilding every view', () => {
    const three = generateDdl(loadRisingWaveSettings({ WAVEGATE_CDC_DATABASE: 'ride,driver,payment' }));
    const plan = planMigrations(objects, asApplied(three), 3);
    expect(plan.drift.map((d) => d.object)).toEqual(expect.arrayContaining(['outbox_cdc', 'outbox']));
    expect(plan.migrations.flatMap((m) => m.steps).filter((s) => s.op === 'drop')).toEqual([]);
  });

  it('rejects a list with postgres, a repeated or upper-case name, or too many databases, naming the variable', () => {
    for (const env of [
      { WAVEGATE_CDC_DIALECT: 'postgres', WAVEGATE_CDC_DATABASE: 'ride,driver' },
      { WAVEGATE_CDC_DATABASE: 'ride,ride' },
      { WAVEGATE_CDC_DATABASE: 'ride,Driver' },
      { WAVEGATE_CDC_DATABASE: 'ride,' },
      { WAVEGATE_CDC_DATABASE: Array.from({ length: 17 }, (_, i) => `db${i}`).join(',') },
    ]) {
      const err = (() => { try { return loadRisingWaveSettings(env); } catch (e) { return e; } })();
      expect(isGatewayError(err, GatewayErrorCode.BAD_CONFIG)).toBe(true);
      expect((err as Error).message).toContain('WAVEGATE_CDC_DATABASE');
    }
  });
});

describe('a MariaDB upstream (WAVEGATE_CDC_DIALECT=mariadb)', () => {
  const one = generateDdl(loadRisingWaveSettings({ WAVEGATE_CDC_DIALECT: 'mariadb' }));
  const four = generateDdl(loadRisingWaveSettings({ WAVEGATE_CDC_DIALECT: 'mariadb', WAVEGATE_CDC_DATABASE: 'ride,driver,payment,notification' }));

  it('declares the payload VARCHAR (MariaDB reports JSON as longtext, which RisingWave takes only as VARCHAR or BYTEA) and casts it in `outbox`', () => {
    expect(outboxColumns('mariadb').columns).toContainEqual(['payload', 'VARCHAR']);
    expect(outboxColumns('mariadb').columns.filter(([n]) => n !== 'payload')).toEqual(outboxColumns('mysql').columns.filter(([n]) => n !== 'payload'));
    expect(one.find((o) => o.name === 'outbox_cdc')!.create).toContain("connector = 'mysql-cdc'");
    expect(one.find((o) => o.name === 'outbox_rides')).toMatchObject({ kind: 'table', group: 'base' });
    expect(one.find((o) => o.name === 'outbox')).toMatchObject({
      kind: 'view', group: 'base', dependsOn: ['outbox_rides'],
      create: 'CREATE VIEW outbox AS\nSELECT id, aggregate_type, aggregate_id, event_type, payload::jsonb AS payload, occurred_at, trace_context FROM outbox_rides',
    });
    const union = four.find((o) => o.name === 'outbox')!;
    expect(union.kind).toBe('materialized view');
    expect(union.create.match(/payload::jsonb AS payload/g)).toHaveLength(4);
  });

  it('leaves the views, indexes and sinks exactly as on MySQL: they read `outbox` with a jsonb payload either way', () => {
    const rest = (list: readonly DdlObject[]) => list.filter((o) => o.group !== 'base').map((o) => [o.name, o.checksum]);
    expect(rest(one)).toEqual(rest(desired));
    expect(rest(four)).toEqual(rest(desired));
  });

  it('drops a retired view before tables, and needs lower-case database names (they become outbox_<db>)', () => {
    expect(dropSql('view', 'outbox')).toBe('DROP VIEW outbox');
    const err = (() => { try { return loadRisingWaveSettings({ WAVEGATE_CDC_DIALECT: 'mariadb', WAVEGATE_CDC_DATABASE: 'Rides' }); } catch (e) { return e; } })();
    expect(isGatewayError(err, GatewayErrorCode.BAD_CONFIG)).toBe(true);
  });
});

describe('migration planning', () => {
  it('plans everything from scratch: base, one migration per view, then the event sinks', () => {
    const plan = planMigrations(desired, new Map(), 1);
    expect(plan.drift).toEqual([]);
    expect(plan.migrations.map((m) => `${m.version} ${m.name}`)).toEqual([
      '1 base', '2 view:driver_earnings_daily', '3 view:driver_stats', '4 view:rider_stats', '5 view:trip_history', '6 event_sinks']);
    expect(plan.migrations.flatMap((m) => m.steps).every((s) => s.op === 'create')).toBe(true);
  });

  it('is idempotent: nothing to do when every object is applied with the same checksum', () => {
    expect(planMigrations(desired, asApplied(desired), 9)).toEqual({ migrations: [], drift: [] });
  });

  it('recreates only the sinks when only the Kafka settings change', () => {
    const moved = generateDdl(loadRisingWaveSettings({ WAVEGATE_SINK_BROKERS: 'broker-2:9092' }));
    const plan = planMigrations(moved, asApplied(desired), 10);
    expect(plan.drift).toEqual([]);
    expect(ops(plan.migrations.find((m) => m.name === 'view:trip_history')!.steps)).toEqual(['drop trip_history_sink', 'create trip_history_sink']);
    expect(plan.migrations.find((m) => m.name === 'event_sinks')!.steps).toHaveLength(16);
  });

  it('refuses a changed CDC source or outbox table as drift instead of recreating it', () => {
    const other = generateDdl(loadRisingWaveSettings({ WAVEGATE_CDC_HOST: 'mysql-2' }));
    const plan = planMigrations(other, asApplied(desired), 10);
    expect(plan.drift).toEqual([expect.objectContaining({ object: 'outbox_cdc', problem: expect.stringContaining('re-snapshots') })]);
  });

  it('retires the objects of a view that is no longer published, dependents first', () => {
    const without = generateDdl({ ...settings, views: [viewNamed(bundledRegistry(), 'trip_history'), viewNamed(bundledRegistry(), 'rider_stats'), viewNamed(bundledRegistry(), 'driver_stats')] });
    const plan = planMigrations(without, asApplied(desired), 10);
    expect(plan.migrations.map((m) => m.name)).toEqual(['retire']);
    expect(ops(plan.migrations[0]!.steps)).toEqual([
      'drop driver_earnings_daily_sink', 'drop driver_earnings_daily_by_driver', 'drop driver_earnings_daily']);
    expect(plan.migrations[0]!.steps[2]!.sql).toBe('DROP MATERIALIZED VIEW driver_earnings_daily');
  });

  it('flags catalog objects migrate did not create, and objects it created that are gone', () => {
    const expected = asApplied(desired.slice(0, 3));
    const drift = catalogDrift(expected, [
      { name: 'outbox_cdc', kind: 'source' }, { name: 'outbox', kind: 'table' }, { name: 'outbox', kind: 'source' },
      { name: 'wavegate_migrations', kind: 'table' }, { name: 'hand_made', kind: 'materialized view' },
      { name: 'half_done', kind: 'sink' },
    ], ['wavegate_migrations'], 'half_done');
    expect(drift.map((d) => d.object)).toEqual(['hand_made', 'driver_earnings_daily']);
    expect(drift[0]!.problem).toContain('did not create');
    expect(drift[1]!.problem).toContain('gone');
  });
});

describe('wavegate migrate (command line, offline)', () => {
  const run = async (args: string[], env: Record<string, string> = {}) => {
    let out = '';
    let err = '';
    const code = await runMigrate(args, { stdout: (s) => void (out += s), stderr: (s) => void (err += s), env });
    return { code, out, err };
  };

  it('prints the full plan without a database', async () => {
    const r = await run(['plan']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('from scratch');
    expect(r.out).toContain('CREATE SINK events_trip_rated AS');
  });

  it('needs WAVEGATE_DATABASE_URL for apply and status (exit 78), and rejects unknown commands (exit 2)', async () => {
    expect((await run(['apply'])).code).toBe(78);
    expect((await run(['status'])).err).toContain('WAVEGATE_DATABASE_URL');
    expect((await run(['rollback'])).code).toBe(2);
    expect((await run(['apply', '--from-scratch'])).code).toBe(2);
    expect((await run([])).code).toBe(2);
    expect((await run(['plan'], { WAVEGATE_CDC_DIALECT: 'db2' })).code).toBe(78);
  });
});

describe('docs/RISINGWAVE.md', () => {
  const root = join(__dirname, '..', '..');
  const doc = readFileSync(join(root, 'docs', 'RISINGWAVE.md'), 'utf8');

  it('documents every variable migrate and doctor read, with its default', () => {
    for (const v of RISINGWAVE_ENV_VARS) expect(doc).toContain(`| \`${v.name}\` | ${v.default} |`);
  });

  it('has a row, with RisingWave source links at a tag, for every RisingWave behaviour cited as [ID] in code, DDL notes and docs', () => {
    const rows = new Map([...doc.matchAll(/^\| ((?:CDC|SQL|SINK|READ|OPS)\d+) \|(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    expect(rows.size).toBeGreaterThan(25);
    for (const [id, row] of rows) expect([id, /\(https:\/\/github\.com\/risingwavelabs\/risingwave\/blob\/v\d+\.\d+\.\d+\//.test(row)]).toEqual([id, true]);
    const files = [
      ...readdirSync(join(root, 'src'), { recursive: true }).map((f) => join('src', String(f))).filter((f) => f.endsWith('.ts')),
      ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f)),
      ...readdirSync(join(root, 'test', 'golden', 'risingwave')).map((f) => join('test', 'golden', 'risingwave', f)),
      'docker-compose.yml', 'migrations/source/mysql/0001_create_outbox.sql', 'migrations/source/postgres/0001_create_outbox.sql',
    ];
    const cited = new Set(files.flatMap((f) => [...readFileSync(join(root, f), 'utf8').matchAll(/\[((?:CDC|SQL|SINK|READ|OPS)\d+)\]/g)].map((m) => m[1]!)));
    expect(cited.size).toBeGreaterThan(10);
    for (const id of cited) expect([id, rows.has(id)]).toEqual([id, true]);
  });
});
