import pg from 'pg';
import { checkPostgresSource, runDoctor, type Finding } from '../../src/doctor';
import { createPgDatabase, pgAdmin, pgExecutor, uniqueName, withDatabase, type PgTestDatabase } from '../conformance/databases';
import { sourceMigrations } from '../../src/outbox/dialect';

// Preflight of a Postgres upstream for RisingWave's postgres-cdc source, against the machine's real
// PostgreSQL 15 (wal_level is probably `replica` here: the finding must say so, with the fix).
// Roles are cluster-wide: unique names, dropped in afterAll.

let db: PgTestDatabase;
const plain = uniqueName('wg_cdc');
const replicator = uniqueName('wg_cdc');
const publication = uniqueName('wg_pub');

beforeAll(async () => {
  db = await createPgDatabase();
  for (const m of sourceMigrations('postgres')) await db.client.query(m.sql);
  await pgAdmin(`CREATE ROLE ${plain} LOGIN`);
  await pgAdmin(`CREATE ROLE ${replicator} LOGIN REPLICATION`);
  await db.client.query(`GRANT SELECT ON public.outbox TO ${replicator}`);
}, 30_000);
afterAll(async () => {
  await db?.drop(); // drops the database's grants and publication with it
  for (const r of [plain, replicator]) await pgAdmin(`DROP ROLE IF EXISTS ${r}`).catch(() => undefined);
}, 30_000);

const byCheck = (findings: readonly Finding[], check: string): Finding => {
  const f = findings.find((x) => x.check === check);
  if (f === undefined) throw new Error(`no finding ${check}`);
  return f;
};

async function asRole(role: string, fn: (c: pg.Client) => Promise<Finding[]>): Promise<Finding[]> {
  const client = new pg.Client({ connectionString: withDatabase(db.url, db.name, role) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

describe('Postgres CDC preflight (real PostgreSQL 15)', () => {
  it('reports the wal_level the server really has, with the fix when it is not logical', async () => {
    const { rows: [{ wal_level: wal }] } = await db.client.query('SHOW wal_level');
    const findings = await asRole(replicator, (c) => checkPostgresSource(pgExecutor(c), { publication, publicationCreate: true }));
    const f = byCheck(findings, 'postgres.wal_level');
    expect(f.ok).toBe(wal === 'logical');
    expect(f.detail).toContain(`wal_level = ${wal}`);
    if (!f.ok) expect(f.fix).toContain('ALTER SYSTEM SET wal_level = logical');
    expect(byCheck(findings, 'postgres.version')).toMatchObject({ ok: true, detail: expect.stringContaining('15.') });
    expect(byCheck(findings, 'postgres.outbox_table')).toMatchObject({ ok: true, detail: 'public.outbox primary key (id)' });
  });

  it('passes a REPLICATION LOGIN role with SELECT on the outbox', async () => {
    const findings = await asRole(replicator, (c) => checkPostgresSource(pgExecutor(c), { publication, publicationCreate: true }));
    expect(byCheck(findings, 'postgres.cdc_role')).toMatchObject({ ok: true, detail: `role ${replicator}: REPLICATION, LOGIN` });
    expect(byCheck(findings, 'postgres.cdc_select')).toMatchObject({ ok: true });
  });

  it('fails a role without REPLICATION or SELECT, naming the statements that fix it', async () => {
    const findings = await asRole(plain, (c) => checkPostgresSource(pgExecutor(c), { publication, publicationCreate: true }));
    expect(byCheck(findings, 'postgres.cdc_role')).toMatchObject({ ok: false, fix: `ALTER ROLE "${plain}" WITH REPLICATION LOGIN; (on RDS: GRANT rds_replication TO "${plain}")` });
    expect(byCheck(findings, 'postgres.cdc_select')).toMatchObject({ ok: false, fix: `GRANT SELECT ON public.outbox TO "${plain}";` });
    // PG 15: PUBLIC has no CREATE on a database by default (only its owner), so RisingWave could not create the publication.
    expect(byCheck(findings, 'postgres.publication')).toMatchObject({ ok: false, fix: expect.stringContaining(`CREATE PUBLICATION "${publication}" FOR TABLE public.outbox;`) });
  });

  it('accepts a pre-created publication that covers the outbox, and rejects one that does not', async () => {
    await db.client.query(`CREATE PUBLICATION ${publication} FOR TABLE public.outbox`);
    const ok = await checkPostgresSource(pgExecutor(db.client), { publication, publicationCreate: false, cdcRole: replicator });
    expect(byCheck(ok, 'postgres.publication')).toMatchObject({ ok: true, detail: `publication ${publication} exists and covers public.outbox` });
    await db.client.query(`ALTER PUBLICATION ${publication} DROP TABLE public.outbox`);
    const bad = await checkPostgresSource(pgExecutor(db.client), { publication, publicationCreate: false, cdcRole: replicator });
    expect(byCheck(bad, 'postgres.publication')).toMatchObject({ ok: false, fix: `ALTER PUBLICATION "${publication}" ADD TABLE public.outbox;` });
  });

  it('`wavegate doctor` with WAVEGATE_CDC_DIALECT=postgres prints each finding and its fix', async () => {
    let out = '';
    let err = '';
    const u = new URL(db.url);
    const code = await runDoctor([], { stdout: (s) => void (out += s), stderr: (s) => void (err += s), env: {
      WAVEGATE_CDC_DIALECT: 'postgres', WAVEGATE_CDC_HOST: u.hostname, WAVEGATE_CDC_PORT: u.port, WAVEGATE_CDC_USER: replicator,
      WAVEGATE_CDC_DATABASE: db.name, WAVEGATE_CDC_PUBLICATION: publication } });
    expect(err).toBe('');
    expect(out).toMatch(/^(ok {2}|FAIL) postgres\.wal_level: wal_level = /m);
    expect(out).toContain(`ok   postgres.cdc_role: role ${replicator}: REPLICATION, LOGIN`);
    expect(code).toBe(out.includes('FAIL ') ? 1 : 0);
  });
});
