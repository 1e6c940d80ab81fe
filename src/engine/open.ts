/**
 * Opening an engine from the configuration: the one place that does it, for `wavegate serve`, the
 * gateway (when it is given no engine), `wavegate simulate` and the gateway-level tests.
 *
 * - embedded: PGlite with the views and its change log (EmbeddedEngine).
 * - risingwave: the Kafka change feed is started first (a missing broker or view topic fails here,
 *   before anything serves), then the read pool on it (openRisingWave); close() stops the feed,
 *   then the pool, so the feed outlives every subscriber the gateway drained.
 */
import type { Config } from '../config/types';
import type { Logger } from '../log';
import { EmbeddedEngine } from './embedded/engine';
import { RisingWaveEngine } from './risingwave/engine';
import { IdleFeed } from './risingwave/idleFeed';
import { openRisingWave, type OpenedRisingWave, type OpenRisingWaveOptions } from './risingwave/open';
import type { Engine } from './types';

/** The part of the configuration that says which engine to open and where. */
export type EngineConfig = Pick<Config, 'engine' | 'dataDir' | 'changeRetention' | 'databaseUrl' | 'kafka' | 'views'>;

/** What {@link openEngine} takes besides the configuration. */
export interface OpenEngineDeps {
  /** Root logger; the engine and feed log under their own names. */
  readonly log: Logger;
  /** risingwave: called for each poison record the feed skips (the gateway's metrics counter). */
  readonly onPoison?: OpenRisingWaveOptions['onPoison'];
  /** risingwave: feed and read-pool tuning. @default their defaults */
  readonly risingwave?: Pick<OpenRisingWaveOptions, 'feed' | 'engine'>;
}

/** An open engine and how to close it; `kind` says which, with what only that kind has. */
export type OpenedEngine =
  | { readonly kind: 'embedded'; readonly engine: EmbeddedEngine; close(): Promise<void> }
  | ({ readonly kind: 'risingwave' } & OpenedRisingWave);

/** Opens the embedded engine `config` describes (in memory unless `dataDir` is set). */
export function openEmbedded(config: Pick<Config, 'dataDir' | 'changeRetention' | 'views'>, log: Logger): Promise<EmbeddedEngine> {
  return EmbeddedEngine.create({
    ...(config.dataDir !== undefined ? { dataDir: config.dataDir } : {}),
    changeRetention: config.changeRetention,
    views: config.views,
    log,
  });
}

/**
 * Opens the engine `config.engine` names. Throws BAD_CONFIG for a risingwave configuration without
 * a database URL or brokers, ENGINE_UNAVAILABLE (retriable) when Kafka or a view topic is missing.
 * The caller closes it after everything using it stopped.
 */
export async function openEngine(config: EngineConfig, deps: OpenEngineDeps): Promise<OpenedEngine> {
  switch (config.engine) {
    case 'embedded': {
      const engine = await openEmbedded(config, deps.log);
      return { kind: 'embedded', engine, close: () => engine.close() };
    }
    case 'risingwave': {
      const opened = await openRisingWave(config, {
        log: deps.log,
        ...(deps.onPoison !== undefined ? { onPoison: deps.onPoison } : {}),
        ...deps.risingwave,
      });
      return { kind: 'risingwave', engine: opened.engine, feed: opened.feed, close: () => opened.close() };
    }
    default: {
      const unknown: never = config.engine;
      throw new Error(`unknown engine kind: ${String(unknown)}`);
    }
  }
}

/** The engine the SQL passthrough reads through, and how to close it. */
export interface PassthroughEngine {
  readonly engine: Engine;
  /** Closes what {@link openPassthroughEngine} opened; nothing when it shares the gateway's engine. */
  close(): Promise<void>;
}

/**
 * The engine for the SQL passthrough next to `opened`. On RisingWave it is a pool of its own whose
 * server-side statement timeout is the passthrough's, so slow BI queries are cancelled by RisingWave
 * and never starve the GraphQL pool; it reads only (no change feed). The embedded engine is shared.
 */
export async function openPassthroughEngine(
  config: Pick<Config, 'databaseUrl'>, opened: OpenedEngine, o: { readonly log: Logger; readonly statementTimeoutMs: number },
): Promise<PassthroughEngine> {
  if (opened.kind === 'embedded' || config.databaseUrl === undefined) return { engine: opened.engine, close: async () => undefined };
  const engine = await RisingWaveEngine.create({
    databaseUrl: config.databaseUrl, feed: new IdleFeed(), log: o.log, statementTimeoutMs: o.statementTimeoutMs, maxConnections: 5,
    views: opened.engine.views,
  });
  return { engine, close: () => engine.close() };
}
