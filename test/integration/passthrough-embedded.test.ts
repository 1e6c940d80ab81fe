import { EmbeddedEngine } from '../../src/engine/embedded/engine';
import { silentLogger } from '../../src/log';
import { writeEvents } from '../../src/outbox/writer';
import { startSqlPassthrough, type SqlPassthrough } from '../../src/passthrough';
import { FIXTURE_RIDES } from '../conformance/fixture';
import { client, definePassthroughSuite, sqlState, USERS } from '../fixtures/pgwire/harness';

// The SQL passthrough over the embedded engine (PGlite + pg_ivm in this process).

definePassthroughSuite('SQL passthrough on the embedded engine', async () => {
  const engine = await EmbeddedEngine.create({ log: silentLogger });
  return {
    engine,
    seed: (events) => engine.transaction((tx) => writeEvents(tx, events)).then(() => undefined),
    // PGlite has one connection: a transaction the test holds open makes every statement wait.
    slow: async () => {
      let release!: () => void;
      const held = engine.transaction(() => new Promise<void>((r) => (release = r)));
      await new Promise((r) => setTimeout(r, 50));
      return { sql: 'SELECT count(*) FROM trip_history', release: async () => { release(); await held; } };
    },
    concurrentEngine: false,
    close: () => engine.close(),
  };
});

describe('SQL passthrough: embedded engine limits (PGlite cannot interrupt a running statement)', () => {
  let engine: EmbeddedEngine;
  let server: SqlPassthrough;

  beforeAll(async () => {
    engine = await EmbeddedEngine.create({ log: silentLogger });
    for (const ride of FIXTURE_RIDES) await engine.transaction((tx) => writeEvents(tx, ride));
    server = await startSqlPassthrough({ port: 0, engine, users: USERS, log: silentLogger, embeddedMaxPlanCost: 5_000 });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await engine?.close();
  });

  it('refuses statements whose planned cost is over the cap (54000) and WITH RECURSIVE (0A000), before they run', async () => {
    const c = await client(server.port, 'olga');
    try {
      expect(await sqlState(c.query('SELECT count(*) FROM trip_history a, trip_history b, trip_history c, trip_history d'))).toBe('54000');
      expect(await sqlState(c.query('WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t'))).toBe('0A000');
      expect((await c.query('SELECT count(*)::int AS n FROM trip_history')).rows).toEqual([{ n: 4 }]);
    } finally {
      await c.end();
    }
  });
});
