/**
 * The RisingWave engine as `wavegate serve` runs it: reads over the pg wire (RisingWaveEngine) and
 * live changes from the views' Kafka upsert sinks (KafkaFeed). One place for that wiring, so the
 * CLI and the gateway-level tests start exactly the same thing.
 */
import type { Config } from '../../config/types';
import { errors } from '../../errors';
import type { Logger } from '../../log';
import { KafkaFeed, type KafkaFeedOptions, type PoisonReport } from './feed/kafkaFeed';
import { RisingWaveEngine, type RisingWaveEngineOptions } from './engine';

/** What {@link openRisingWave} takes besides the configuration. */
export interface OpenRisingWaveOptions {
  /** Root logger, for the feed (`feed.kafka`) and the engine (`engine.risingwave`). */
  log: Logger;
  /** Called for each poison record the feed skips (e.g. a metrics counter). */
  onPoison?: (report: PoisonReport) => void;
  /** Feed tuning (timeouts, views, format); brokers and topic prefix come from `config.kafka`, the registry from `config.views`. @default KafkaFeedOptions defaults */
  feed?: Omit<KafkaFeedOptions, 'brokers' | 'topicPrefix' | 'log' | 'onPoison' | 'registry'>;
  /** Read-path tuning; the URL comes from `config.databaseUrl`, the views from `config.views`. @default RisingWaveEngineOptions defaults, checkCatalog on */
  engine?: Omit<RisingWaveEngineOptions, 'databaseUrl' | 'feed' | 'log' | 'views'>;
}

/** An open RisingWave engine with its running Kafka feed. */
export interface OpenedRisingWave {
  readonly engine: RisingWaveEngine;
  readonly feed: KafkaFeed;
  /** Stops the feed (leaves and deletes its consumer group), then closes the engine's pool. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the Kafka feed (connects, checks the view topics, joins its group: ENGINE_UNAVAILABLE,
 * retriable, when Kafka or a topic is missing), then creates the engine on that feed. An unreachable
 * database is not an error here: the engine reports not ready until it answers. Serve it with
 * `startGateway(config, { engine })` and call close() after the gateway stopped.
 */
export async function openRisingWave(config: Pick<Config, 'databaseUrl' | 'kafka' | 'views'>, o: OpenRisingWaveOptions): Promise<OpenedRisingWave> {
  const { databaseUrl, kafka } = config;
  if (databaseUrl === undefined) throw errors.badConfig('WAVEGATE_ENGINE=risingwave needs WAVEGATE_DATABASE_URL');
  if (kafka === undefined || kafka.brokers.length === 0) throw errors.badConfig('WAVEGATE_ENGINE=risingwave needs WAVEGATE_KAFKA_BROKERS');
  const feed = new KafkaFeed({
    registry: config.views,
    ...o.feed,
    brokers: kafka.brokers,
    topicPrefix: kafka.topicPrefix,
    log: o.log,
    ...(o.onPoison !== undefined ? { onPoison: o.onPoison } : {}),
  });
  await feed.start(); // on failure the feed has stopped itself
  let engine: RisingWaveEngine;
  try {
    engine = await RisingWaveEngine.create({ checkCatalog: true, ...o.engine, databaseUrl, feed, log: o.log, views: config.views });
  } catch (err) {
    await feed.stop();
    throw err;
  }
  return {
    engine,
    feed,
    async close() {
      await feed.stop();
      await engine.close();
    },
  };
}
