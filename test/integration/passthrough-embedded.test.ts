import { EmbeddedEngine } from '../../src/engine/embedded/engine';
import type { IsolatedEngine } from '../../src/engine/embedded/isolated/engine';
import { openPassthroughEngine } from '../../src/engine/open';
import { silentLogger } from '../../src/log';
import { writeEvents } from '../../src/outbox/writer';
import { startSqlPassthrough, type SqlPassthrough } from '../../src/passthrough';
import { FIXTURE_RIDES } from '../conformance/fixture';
import { client, definePassthroughSuite, sqlState, USERS } from '../fixtures/pgwire/harness';

// The SQL passthrough over the embedded engine, opened as `wavegate serve` opens it: statements run in
// a worker thread on its own PGlite read copy of the views (src/engine/embedded/isolated/).

/** Never finishes, and fools the plan-cost gate (see passthrough-isolation.test.ts). */
const RUNAWAY = `WITH s AS (SELECT string_to_array(string_agg(lpad(t.trip_id, 100), ''), NULL) AS a
    FROM trip_history t, generate_series(1, 1000) g)
  SELECT count(*) FROM s, generate_subscripts(s.a, 1) x, generate_subscripts(s.a, 1) y`;

/** An embedded engine and the passthrough's worker engine over it. */
async function openIsolated(): Promise<{ engine: EmbeddedEngine; iso: IsolatedEngine; close(): Promise<void> }> {
  const engine = await EmbeddedEngine.create({ log: silentLogger });
  const opened = await openPassthroughEngine({ databaseUrl: undefined }, { kind: 'embedded', engine, close: () => engine.close() },
    { log: silentLogger, statementTimeoutMs: 120_000 });
  return { engine, iso: opened.engine as IsolatedEngine, close: async () => { await opened.close(); await engine.close(); } };
}

definePassthroughSuite('SQL passthrough on the embedded engine', async () => {
  const { engine, iso, close } = await openIsolated();
  return {
    engine: iso,
    seed: async (events) => {
      await engine.transaction((tx) => writeEvents(tx, events));
      await iso.caughtUp();
    },
    // Runs until stopped; stopping it terminates the worker, and the next statements wait for a fresh copy.
    slow: async () => ({ sql: RUNAWAY, release: () => iso.whenServing() }),
    concurrentEngine: false,
    close,
  };
});

describe('SQL passthrough: embedded engine limits', () => {
  let target: Awaited<ReturnType<typeof openIsolated>>;
  let server: SqlPassthrough;

  beforeAll(async () => {
    target = await openIsolated();
    for (const ride of FIXTURE_RIDES) await target.engine.transaction((tx) => writeEvents(tx, ride));
    await target.iso.caughtUp();
    server = await startSqlPassthrough({ port: 0, engine: target.iso, users: USERS, log: silentLogger, embeddedMaxPlanCost: 5_000 });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await target?.close();
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
