import { runMigrate } from '../../src/cli/migrate';
import { createPgDatabase, type PgTestDatabase } from '../conformance/databases';
import { closedPort } from '../conformance/proxy';

// `wavegate migrate` pointed at the machine's real PostgreSQL 15 (not RisingWave): it must refuse,
// with a message and an exit code, and change nothing.

let db: PgTestDatabase;
beforeAll(async () => { db = await createPgDatabase(); }, 30_000);
afterAll(async () => db?.drop(), 30_000);

async function migrate(args: string[], url: string) {
  let out = '';
  let err = '';
  const code = await runMigrate(args, { stdout: (s) => void (out += s), stderr: (s) => void (err += s),
    env: { WAVEGATE_DATABASE_URL: url, WAVEGATE_CDC_PASSWORD: 'pw' } });
  return { code, out, err };
}

describe('wavegate migrate against plain PostgreSQL 15 (not RisingWave)', () => {
  it.each(['apply', 'status', 'plan'])('%s refuses with exit 4, a clear message, no stack trace, and changes nothing', async (command) => {
    const r = await migrate([command], db.url.replace('postgres@', 'postgres:secret@'));
    expect(r.code).toBe(4);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/is not RisingWave \(version\(\) = "PostgreSQL 15\.\d+/);
    expect(r.err).toContain('Nothing was changed');
    expect(r.err).not.toContain('secret');
    expect(r.err).not.toMatch(/\n\s+at /);
    const { rows } = await db.client.query("SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'wavegate%'");
    expect(rows[0].n).toBe(0);
  });

  it('reports an unreachable server with exit 69', async () => {
    const r = await migrate(['status'], `postgres://root@127.0.0.1:${await closedPort()}/dev`);
    expect(r.code).toBe(69);
    expect(r.err).toContain('cannot reach RisingWave at postgres://root@127.0.0.1:');
    expect(r.err).toContain('ECONNREFUSED');
  });
});
