import { loadConfig } from '../config/load';
import type { Config } from '../config/types';
import { openEngine, openPassthroughEngine, type PassthroughEngine } from '../engine/open';
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
 * Opens the engine here (openEngine), so the simulator can write into it (embedded) and the Kafka
 * feed runs before and after the gateway (risingwave); then starts the gateway on it, the SQL
 * passthrough when configured, on the embedded engine the simulator, and prints the banner in demo
 * set-ups. The passthrough's user list is parsed first: a bad entry stops start-up before anything opens.
 */
export async function startServe(config: Config, io: CliIo, log: Logger): Promise<RunningServe> {
  const registry = config.views;
  const sqlSetup = config.sql?.enabled === true ? { settings: config.sql, options: sqlPassthroughOptions(config.sql, registry) } : undefined;
  const metrics = createMetrics();
  const opened = await openEngine(config, { log, onPoison: (r) => metrics.feedPoison(r.reason) });
  let gateway;
  try {
    // The gateway leaves an engine it is handed open: stop() below closes it after the gateway.
    gateway = await startGateway(config, { log, metrics, engine: opened.engine });
  } catch (err) {
    await opened.close();
    throw err;
  }
  let simulator: Simulator | undefined;
  let sql: SqlPassthrough | undefined;
  let sqlEngine: PassthroughEngine | undefined;
  const running = gateway;
  const stop = async () => {
    await simulator?.stop();
    await sql?.close();
    await sqlEngine?.close();
    await running.stop();
    await opened.close();
  };
  try {
    if (sqlSetup !== undefined) {
      const { settings, options } = sqlSetup;
      sqlEngine = await openPassthroughEngine(config, opened, {
        log,
        statementTimeoutMs: settings.statementTimeoutMs,
        workerHeapMb: settings.embeddedWorkerHeapMb,
        workerMemoryMb: settings.embeddedWorkerMemoryMb,
        maxResultMb: settings.embeddedMaxResultMb,
      });
      sql = await startSqlPassthrough({ ...options, engine: sqlEngine.engine, log });
      log.info({ host: settings.host, port: sql.port, users: options.users.length }, 'SQL passthrough listening');
    }
    if (config.simulator.enabled && opened.kind !== 'embedded') {
      log.warn({}, 'WAVEGATE_SIMULATE is on, but the simulator writes only into the embedded engine: not started');
    } else if (config.simulator.enabled && opened.kind === 'embedded') {
      simulator = createSimulator({ ...config.simulator, write: outboxWriter(opened.engine), log });
      simulator.start();
    }
    if (wantsBanner(config)) io.stderr(await banner(config, gateway.url, simulator !== undefined, registry));
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
