/**
 * scripts/compose/mysql-init.sh, which the compose stack's MySQL runs on first start, run here
 * against the local MariaDB with the real `mysql` client: one database, outbox and user per service.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { checkMysqlSource } from '../../src/doctor';
import { writeEvent } from '../../src/outbox/mysql';
import { MYSQL_ADMIN_URL, uniqueName } from '../conformance/databases';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');
const SCRIPT = join(root, 'scripts', 'compose', 'mysql-init.sh');
const admin = new URL(MYSQL_ADMIN_URL);
const PASSWORD = 'svc-pw-1';

const prefix = uniqueName('wg_t_init');
const names = ['ride', 'driver'].map((s) => `${prefix}_${s}`);
let conn: mysql.Connection;

async function init(databases: string, extra: Record<string, string> = {}) {
  return run(SCRIPT, [], {
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin', SERVICE_DATABASES: databases, SERVICE_DB_PASSWORD: PASSWORD,
      OUTBOX_MIGRATION: join(root, 'migrations', 'source', 'mysql', '0001_create_outbox.sql'),
      MYSQL_ROOT_PASSWORD: decodeURIComponent(admin.password), MYSQL_HOST: admin.hostname, MYSQL_TCP_PORT: admin.port || '3306', ...extra,
    },
  });
}

beforeAll(async () => {
  conn = await mysql.createConnection({ uri: MYSQL_ADMIN_URL });
});
afterAll(async () => {
  for (const n of names) {
    await conn.query(`DROP DATABASE IF EXISTS \`${n}\``);
    await conn.query(`DROP USER IF EXISTS ?@'%'`, [n]);
  }
  await conn.end();
});

const userConnection = (user: string, database: string) => {
  const u = new URL(MYSQL_ADMIN_URL);
  u.username = user;
  u.password = PASSWORD;
  u.pathname = `/${database}`;
  return mysql.createConnection({ uri: u.toString() });
};

describe('scripts/compose/mysql-init.sh (real MariaDB, real mysql client)', () => {
  it('creates each service database with the outbox the doctor expects, twice without error', async () => {
    const first = await init(names.join(' '));
    expect(first.stdout.trim().split('\n')).toEqual(names.map((n) => `mysql-init: database ${n} with its outbox and user '${n}'`));
    await init(names.join(' ')); // idempotent: the image runs it once, but a rerun must not fail
    const findings = await checkMysqlSource(conn, { databases: names });
    expect(findings.filter((f) => f.check.startsWith('mysql.outbox_table')).map((f) => f.ok)).toEqual([true, true]);
  });

  it('gives each service a user that writes its own outbox and cannot reach another service\'s database', async () => {
    const [ride, driver] = names as [string, string];
    const c = await userConnection(ride, ride);
    try {
      await c.beginTransaction();
      const written = await writeEvent(c, { type: 'RideRequested', aggregateId: 'ride-init-1',
        payload: { rider_id: 'rider-0001', pickup: { lat: 52.52, lng: 13.405 }, dropoff: { lat: 52.5, lng: 13.3 } } });
      await c.commit();
      const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT event_type FROM \`${ride}\`.outbox WHERE id = ?`, [written.id]);
      expect(rows.map((r) => r['event_type'])).toEqual(['RideRequested']);
      await expect(c.query(`SELECT * FROM \`${driver}\`.outbox`)).rejects.toMatchObject({ code: expect.stringMatching(/^ER_(TABLEACCESS|DBACCESS)_DENIED_ERROR$/) });
    } finally {
      await c.end();
    }
  });

  it('refuses a database name RisingWave could not use as outbox_<db>, before creating anything', async () => {
    const bad = `${prefix}_Bad-Name`;
    await expect(init(`${bad}`)).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining(`database name '${bad}' must match`) });
    await expect(init(names[0]!, { SERVICE_DB_PASSWORD: "it's" })).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('must not contain') });
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [bad]);
    expect(rows).toEqual([]);
  });
});
