/**
 * Sustained outbox events per second on the embedded engine with all four views maintained
 * (pg_ivm in the writing transaction + the change log), one event per transaction as services
 * write them. Run: `npm run build && node dist/bench/events.js [rides]`.
 */
import { EmbeddedEngine } from '../src/engine/embedded/engine';
import { silentLogger } from '../src/log';
import { writeEvent } from '../src/outbox/writer';
import { completedRide, environment, percentile, runMain } from './util';

async function main(): Promise<void> {
  const rides = Number(process.argv[2] ?? 2_000);
  const engine = await EmbeddedEngine.create({ log: silentLogger });
  let delivered = 0;
  engine.feed.subscribe((batch) => void (delivered += batch.length));
  const base = new Date('2026-10-05T08:00:00Z');
  // Warm up, then measure: rides interleave over 50 riders and 20 drivers, one event per transaction.
  const perTx: number[] = [];
  let events = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < rides; i++) {
    for (const e of completedRide(`r${i}`, `rider-${i % 50}`, `driver-${i % 20}`, new Date(base.getTime() + i * 60_000))) {
      const t0 = process.hrtime.bigint();
      await engine.transaction((tx) => writeEvent(tx, e));
      perTx.push(Number(process.hrtime.bigint() - t0) / 1e6);
      events++;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await engine.feed.poke();
  const outboxRows = (await engine.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox'))[0]!.n;
  const result = {
    bench: 'events',
    ...environment(),
    rides,
    events,
    outboxRows,
    changesDelivered: delivered,
    eventsPerSecond: Math.round(events / seconds),
    txMsP50: +percentile(perTx, 50).toFixed(2),
    txMsP99: +percentile(perTx, 99).toFixed(2),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await engine.close();
}

runMain(main);
