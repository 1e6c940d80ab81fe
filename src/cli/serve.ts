import { loadConfig } from '../config/load';
import type { Config } from '../config/types';
import { EmbeddedEngine } from '../engine/embedded/engine';
import { RisingWaveEngine } from '../engine/risingwave/engine';
import { IdleFeed } from '../engine/risingwave/idleFeed';
import { openRisingWave } from '../engine/risingwave/open';
import { startSqlPassthrough, sqlPassthroughOptions, type SqlPassthrough } from '../passthrough';
import { startGateway } from '../gateway';
import type { Logger } from '../log';
import { createMetrics } from '../metrics';
import { createSimulator, outboxWriter, type Simulator } from '../simulator/simulator';
import { parseOptions } from './args';
import { banner, wantsBanner } from './banner';
import type { CliIo } from './io';

export const SERVE_USAGE = `wavegate serve
  Starts the gateway: GraphQL queries and GraphiQL on /graphql, subscriptions over websockets on the
  same path, /healthz, /readyz, /metrics. Configured by WAVEGATE_* variables (see README). On the
  embedded engine it also runs the ride simulator, and without WAVEGATE_JWT_SECRET it prints sample
  tokens to stderr. With WAVEGATE_ENGINE=risingwave it reads the views from WAVEGATE_DATABASE_URL
  and live changes from their Kafka topics (WAVEGATE_KAFKA_BROKERS). Stops cleanly on SIGINT /
  SIGTERM (simulator first, then the server, then the change feed and the engine).
`;

/** A running `serve`: what tests and the signal handler need. */
export interface RunningServe {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4000/graphql`. */
  readonly url: string;
  /** The SQL passthrough's port, when it runs (WAVEGATE_SQL_USERS set). */
  readonly sqlPort: number | undefined;
  /** The live simulator, when it runs. */
  readonly simulator: Simulator | undefined;
  /** Stops the simulator (after its write in progress), then the gateway, then the feed and the engine. */
  stop(): Promise<void>;
}

/**
 * Opens the engine here, so the simulator can write into it (embedded) or its Kafka feed runs
 * before and after the gateway (risingwave: feed started, engine on it, see openRisingWave); then
 * starts the gateway, on the embedded engine the simulator, and prints the banner in demo set-ups.
 */
export async function startServe(config: Config, io: CliIo, log: Logger): Promise<RunningServe> {
  const metrics = createMetrics();
  const embedded = config.engine === 'embedded'
    ? await EmbeddedEngine.create({ dataDir: config.dataDir, changeRetention: config.changeRetention, log })
    : undefined;
  const risingwave = config.engine === 'risingwave'
    ? await openRisingWave(config, { log, onPoison: (r) => metrics.feedPoison(r.reason) })
    : undefined;
  const engine = embedded ?? risingwave?.engine;
  // The gateway leaves an engine it was handed open: close it (for risingwave: feed.stop(), then engine.close()).
  const closeEngine = async () => {
    await embedded?.close();
    await risingwave?.close();
  };
  let gateway;
  try {
    gateway = await startGateway(config, { log, metrics, ...(engine !== undefined ? { engine } : {}) });
  } catch (err) {
    await closeEngine();
    throw err;
  }
  let simulator: Simulator | undefined;
  let sql: SqlPassthrough | undefined;
  let sqlEngine: RisingWaveEngine | undefined;
  const running = gateway;
  const stop = async () => {
    await simulator?.stop();
    await sql?.close();
    await sqlEngine?.close();
    await running.stop();
    await closeEngine();
  };
  try {
    if (config.sql?.enabled === true) {
      // On RisingWave the passthrough gets its own pool, whose server-side statement timeout is the
      // passthrough's: slow BI queries are cancelled by RisingWave and never starve GraphQL's pool.
      sqlEngine = config.engine === 'risingwave' && config.databaseUrl !== undefined
        ? await RisingWaveEngine.create({ databaseUrl: config.databaseUrl, feed: new IdleFeed(), log, statementTimeoutMs: config.sql.statementTimeoutMs, maxConnections: 5 })
        : undefined;
      const sqlTarget = sqlEngine ?? engine ?? running.engine;
      sql = await startSqlPassthrough(sqlPassthroughOptions(config.sql, { engine: sqlTarget, log }));
      log.info({ host: config.sql.host, port: sql.port, users: config.sql.users.length }, 'SQL passthrough listening');
    }
    if (config.simulator.enabled && embedded === undefined) {
      log.warn({}, 'WAVEGATE_SIMULATE is on, but the simulator writes only into the embedded engine: not started');
    } else if (config.simulator.enabled && embedded !== undefined) {
      simulator = createSimulator({ ...config.simulator, write: outboxWriter(embedded), log });
      simulator.start();
    }
    if (wantsBanner(config)) io.stderr(await banner(config, gateway.url, simulator !== undefined));
    log.info({ url: gateway.url, engine: config.engine, simulator: simulator !== undefined }, 'wavegate is serving');
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: gateway.url, sqlPort: sql?.port, simulator, stop };
}

/**
 * `serve` until `signal` aborts, then shut down in order. Resolves to the exit code: 0 after a clean
 * stop, 1 when stopping failed. Start-up failures reject (main maps them to exit codes).
 */
export async function runServe(config: Config, io: CliIo, signal: AbortSignal, log: Logger): Promise<number> {
  const running = await startServe(config, io, log);
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  try {
    await running.stop();
    log.info({}, 'wavegate stopped');
    return 0;
  } catch (err) {
    log.error({ err }, 'shutdown failed');
    return 1;
  }
}

/** `wavegate serve` from the command line: wires SIGINT / SIGTERM to {@link runServe}. */
export async function serveCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { help } = parseOptions('serve', args, []);
  if (help) {
    io.stdout(SERVE_USAGE);
    return 0;
  }
  const config = loadConfig(io.env);
  const log = io.logger(config.logLevel, 'stdout');
  const abort = new AbortController();
  const off = io.onShutdownSignal((sig) => {
    log.info({ signal: sig }, 'shutting down');
    abort.abort();
  });
  try {
    return await runServe(config, io, abort.signal, log);
  } finally {
    off();
  }
}
