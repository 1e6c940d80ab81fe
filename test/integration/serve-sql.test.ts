import pg from 'pg';
import { loadConfig } from '../../src/config/load';
import { startServe, type RunningServe } from '../../src/cli/serve';
import { silentLogger } from '../../src/log';
import { captureIo } from '../helpers/cliIo';

// `wavegate serve` with WAVEGATE_SQL_USERS also runs the SQL passthrough, next to GraphQL, on the
// same embedded engine (the passthrough itself is tested in passthrough-*.test.ts).

const env = {
  WAVEGATE_PORT: '0',
  WAVEGATE_SQL_PORT: '0',
  WAVEGATE_SQL_USERS: 'ana:analyst-password-1',
  WAVEGATE_JWT_SECRET: 'serve-sql-test-secret-0123456789abcdef',
  WAVEGATE_SIMULATE: 'off',
  WAVEGATE_LOG_LEVEL: 'silent',
};
const { io } = captureIo(env);

let serve: RunningServe;
beforeAll(async () => { serve = await startServe(loadConfig(env), io, silentLogger); }, 60_000);
afterAll(async () => serve?.stop());

describe('wavegate serve with the SQL passthrough on', () => {
  it('answers SQL on its own port while GraphQL keeps serving, and hides the engine internals', async () => {
    expect(serve.sqlPort).toBeGreaterThan(0);
    const client = new pg.Client({ host: '127.0.0.1', port: serve.sqlPort, user: 'ana', password: 'analyst-password-1', database: 'wavegate' });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT count(*)::int AS n FROM trip_history WHERE status = $1', ['COMPLETED']);
      expect(rows).toEqual([{ n: 0 }]);
      await expect(client.query('SELECT * FROM outbox')).rejects.toMatchObject({ code: '42P01' });
      await expect(client.query('DELETE FROM trip_history')).rejects.toMatchObject({ code: '42501' });
      const health = await fetch(new URL('/healthz', serve.url));
      expect(health.status).toBe(200);
      const gql = await fetch(serve.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
      expect(gql.status).toBe(401); // auth stays on for GraphQL
    } finally {
      await client.end();
    }
  });
});
