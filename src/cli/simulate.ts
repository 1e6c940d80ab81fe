import { envString } from '../config/env';
import { loadConfig } from '../config/load';
import { openEmbedded } from '../engine/open';
import type { OutboxEvent } from '../outbox/events';
import { createMysqlPool, inTransaction, writeEvents as writeMysqlEvents } from '../outbox/mysql';
import { createSimulator, outboxWriter, type SimulatorCounters } from '../simulator/simulator';
import { parseOptions, UsageError, wholeNumber } from './args';
import type { CliIo } from './io';

const DEFAULT_RIDES = 100;

export const SIMULATE_USAGE = `wavegate simulate [--rides N] [--seed S] [--to mysql://user:pass@host:port/db [--live]]
  Writes N simulated rides (default ${DEFAULT_RIDES}) into the embedded engine as fast as it takes
  them, then prints a summary. With --to (or WAVEGATE_SIM_OUTBOX_URL), writes them into that MySQL
  database's outbox instead, as the services would on the RisingWave path; with --live it keeps
  writing at WAVEGATE_SIM_RATE rides per second, at a human pace, until SIGINT/SIGTERM. Uses WAVEGATE_DATA_DIR (keep the rides for a later \`serve\`; never
  while a \`serve\` uses the same directory) and the WAVEGATE_SIM_* variables. \`serve\` already runs
  the simulator live on the embedded engine; this command is for seeding data and quick benchmarks.
`;

/** `wavegate simulate`: a batch of rides into the embedded engine. */
export async function runSimulate(args: readonly string[], io: CliIo): Promise<number> {
  const live = args.includes('--live');
  const { help, values } = parseOptions('simulate', args.filter((a) => a !== '--live'), ['rides', 'seed', 'to']);
  if (help) {
    io.stdout(SIMULATE_USAGE);
    return 0;
  }
  const rides = values.rides === undefined ? DEFAULT_RIDES : wholeNumber('simulate', 'rides', values.rides, 1, 10_000_000);
  const config = loadConfig(io.env);
  const target = values.to ?? envString(io.env, 'WAVEGATE_SIM_OUTBOX_URL');
  if (target !== undefined && target !== '') {
    if (!/^mysql:\/\//.test(target)) throw new UsageError('wavegate simulate: --to takes a mysql:// URL');
    const seed = values.seed === undefined ? config.simulator.seed : wholeNumber('simulate', 'seed', values.seed, 0, 2 ** 31 - 1);
    return simulateIntoMysql(target, { rides, live, seed }, config.simulator, io, config.logLevel);
  }
  if (live) throw new UsageError('wavegate simulate: --live needs --to (serve already runs the simulator live on the embedded engine)');
  if (config.engine !== 'embedded') {
    throw new UsageError('wavegate simulate: writes into the embedded engine only; with RisingWave, the services write the outbox of the source database');
  }
  const seed = values.seed === undefined ? config.simulator.seed : wholeNumber('simulate', 'seed', values.seed, 0, 2 ** 31 - 1);
  const log = io.logger(config.logLevel, 'stderr');
  const engine = await openEmbedded(config, log);
  try {
    // The batch runs on a virtual clock from `now()`; start it in the past so the rides end about now.
    const start = new Date(Date.now() - (rides / config.simulator.ridesPerSecond + 60) * 1000);
    const sim = createSimulator({ ...config.simulator, seed, write: outboxWriter(engine), log, now: () => start });
    const began = performance.now();
    const counters = await sim.simulateRides(rides);
    const seconds = (performance.now() - began) / 1000;
    const statuses = await engine.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM trip_history GROUP BY status ORDER BY status');
    io.stdout(summary(counters, sim.seed, seconds, statuses, config.dataDir));
    return 0;
  } finally {
    await engine.close();
  }
}

/** Writes rides into a MySQL outbox: each step is one transaction, as a service writes it. */
async function simulateIntoMysql(
  url: string,
  run: { rides: number; live: boolean; seed: number | undefined },
  sim: ReturnType<typeof loadConfig>['simulator'],
  io: CliIo,
  level: ReturnType<typeof loadConfig>['logLevel'],
): Promise<number> {
  const log = io.logger(level, 'stderr');
  const pool = createMysqlPool({ url, connectionLimit: 2 });
  const write = async (events: OutboxEvent[]): Promise<void> => {
    await inTransaction(pool, (conn) => writeMysqlEvents(conn, events));
  };
  try {
    if (run.live) {
      const simulator = createSimulator({ ...sim, seed: run.seed, write, log, pace: 1 });
      let removeHandler: (() => void) | undefined;
      await new Promise<void>((resolve) => {
        removeHandler = io.onShutdownSignal(() => resolve());
        simulator.start();
        log.info({ seed: simulator.seed, ridesPerSecond: sim.ridesPerSecond }, 'simulating rides into MySQL until SIGINT/SIGTERM');
      });
      removeHandler?.();
      await simulator.stop();
      const c = simulator.counters();
      io.stdout(`Stopped: ${c.ridesRequested} rides, ${c.eventsWritten} events written to the MySQL outbox\n`);
      return 0;
    }
    const start = new Date(Date.now() - (run.rides / sim.ridesPerSecond + 60) * 1000);
    const simulator = createSimulator({ ...sim, seed: run.seed, write, log, now: () => start });
    const began = performance.now();
    const c = await simulator.simulateRides(run.rides);
    const seconds = (performance.now() - began) / 1000;
    io.stdout(`Simulated ${c.ridesRequested} rides (seed ${simulator.seed}) in ${seconds.toFixed(1)} s: ${c.eventsWritten} events in ${c.transactions} transactions into the MySQL outbox (${c.writeFailures} failed writes)\n`);
    return c.writeFailures === 0 ? 0 : 1;
  } finally {
    await pool.end();
  }
}

function summary(c: SimulatorCounters, seed: number, seconds: number, statuses: ReadonlyArray<{ status: string; n: number }>, dataDir: string | undefined): string {
  const rate = seconds > 0 ? Math.round(c.eventsWritten / seconds) : c.eventsWritten;
  const { rider, driver, system } = c.cancelledBy;
  return [
    `Simulated ${c.ridesRequested} rides (seed ${seed}) in ${seconds.toFixed(1)} s: ${c.eventsWritten} events in ${c.transactions} transactions (${rate} events/s)`,
    `  completed  ${c.ridesCompleted}`,
    `  cancelled  ${c.ridesCancelled} (rider ${rider}, driver ${driver}, system ${system})`,
    `  captured   EUR ${c.capturedAmount} in ${c.paymentsCaptured} payments`,
    `  ratings    ${c.ratings}`,
    `trip_history now: ${statuses.map((s) => `${s.n} ${s.status}`).join(', ')}`,
    dataDir === undefined
      ? 'The engine was in memory, so these rides are gone; set WAVEGATE_DATA_DIR to keep them for `wavegate serve`.'
      : `Kept in ${dataDir}; \`wavegate serve\` with the same WAVEGATE_DATA_DIR serves them.`,
    '',
  ].join('\n');
}
