/**
 * The kafkajs adapter of the event consumer: the only module under src/consumer that imports
 * kafkajs (STYLE.md practice 1). It owns the consumer group member, the dead-letter producer and
 * the admin checks; processing decisions live in processor.ts.
 *
 * Offsets (docs/CONSUMERS.md §4): `eachBatch` with `eachBatchAutoResolve: false`. A record's offset
 * is resolved only after `onRecord` says so, i.e. after its transaction committed (or it was
 * dead-lettered, or recognized as a duplicate). kafkajs' auto-commit then commits *resolved*
 * offsets only: when `commitThreshold` records or `commitIntervalMs` have passed, at the end of
 * each batch, before leaving the group on a rebalance, and on stop. Records of one partition are
 * processed one at a time, in offset order; `partitionsConsumedConcurrently` partitions at once.
 */
import { kafkaLogCreator } from '../kafka/log';
import { Kafka, logLevel, Partitioners, type Admin, type Consumer, type EachBatchPayload, type Producer } from 'kafkajs';
import type { Logger } from '../log';
import { ConsumerErrorCode, consumerError } from './errors';
import type { RetryPolicy, SourceRecord } from './processor';

/** The kafkajs client, logging through `log` (namespaces become `kafkajs.<Namespace>` children), never the console. */
export function createKafkaClient(o: {
  brokers: readonly string[];
  clientId: string;
  log: Logger;
  retry: RetryPolicy;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
}): Kafka {
  const logCreator = kafkaLogCreator(o.log);
  return new Kafka({
    brokers: [...o.brokers],
    clientId: o.clientId,
    connectionTimeout: o.connectionTimeoutMs,
    requestTimeout: o.requestTimeoutMs,
    retry: { initialRetryTime: o.retry.initialMs, maxRetryTime: o.retry.maxMs, retries: o.retry.retries },
    logLevel: logLevel.INFO,
    logCreator,
  });
}

/**
 * Creates topics (an existing one is left as it is) and waits until every partition has a leader.
 * kafkajs' own `waitForLeaders` gives up on UNKNOWN_TOPIC_OR_PARTITION, which a KRaft broker
 * answers while the new topic's metadata propagates (seen under load): that is waited out here.
 */
export async function createTopicsAndWait(admin: Admin, topics: ReadonlyArray<{ topic: string; numPartitions: number }>, timeoutMs = 30_000): Promise<void> {
  await admin.createTopics({ topics: topics.map((t) => ({ ...t })), waitForLeaders: false });
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(500, delay * 2)) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
      if (meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (err) {
      const type = (err as { type?: unknown }).type;
      if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw err;
    }
    if (Date.now() > deadline) throw new Error(`topics ${topics.map((t) => t.topic).join(', ')} have no partition leaders after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/**
 * kafkajs' Java-compatible partitioner, passed explicitly so kafkajs does not log its v2 partitioner
 * warning (producers that set `partition` themselves, like the tests' and the router's, never use it).
 */
export const javaCompatiblePartitioner = Partitioners.DefaultPartitioner;

/** Settings of {@link KafkaEventSource} (resolved by consumer.ts; see EventConsumerOptions for units and defaults). */
export interface KafkaSourceSettings {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly deadLetterTopic: string;
  readonly deadLetterPartitions: number;
  readonly log: Logger;
  readonly retry: RetryPolicy;
  readonly fromBeginning: boolean;
  readonly partitionsConsumedConcurrently: number;
  readonly commitIntervalMs: number;
  readonly commitThreshold: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly maxWaitTimeMs: number;
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

/** What the source reports to its owner. */
export interface SourceCallbacks {
  /** Handles one record; true = resolve its offset and go on, false = stop this batch, leave it unresolved. */
  onRecord(record: SourceRecord, heartbeat: () => Promise<void>): Promise<boolean>;
  /** The member joined the group and got `assignment` (topic → partitions). */
  onJoin(assignment: Readonly<Record<string, readonly number[]>>): void;
  onRebalancing(): void;
  /** The kafkajs consumer crashed; `restarting` = kafkajs (or this source) brings it back. */
  onCrash(error: Error, restarting: boolean): void;
}

/** A Kafka message for the dead-letter topic. */
export interface OutgoingMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

/** The group member (plus the dead-letter producer) of one service. */
export class KafkaEventSource {
  private readonly kafka: Kafka;
  private readonly admin;
  private readonly producer: Producer;
  private consumer: Consumer | undefined;
  private stopped = false;
  private rebuilds = 0;
  private rebuildTimer: NodeJS.Timeout | undefined;

  constructor(private readonly s: KafkaSourceSettings, private readonly cb: SourceCallbacks) {
    this.kafka = createKafkaClient(s);
    this.admin = this.kafka.admin({ retry: { retries: s.retry.retries } });
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  }

  /**
   * Connects admin and producer, checks that every event topic exists (BAD_CONFIG naming the
   * missing ones) and creates the dead-letter topic when it does not exist.
   */
  async prepare(): Promise<void> {
    await this.admin.connect();
    const existing = new Set(await this.admin.listTopics());
    const missing = this.s.topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      throw consumerError(ConsumerErrorCode.BAD_CONFIG,
        `Kafka topics missing: ${missing.join(', ')}. Create the RisingWave event sinks (wavegate migrate, migration 6 event_sinks) or the topics first.`);
    }
    if (!existing.has(this.s.deadLetterTopic)) {
      await createTopicsAndWait(this.admin, [{ topic: this.s.deadLetterTopic, numPartitions: this.s.deadLetterPartitions }]);
      this.s.log.info({ topic: this.s.deadLetterTopic, partitions: this.s.deadLetterPartitions }, 'created the dead-letter topic');
    }
    await this.producer.connect();
  }

  /** Creates the group member and starts consuming; resolves once kafkajs runs (before the join: see onJoin). */
  async run(): Promise<void> {
    if (this.stopped) return;
    const consumer = this.kafka.consumer({
      groupId: this.s.groupId,
      sessionTimeout: this.s.sessionTimeoutMs,
      heartbeatInterval: this.s.heartbeatIntervalMs,
      rebalanceTimeout: this.s.rebalanceTimeoutMs,
      maxWaitTimeInMs: this.s.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: this.s.retry.initialMs, maxRetryTime: this.s.retry.maxMs, retries: this.s.retry.retries, restartOnFailure: async () => !this.stopped },
    });
    this.consumer = consumer;
    const { GROUP_JOIN, REBALANCING, CRASH } = consumer.events;
    consumer.on(GROUP_JOIN, ({ payload }) => {
      this.rebuilds = 0;
      this.cb.onJoin(payload.memberAssignment);
    });
    consumer.on(REBALANCING, () => this.cb.onRebalancing());
    consumer.on(CRASH, ({ payload }) => {
      if (this.stopped) return;
      this.cb.onCrash(payload.error, true);
      if (!payload.restart) this.scheduleRebuild();
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...this.s.topics], fromBeginning: this.s.fromBeginning });
    await consumer.run({
      autoCommit: true,
      autoCommitInterval: this.s.commitIntervalMs,
      autoCommitThreshold: this.s.commitThreshold,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.s.partitionsConsumedConcurrently,
      eachBatch: (p) => this.onBatch(p),
    });
    if (this.stopped) await consumer.disconnect(); // stop() ran meanwhile and could not see this consumer
  }

  /** After a crash kafkajs will not restart from: a new member of the same group, with backoff. */
  private scheduleRebuild(): void {
    const delay = Math.min(this.s.retry.maxMs, this.s.retry.initialMs * 2 ** this.rebuilds++);
    this.s.log.warn({ delayMs: delay, attempt: this.rebuilds }, 'rebuilding the Kafka consumer');
    this.rebuildTimer = setTimeout(() => {
      if (this.stopped) return;
      this.run().catch((err: unknown) => {
        this.s.log.error({ err }, 'rebuilding the Kafka consumer failed');
        if (!this.stopped) this.scheduleRebuild();
      });
    }, delay);
  }

  private async onBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload): Promise<void> {
    for (const m of batch.messages) {
      if (!isRunning() || isStale()) break;
      const record: SourceRecord = {
        topic: batch.topic, partition: batch.partition, offset: m.offset, timestamp: m.timestamp,
        key: m.key ?? null, value: m.value ?? null,
      };
      if (!(await this.cb.onRecord(record, heartbeat))) break;
      resolveOffset(m.offset);
      await commitOffsetsIfNecessary();
      await heartbeat();
    }
  }

  /** Produces one message to `topic` (acks from all in-sync replicas); rejects when Kafka does not take it. */
  async publish(topic: string, message: OutgoingMessage): Promise<void> {
    await this.producer.send({ topic, acks: -1, messages: [{ key: message.key, value: message.value, headers: message.headers }] });
  }

  /**
   * Stops consuming: kafkajs waits for the batch in progress (so for the handler in flight), commits
   * the resolved offsets and leaves the group; then disconnects producer and admin. Idempotent.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.rebuildTimer);
    const warn = (what: string) => (err: unknown) => this.s.log.warn({ err }, `${what} failed`);
    if (this.consumer !== undefined) await this.consumer.disconnect().catch(warn('consumer disconnect'));
    await this.producer.disconnect().catch(warn('producer disconnect'));
    await this.admin.disconnect().catch(warn('admin disconnect'));
  }
}
