/**
 * Options of the Kafka change feed (kafkaFeed.ts): what they mean, their defaults, and the checks
 * that refuse a bad combination with BAD_CONFIG before anything connects.
 */
import { wholeOption } from '../../../config/env';
import { errors } from '../../../errors';
import { KAFKA_CLIENT_DEFAULTS } from '../../../kafka/client';
import { DEFAULT_VIEW_TOPIC_PREFIX, isTopicPrefix } from '../../../kafka/topics';
import { silentLogger, type Logger } from '../../../log';
import { bundledRegistry } from '../../../views/load';
import type { Registry } from '../../../views/model';
import type { PoisonReason, SinkFormat } from './decode';

/** One poison record, as logged and handed to `onPoison`. */
export interface PoisonReport {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly reason: PoisonReason;
  readonly detail: string;
}

/** Options of the KafkaFeed. Durations are milliseconds. */
export interface KafkaFeedOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: readonly string[];
  /** A view's topic is `topicPrefix + view name`. @default 'view.' */
  topicPrefix?: string;
  /** The declared views (`config.views`): how to decode each topic. @default bundledRegistry() */
  registry?: Registry;
  /** Names of the views to follow; their topics must exist. @default every view of `registry` that has a sink */
  views?: readonly string[];
  /** How the RisingWave sinks encode (FORMAT UPSERT|DEBEZIUM ENCODE JSON). @default 'upsert' */
  format?: SinkFormat;
  /** Consumer group ids are `<groupPrefix>-<hostname>-<random>`. @default 'wavegate' */
  groupPrefix?: string;
  /** Kafka client id. @default 'wavegate' */
  clientId?: string;
  /** Root logger; the feed logs under `feed.kafka`, kafkajs under `feed.kafka.kafkajs.<namespace>`. @default silentLogger */
  log?: Logger;
  /** Called for each poison record (after it is counted and logged). */
  onPoison?: (report: PoisonReport) => void;
  /** Delivered changes kept in memory for replay; 0 = every replay reads Kafka. @default 10_000 */
  recentLimit?: number;
  /** Bound on start(): connect, check topics, first group join. @default 30_000 */
  startTimeoutMs?: number;
  /** Bound on stop(): leave the group, delete it, disconnect. @default 10_000 */
  stopTimeoutMs?: number;
  /** Bound on one replay, including waiting for this instance to catch up with the cursor. @default 30_000 */
  replayTimeoutMs?: number;
  /** status().ready turns false when the group coordinator has not answered a heartbeat (and no batch arrived) for this long. @default 30_000 */
  staleAfterMs?: number;
  /** Longest a fetch waits on the broker for new records (also bounds consumer shutdown). @default 1_000 */
  maxWaitTimeMs?: number;
  /** Consumer group session timeout. @default 30_000 */
  sessionTimeoutMs?: number;
  /** Consumer heartbeat interval; must be below sessionTimeoutMs / 3. @default 3_000 */
  heartbeatIntervalMs?: number;
  /** TCP connect timeout per broker. @default 3_000 */
  connectionTimeoutMs?: number;
  /** Kafka request timeout. @default 30_000 */
  requestTimeoutMs?: number;
  /** kafkajs retry: first backoff. @default 300 */
  initialRetryTimeMs?: number;
  /** kafkajs retry: longest backoff (also caps the feed's own consumer-rebuild backoff). @default 30_000 */
  maxRetryTimeMs?: number;
  /** kafkajs retry: attempts before a request fails (the consumer then restarts). @default 5 */
  retries?: number;
}

/** The options with every default applied. */
export type ResolvedFeedOptions = Required<Omit<KafkaFeedOptions, 'onPoison' | 'views'>> & Pick<KafkaFeedOptions, 'onPoison'> & { views: readonly string[] };

/** The options that are whole numbers. */
type NumericOption = { [K in keyof KafkaFeedOptions]-?: Required<KafkaFeedOptions>[K] extends number ? K : never }[keyof KafkaFeedOptions];

/** Applies defaults and checks every option; throws BAD_CONFIG saying what to change. */
export function resolveFeedOptions(o: KafkaFeedOptions): ResolvedFeedOptions {
  const whole = (name: NumericOption, dflt: number, min: number) => wholeOption(`kafka: ${name}`, o[name], dflt, min);
  const client = KAFKA_CLIENT_DEFAULTS;
  const registry = o.registry ?? bundledRegistry();
  const r: ResolvedFeedOptions = {
    brokers: o.brokers,
    topicPrefix: o.topicPrefix ?? DEFAULT_VIEW_TOPIC_PREFIX,
    registry,
    views: o.views ?? registry.views.filter((v) => v.sink).map((v) => v.name),
    format: o.format ?? 'upsert',
    groupPrefix: o.groupPrefix ?? 'wavegate',
    clientId: o.clientId ?? client.clientId,
    log: o.log ?? silentLogger,
    onPoison: o.onPoison,
    recentLimit: whole('recentLimit', 10_000, 0),
    startTimeoutMs: whole('startTimeoutMs', 30_000, 1),
    stopTimeoutMs: whole('stopTimeoutMs', 10_000, 1),
    replayTimeoutMs: whole('replayTimeoutMs', 30_000, 1),
    staleAfterMs: whole('staleAfterMs', 30_000, 1),
    maxWaitTimeMs: whole('maxWaitTimeMs', 1_000, 0),
    sessionTimeoutMs: whole('sessionTimeoutMs', 30_000, 1),
    heartbeatIntervalMs: whole('heartbeatIntervalMs', 3_000, 1),
    connectionTimeoutMs: whole('connectionTimeoutMs', client.connectionTimeoutMs, 1),
    requestTimeoutMs: whole('requestTimeoutMs', client.requestTimeoutMs, 1),
    initialRetryTimeMs: whole('initialRetryTimeMs', client.retry.initialMs, 1),
    maxRetryTimeMs: whole('maxRetryTimeMs', client.retry.maxMs, 1),
    retries: whole('retries', client.retry.retries, 0),
  };
  if (r.brokers.length === 0) throw errors.badConfig('kafka: brokers must name at least one host:port');
  if (!isTopicPrefix(r.topicPrefix)) throw errors.badConfig(`kafka: topicPrefix ${r.topicPrefix} has characters Kafka topics cannot have`);
  if (r.views.length === 0) throw errors.badConfig('kafka: views must name at least one view');
  if (r.heartbeatIntervalMs * 3 > r.sessionTimeoutMs) {
    throw errors.badConfig(`kafka: heartbeatIntervalMs (${r.heartbeatIntervalMs}) must be at most sessionTimeoutMs / 3 (${r.sessionTimeoutMs})`);
  }
  if (r.staleAfterMs <= r.maxWaitTimeMs) {
    throw errors.badConfig(`kafka: staleAfterMs (${r.staleAfterMs}) must exceed maxWaitTimeMs (${r.maxWaitTimeMs}), or an idle feed reads as stale`);
  }
  return r;
}
