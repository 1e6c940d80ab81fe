/**
 * `createEventConsumer`: a service's subscription to the event topics RisingWave's sinks write
 * (`events.<EventType>`), with exactly-one-effect handling in the service's MySQL database
 * (docs/CONSUMERS.md). This module holds options, lifecycle and counters; processor.ts decides
 * what happens to a record; eventSource.ts talks to Kafka (through src/kafka).
 */
import { within } from '../util/within';
import type { Pool, PoolConnection } from 'mysql2/promise';
import { wholeOption } from '../config/env';
import { KAFKA_CLIENT_DEFAULTS } from '../kafka/client';
import { DEFAULT_EVENT_TOPIC_PREFIX, eventTopic, isTopicName, isTopicPrefix } from '../kafka/topics';
import type { Logger } from '../log';
import { EVENT_TYPES, type EventType } from '../outbox/events';
import { deadLetterMessage, deadLetterTopicOf } from './deadLetter';
import { ConsumerErrorCode, consumerError, isConsumerError } from './errors';
import { KafkaEventSource } from './eventSource';
import { topicEventType } from './sinkFormat';
import { processRecord, type DeadLetter, type EventHandler, type Outcome, type RetryPolicy, type SourceRecord } from './processor';

/** Options of {@link createEventConsumer}. Durations are milliseconds. */
export interface EventConsumerOptions {
  /**
   * The service's name, `[A-Za-z0-9._-]{1,100}`: its consumer group id (so all instances of a
   * service share the work and each service sees every event) and its dead-letter topic `dlq.<service>`.
   */
  service: string;
  /** Bootstrap brokers, `host:port`. */
  brokers: readonly string[];
  /**
   * The service's mysql2/promise pool (use src/outbox/mysql.ts `createMysqlPool`: UTC sessions).
   * Its database must hold `outbox` (to emit) and `processed_events` (migrations.ts). Each
   * concurrently consumed partition holds one connection while its handler runs.
   */
  db: Pool;
  /** Event type `T` is read from topic `topicPrefix + T`. @default 'events.' (src/kafka/topics.ts eventTopic) */
  topicPrefix?: string;
  /** Root logger: the consumer logs under `consumer.<service>`, kafkajs under `consumer.<service>.kafkajs.<namespace>`. */
  log: Logger;
  /**
   * Backoff between handler attempts (`initialMs` doubling up to `maxMs`, ±20% jitter) and kafkajs'
   * own request retries (`retries`, with the same backoff).
   */
  retry: RetryPolicy;
  /** Handler attempts for one event (retriable errors) before it is dead-lettered; ≥ 1. */
  maxAttempts: number;
  /** Topic for records that cannot be handled; created (1 partition) when missing. @default `dlq.<service>` */
  deadLetterTopic?: string;
  /** Consumer group id. @default service */
  groupId?: string;
  /** Kafka client id. @default service */
  clientId?: string;
  /** Partitions processed at the same time (each sequentially); keep ≤ the pool's connectionLimit. @default 3 */
  partitionsConsumedConcurrently?: number;
  /** Where a group without committed offsets starts: true = the oldest retained event. @default true */
  fromBeginning?: boolean;
  /** Commit resolved offsets at least this often while a batch is processed (and at every batch end). @default 1_000 */
  commitIntervalMs?: number;
  /** …or after this many resolved records, whichever comes first. @default 100 */
  commitThreshold?: number;
  /** Group session timeout: a member that does not heartbeat this long is evicted. @default 30_000 */
  sessionTimeoutMs?: number;
  /** Heartbeat interval; at most sessionTimeoutMs / 3. @default 3_000 */
  heartbeatIntervalMs?: number;
  /** How long a rebalance waits for members to rejoin; at least sessionTimeoutMs. @default 60_000 */
  rebalanceTimeoutMs?: number;
  /** Longest a fetch waits for new records (also bounds how fast an idle member notices stop). @default 1_000 */
  maxWaitTimeMs?: number;
  /** TCP connect timeout per broker. @default 3_000 */
  connectionTimeoutMs?: number;
  /** Kafka request timeout. @default 30_000 */
  requestTimeoutMs?: number;
  /** Bound on start(): checks, connect, first group join. @default 30_000 */
  startTimeoutMs?: number;
  /**
   * Grace period of stop() for the handler in flight. When it passes, the in-flight transaction's
   * connection is destroyed, so the server rolls it back (never half-applied). @default 30_000
   */
  stopTimeoutMs?: number;
  /** Partitions of the dead-letter topic when the consumer creates it. @default 1 */
  deadLetterPartitions?: number;
  /** Called after each record's outcome (metrics, benchmarks, tests); must not throw. */
  onOutcome?: (outcome: Outcome, info: { readonly receivedAt: number; readonly record: SourceRecord }) => void;
}

/** Lifecycle of a consumer. `since` = Date.now() on entering the phase. */
export type EventConsumerState =
  | { readonly phase: 'idle' }
  | { readonly phase: 'starting'; readonly since: number }
  | { readonly phase: 'running'; readonly since: number; readonly assignment: Readonly<Record<string, readonly number[]>> }
  | { readonly phase: 'rebalancing'; readonly since: number }
  | { readonly phase: 'crashed'; readonly since: number; readonly error: string; readonly restarting: boolean }
  | { readonly phase: 'stopping'; readonly since: number }
  | { readonly phase: 'stopped'; readonly since: number; readonly error?: string };

/** Counters since start. */
export interface ConsumerStats {
  /** Events whose transaction committed. */
  readonly handled: number;
  /** Redelivered events skipped because processed_events already had their id. */
  readonly duplicates: number;
  /** Records sent to the dead-letter topic. */
  readonly deadLettered: number;
  /** Handler attempts after a first one failed. */
  readonly retries: number;
  /** Records being processed right now (≤ partitionsConsumedConcurrently). */
  readonly inFlight: number;
}

/** A service's event consumer. Register handlers, then start(); stop() at shutdown. */
export interface EventConsumer {
  readonly service: string;
  readonly groupId: string;
  readonly deadLetterTopic: string;
  readonly state: EventConsumerState;
  /** Handles events of `type` (topic `<topicPrefix><type>`). One handler per type; only before start(). */
  onEvent<T extends EventType>(type: T, handler: EventHandler<T>): EventConsumer;
  /**
   * Checks the database table and the topics, creates the dead-letter topic if needed, joins the
   * group. Resolves once partitions are assigned; rejects (and the consumer is stopped) with
   * CONSUMER_BAD_CONFIG or CONSUMER_UNAVAILABLE.
   */
  start(): Promise<void>;
  /**
   * Stops taking records, waits for the handler in flight to commit or roll back (bounded by
   * stopTimeoutMs, then its connection is destroyed), commits the resolved offsets, leaves the
   * group. Idempotent. Does not end the pool (the service owns it).
   */
  stop(): Promise<void>;
  stats(): ConsumerStats;
}

type Resolved = Required<Omit<EventConsumerOptions, 'onOutcome'>> & Pick<EventConsumerOptions, 'onOutcome'>;

const NAME_RE = /^[A-Za-z0-9._-]{1,100}$/;
/** Required numeric options have no default: NaN makes a missing one fail the check. */
const REQUIRED = Number.NaN;

/** Applies defaults and checks every option and the cross-field rules; throws CONSUMER_BAD_CONFIG saying what to change. */
export function resolveConsumerOptions(o: EventConsumerOptions): Resolved {
  const bad = (msg: string) => consumerError(ConsumerErrorCode.BAD_CONFIG, `consumer ${JSON.stringify(o.service)}: ${msg}`);
  // wholeOption's BAD_CONFIG (a GatewayError) becomes the toolkit's own CONSUMER_BAD_CONFIG.
  const whole = (name: string, value: number | undefined, dflt: number, min: number): number => {
    try {
      return wholeOption(name, value, dflt, min);
    } catch (err) {
      throw bad(err instanceof Error ? err.message : String(err));
    }
  };
  const retry = o.retry ?? {};
  const r: Resolved = {
    ...o,
    retry: { retries: whole('retry.retries', retry.retries, REQUIRED, 0), initialMs: whole('retry.initialMs', retry.initialMs, REQUIRED, 1), maxMs: whole('retry.maxMs', retry.maxMs, REQUIRED, 1) },
    maxAttempts: whole('maxAttempts', o.maxAttempts, REQUIRED, 1),
    topicPrefix: o.topicPrefix ?? DEFAULT_EVENT_TOPIC_PREFIX,
    deadLetterTopic: o.deadLetterTopic ?? deadLetterTopicOf(o.service),
    groupId: o.groupId ?? o.service,
    clientId: o.clientId ?? o.service,
    partitionsConsumedConcurrently: whole('partitionsConsumedConcurrently', o.partitionsConsumedConcurrently, 3, 1),
    fromBeginning: o.fromBeginning ?? true,
    commitIntervalMs: whole('commitIntervalMs', o.commitIntervalMs, 1_000, 0),
    commitThreshold: whole('commitThreshold', o.commitThreshold, 100, 1),
    sessionTimeoutMs: whole('sessionTimeoutMs', o.sessionTimeoutMs, 30_000, 1),
    heartbeatIntervalMs: whole('heartbeatIntervalMs', o.heartbeatIntervalMs, 3_000, 1),
    rebalanceTimeoutMs: whole('rebalanceTimeoutMs', o.rebalanceTimeoutMs, 60_000, 1),
    maxWaitTimeMs: whole('maxWaitTimeMs', o.maxWaitTimeMs, 1_000, 0),
    connectionTimeoutMs: whole('connectionTimeoutMs', o.connectionTimeoutMs, KAFKA_CLIENT_DEFAULTS.connectionTimeoutMs, 1),
    requestTimeoutMs: whole('requestTimeoutMs', o.requestTimeoutMs, KAFKA_CLIENT_DEFAULTS.requestTimeoutMs, 1),
    startTimeoutMs: whole('startTimeoutMs', o.startTimeoutMs, 30_000, 1),
    stopTimeoutMs: whole('stopTimeoutMs', o.stopTimeoutMs, 30_000, 1),
    deadLetterPartitions: whole('deadLetterPartitions', o.deadLetterPartitions, 1, 1),
  };
  if (typeof r.service !== 'string' || !NAME_RE.test(r.service)) throw bad('service must be 1-100 of A-Z a-z 0-9 . _ - (it names the consumer group and the dead-letter topic)');
  if (!NAME_RE.test(r.groupId)) throw bad('groupId must be 1-100 of A-Z a-z 0-9 . _ -');
  if (r.brokers.length === 0) throw bad('brokers must name at least one host:port');
  if (!isTopicPrefix(r.topicPrefix)) throw bad(`topicPrefix ${JSON.stringify(r.topicPrefix)} has characters Kafka topics cannot have`);
  if (!isTopicName(r.deadLetterTopic)) throw bad(`deadLetterTopic ${JSON.stringify(r.deadLetterTopic)} is not a valid Kafka topic name`);
  if (topicEventType(r.deadLetterTopic, r.topicPrefix) !== undefined) throw bad('deadLetterTopic must not be an event topic');
  if (r.retry.initialMs > r.retry.maxMs) throw bad(`retry.initialMs (${r.retry.initialMs}) must not exceed retry.maxMs (${r.retry.maxMs})`);
  if (r.heartbeatIntervalMs * 3 > r.sessionTimeoutMs) {
    throw bad(`heartbeatIntervalMs (${r.heartbeatIntervalMs}) must be at most sessionTimeoutMs / 3 (${r.sessionTimeoutMs}): raise sessionTimeoutMs or lower heartbeatIntervalMs`);
  }
  if (r.rebalanceTimeoutMs < r.sessionTimeoutMs) throw bad(`rebalanceTimeoutMs (${r.rebalanceTimeoutMs}) must be at least sessionTimeoutMs (${r.sessionTimeoutMs})`);
  return r;
}

/** Creates a consumer for `options.service`. Nothing connects before start(). */
export function createEventConsumer(options: EventConsumerOptions): EventConsumer {
  const o = resolveConsumerOptions(options);
  const log = o.log.child(`consumer.${o.service}`);
  const handlers = new Map<EventType, EventHandler>();
  const abort = new AbortController();
  const inFlight = new Set<Promise<unknown>>();
  const connections = new Set<PoolConnection>();
  const counts = { handled: 0, duplicates: 0, deadLettered: 0, retries: 0 };
  let st: EventConsumerState = { phase: 'idle' };
  let source: KafkaEventSource | undefined;
  let stopping: Promise<void> | undefined;
  let joined: (() => void) | undefined;

  const setState = (next: EventConsumerState) => {
    if (next.phase !== st.phase) log.info({ from: st.phase, to: next.phase }, 'consumer state');
    st = next;
  };
  const isStopping = () => st.phase === 'stopping' || st.phase === 'stopped';

  const deadLetter = async (letter: DeadLetter) => {
    if (source === undefined) throw new Error('dead letter without a Kafka source');
    await source.publish(o.deadLetterTopic, deadLetterMessage(letter, o.service, new Date()));
  };
  const deps = { db: o.db, connections, topicPrefix: o.topicPrefix, handlers, retry: o.retry, maxAttempts: o.maxAttempts, log, deadLetter, signal: abort.signal };

  const onRecord = async (record: SourceRecord, heartbeat: () => Promise<void>): Promise<boolean> => {
    if (isStopping()) return false;
    const receivedAt = Date.now();
    const work = processRecord(deps, record, heartbeat);
    inFlight.add(work);
    let outcome: Outcome;
    try {
      outcome = await work;
    } finally {
      inFlight.delete(work);
    }
    switch (outcome.kind) {
      case 'handled':
        counts.handled++;
        counts.retries += outcome.attempts - 1;
        break;
      case 'duplicate':
        counts.duplicates++;
        counts.retries += outcome.attempts - 1;
        break;
      case 'dead-lettered':
        counts.deadLettered++;
        counts.retries += Math.max(0, outcome.letter.attempts - 1);
        break;
      case 'aborted':
        counts.retries += Math.max(0, outcome.attempts - 1);
        return false;
      default: {
        const unreachable: never = outcome;
        throw new Error(`unhandled outcome ${JSON.stringify(unreachable)}`);
      }
    }
    try {
      o.onOutcome?.(outcome, { receivedAt, record });
    } catch (err) {
      log.error({ err }, 'onOutcome threw');
    }
    return true;
  };

  const consumer: EventConsumer = {
    service: o.service,
    groupId: o.groupId,
    deadLetterTopic: o.deadLetterTopic,
    get state() {
      return st;
    },

    onEvent(type, handler) {
      if (st.phase !== 'idle') throw consumerError(ConsumerErrorCode.BAD_STATE, `onEvent(${type}) after start(): register handlers first`);
      if (!(EVENT_TYPES as readonly string[]).includes(type)) throw consumerError(ConsumerErrorCode.BAD_CONFIG, `unknown event type ${String(type)}`);
      if (handlers.has(type)) throw consumerError(ConsumerErrorCode.BAD_CONFIG, `a handler for ${type} is already registered`);
      handlers.set(type, handler as unknown as EventHandler);
      return consumer;
    },

    async start() {
      if (st.phase !== 'idle') throw consumerError(ConsumerErrorCode.BAD_STATE, `start() in phase ${st.phase}`);
      if (handlers.size === 0) throw consumerError(ConsumerErrorCode.BAD_CONFIG, 'no handlers: call onEvent() before start()');
      setState({ phase: 'starting', since: Date.now() });
      const topics = [...handlers.keys()].map((t) => eventTopic(t, o.topicPrefix));
      source = new KafkaEventSource({ ...o, log, topics }, {
        onRecord,
        onJoin: (assignment) => {
          if (isStopping()) return;
          setState({ phase: 'running', since: Date.now(), assignment });
          joined?.();
        },
        onRebalancing: () => {
          if (!isStopping()) setState({ phase: 'rebalancing', since: Date.now() });
        },
        onCrash: (error, restarting) => {
          if (isStopping()) return;
          setState({ phase: 'crashed', since: Date.now(), error: error.message, restarting });
          log.warn({ err: error.message, restarting }, 'Kafka consumer crashed');
        },
      });
      const steps = async () => {
        await checkTable(o.db);
        const join = new Promise<void>((resolve) => (joined = resolve));
        await source!.prepare();
        await source!.run();
        await join;
        if (isStopping()) throw consumerError(ConsumerErrorCode.BAD_STATE, `consumer ${o.service} was stopped while starting`);
      };
      try {
        await within(steps(), o.startTimeoutMs, () =>
          consumerError(ConsumerErrorCode.UNAVAILABLE, `consumer ${o.service} did not join group ${o.groupId} on ${o.brokers.join(',')} within ${o.startTimeoutMs} ms`));
      } catch (err) {
        const e = isConsumerError(err) ? err : consumerError(ConsumerErrorCode.UNAVAILABLE, `consumer ${o.service} failed to start: ${err instanceof Error ? err.message : String(err)}`, err);
        await consumer.stop();
        st = { phase: 'stopped', since: Date.now(), error: e.message };
        throw e;
      }
    },

    stop() {
      stopping ??= (async () => {
        if (st.phase === 'idle') {
          setState({ phase: 'stopped', since: Date.now() });
          return;
        }
        setState({ phase: 'stopping', since: Date.now() });
        abort.abort(); // ends backoff waits; a handler already running finishes its transaction
        joined?.(); // a start() waiting for the group join gives up
        const graceful = source?.stop() ?? Promise.resolve();
        try {
          await within(Promise.all([graceful, ...inFlight]), o.stopTimeoutMs, () => new Error('stop grace period over'));
        } catch {
          log.error({ inFlight: inFlight.size, stopTimeoutMs: o.stopTimeoutMs }, 'handlers still running after stopTimeoutMs: destroying their connections (the server rolls their transactions back)');
          for (const c of connections) c.destroy();
          // A handler that ignores its dead connection (awaits something else forever) is given up
          // on: its transaction is already rolled back by the server.
          const rest = within(Promise.allSettled([graceful, ...inFlight]), Math.min(5_000, o.stopTimeoutMs), () => new Error('handler did not return'));
          await rest.catch(() => log.error({ inFlight: inFlight.size }, 'a handler did not return after its connection was destroyed; stopped without it'));
        }
        setState({ phase: 'stopped', since: Date.now() });
      })();
      return stopping;
    },

    stats() {
      return { ...counts, inFlight: inFlight.size };
    },
  };
  return consumer;
}

/** Fails fast, with the fix, when the service database lacks processed_events. */
async function checkTable(db: Pool): Promise<void> {
  try {
    await db.query('SELECT event_id, event_type, processed_at FROM processed_events LIMIT 0');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ER_NO_SUCH_TABLE' || code === 'ER_BAD_FIELD_ERROR') {
      throw consumerError(ConsumerErrorCode.BAD_CONFIG, 'table processed_events is missing in the service database: apply its migration (src/consumer/migrations.ts migrateProcessedEvents)', err);
    }
    throw consumerError(ConsumerErrorCode.UNAVAILABLE, `service database unavailable: ${err instanceof Error ? err.message : String(err)}`, err);
  }
}
