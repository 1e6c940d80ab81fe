import { EmbeddedEngine } from '../../src/engine/embedded/engine';
import { RisingWaveEngine } from '../../src/engine/risingwave/engine';
import { IdleFeed } from '../../src/engine/risingwave/idleFeed';
import { silentLogger } from '../../src/log';
import { writeEvents } from '../../src/outbox/writer';
import { defineEngineSuite } from '../conformance/engine';
import { createPgDatabase, createRisingWaveStandIn, writeUpstream } from '../conformance/databases';

// One suite, every engine, so the embedded engine cannot drift from RisingWave.

defineEngineSuite('embedded engine (PGlite + pg_ivm)', async () => {
  const engine = await EmbeddedEngine.create({ log: silentLogger });
  return {
    engine,
    seed: async (events) => void await engine.transaction((tx) => writeEvents(tx, events)),
    close: () => engine.close(),
  };
});

defineEngineSuite('risingwave engine (PostgreSQL 15 standing in for RisingWave: same view SQL as plain views)', async () => {
  const db = await createPgDatabase();
  try {
    await createRisingWaveStandIn(db);
    const engine = await RisingWaveEngine.create({ databaseUrl: db.url, feed: new IdleFeed(), log: silentLogger, healthIntervalMs: 60_000 });
    return {
      engine,
      // Services write the upstream outbox with the Postgres writer, in their own transaction.
      seed: (events) => writeUpstream(db, events),
      close: async () => {
        await engine.close();
        await db.drop();
      },
    };
  } catch (err) {
    await db.drop();
    throw err;
  }
});
