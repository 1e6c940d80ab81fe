import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { checkMysqlSource, runDoctor, type Finding } from '../../src/doctor';
import { globalPrivileges, grantFindings } from '../../src/doctor/mysql';
import { createMysqlDatabase, MYSQL_ADMIN_URL, uniqueName, type MysqlTestDatabase } from '../conformance/databases';

// The preflight against the machine's real MariaDB 10.11, whose binlog is probably off: the
// findings must say what the server really has, and say how to fix it.

let db: MysqlTestDatabase;
let bare: MysqlTestDatabase;
const password = randomBytes(12).toString('hex');
const good = uniqueName('wg_cdc');
const weak = uniqueName('wg_cdc');

beforeAll(async () => {
  db = await createMysqlDatabase();
  bare = await createMysqlDatabase(false);
  await db.conn.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [good, password]);
  await db.conn.query(`GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO ?@'%'`, [good]);
  await db.conn.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [weak, password]);
  await db.conn.query(`GRANT SELECT ON *.* TO ?@'%'`, [weak]);
}, 30_000);
afterAll(async () => {
  for (const u of [good, weak]) await db?.conn.query(`DROP USER IF EXISTS ?@'%'`, [u]).catch(() => undefined);
  await bare?.drop();
  await db?.drop();
}, 30_000);

async function serverVariable(name: string): Promise<string> {
  const [rows] = await db.conn.query<mysql.RowDataPacket[]>('SHOW GLOBAL VARIABLES LIKE ?', [name]);
  return String(rows[0]!['Value']).toUpperCase();
}
const byCheck = (findings: readonly Finding[], check: string) => {
  const f = findings.find((x) => x.check === check);
  if (f === undefined) throw new Error(`no finding ${check}`);
  return f;
};
function userUrl(user: string, database: string): string {
  const u = new URL(MYSQL_ADMIN_URL);
  u.username = user;
  u.password = password;
  u.pathname = `/${database}`;
  return u.toString();
}

describe('MySQL CDC preflight (real MariaDB 10.11)', () => {
  it('reports the binlog settings the server really has, with the fix for each failed one', async () => {
    const conn = await mysql.createConnection({ uri: userUrl(good, db.name) });
    let findings: Finding[];
    try {
      findings = await checkMysqlSource(conn, { databases: [db.name] });
    } finally {
      await conn.end();
    }
    for (const [check, variable, wanted, fixWord] of [
      ['mysql.log_bin', 'log_bin', 'ON', 'log_bin'],
      ['mysql.binlog_format', 'binlog_format', 'ROW', 'binlog_format = ROW'],
      ['mysql.binlog_row_image', 'binlog_row_image', 'FULL', 'binlog_row_image = FULL'],
    ] as const) {
      const f = byCheck(findings, check);
      const actual = await serverVariable(variable);
      expect(f).toMatchObject({ ok: actual === wanted, severity: 'error' });
      expect(f.detail).toContain(actual);
      if (f.ok) expect(f.fix).toBeUndefined();
      else expect(f.fix).toContain(fixWord);
    }
    expect(byCheck(findings, 'mysql.version')).toMatchObject({ ok: true, detail: expect.stringContaining('MariaDB') });
    expect(byCheck(findings, 'mysql.cdc_user_grants')).toMatchObject({ ok: true, fix: undefined });
    expect(byCheck(findings, 'mysql.cdc_user_least_privilege')).toMatchObject({ ok: true });
    expect(byCheck(findings, 'mysql.outbox_table')).toMatchObject({ ok: true, detail: expect.stringContaining('primary key (id)') });
  });

  it('names the missing replication privileges of an under-privileged CDC user, with the GRANT to run', async () => {
    const findings = await checkMysqlSource(db.conn, { databases: [db.name], cdcUser: { user: weak, host: '%' } });
    const f = byCheck(findings, 'mysql.cdc_user_grants');
    expect(f.ok).toBe(false);
    expect(f.detail).toBe(`'${weak}'@'%' lacks REPLICATION SLAVE, REPLICATION CLIENT on *.*`);
    expect(f.fix).toContain(`GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '${weak}'@'%'`);
  });

  it('warns (but does not fail) when the CDC user has more than it needs, e.g. an admin', async () => {
    const findings = await checkMysqlSource(db.conn, { databases: [db.name] });
    expect(byCheck(findings, 'mysql.cdc_user_grants').ok).toBe(true);
    expect(byCheck(findings, 'mysql.cdc_user_least_privilege')).toMatchObject({ ok: false, severity: 'warning', detail: expect.stringContaining('ALL PRIVILEGES') });
  });

  it('reports a missing outbox table with the migration to apply', async () => {
    const findings = await checkMysqlSource(db.conn, { databases: [bare.name] });
    expect(byCheck(findings, 'mysql.outbox_table')).toMatchObject({ ok: false, fix: expect.stringContaining('migrations/source/mysql/') });
  });

  it('checks the outbox of every database when there is one per service, naming the one that lacks it', async () => {
    const findings = await checkMysqlSource(db.conn, { databases: [db.name, bare.name] });
    expect(findings.filter((f) => f.check.startsWith('mysql.outbox_table')).map((f) => [f.check, f.ok])).toEqual([
      [`mysql.outbox_table[${db.name}]`, true],
      [`mysql.outbox_table[${bare.name}]`, false],
    ]);
    expect(byCheck(findings, `mysql.outbox_table[${bare.name}]`).fix).toContain(`to database ${bare.name}`);
  });

  it('checks the column types RisingWave\'s validator will see: MariaDB\'s JSON is longtext, refused under JSONB, so it says to use the mariadb dialect', async () => {
    const asMysql = await checkMysqlSource(db.conn, { databases: [db.name], dialect: 'mysql' });
    expect(byCheck(asMysql, 'mysql.outbox_columns')).toMatchObject({
      ok: false, severity: 'error', detail: 'payload: server type longtext, RisingWave type JSONB',
      fix: expect.stringMatching(/^set WAVEGATE_CDC_DIALECT=mariadb: MariaDB reports JSON columns as longtext/),
    });
    const asMariadb = await checkMysqlSource(db.conn, { databases: [db.name], dialect: 'mariadb' });
    expect(byCheck(asMariadb, 'mysql.outbox_columns')).toMatchObject({ ok: true, fix: undefined });
    // The validator's own query, on this server: what RisingWave v3.0.3 would compare against.
    const [cols] = await db.conn.query<mysql.RowDataPacket[]>(
      'SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION', [db.name, 'outbox']);
    expect(cols.map((c) => `${String(c['COLUMN_NAME'])} ${String(c['DATA_TYPE'])}`)).toEqual([
      'id varchar', 'aggregate_type varchar', 'aggregate_id varchar', 'event_type varchar', 'payload longtext', 'occurred_at timestamp', 'trace_context varchar']);
  });

  it('accepts MySQL 8 and MariaDB spellings of the grants', () => {
    expect([...globalPrivileges(['GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `rw_cdc`@`%`'])])
      .toEqual(['SELECT', 'REPLICATION SLAVE', 'REPLICATION CLIENT']);
    expect(grantFindings(['GRANT SELECT, REPLICATION REPLICA, BINLOG MONITOR ON *.* TO `rw_cdc`@`%`'], 'x').every((f) => f.ok)).toBe(true);
    expect(grantFindings(['GRANT USAGE ON *.* TO `rw_cdc`@`%`', 'GRANT SELECT ON `rides`.* TO `rw_cdc`@`%`'], 'x')[0]!.ok).toBe(false);
  });

  it.each(['mysql', 'mariadb'] as const)('`wavegate doctor` (WAVEGATE_CDC_DIALECT=%s) connects as the CDC user and exits 1 when a required check fails', async (dialect) => {
    let out = '';
    let err = '';
    const host = new URL(MYSQL_ADMIN_URL);
    const code = await runDoctor(['--json'], { stdout: (s) => void (out += s), stderr: (s) => void (err += s), env: {
      WAVEGATE_CDC_DIALECT: dialect, WAVEGATE_CDC_HOST: host.hostname, WAVEGATE_CDC_PORT: host.port || '3306',
      WAVEGATE_CDC_USER: good, WAVEGATE_CDC_PASSWORD: password, WAVEGATE_CDC_DATABASE: db.name } });
    expect(err).toBe('');
    const findings = JSON.parse(out) as Finding[];
    const binlogReady = (await serverVariable('log_bin')) === 'ON' && (await serverVariable('binlog_format')) === 'ROW';
    // This server is MariaDB: its outbox fits the mariadb dialect only.
    expect(findings.find((f) => f.check === 'mysql.outbox_columns')?.ok).toBe(dialect === 'mariadb');
    expect(code).toBe(binlogReady && dialect === 'mariadb' ? 0 : 1);
    expect(findings.find((f) => f.check === 'mysql.cdc_user_grants')?.ok).toBe(true);
  });
});
