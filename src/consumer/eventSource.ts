/**
 * The event consumer's link to Kafka: one group member (src/kafka/resilientConsumer.ts, rebuilt with
 * backoff after crashes kafkajs gives up on), the dead-letter producer and the admin checks, all
 * from src/kafka (the only kafkajs importer). Processing decisions live in processor.ts.
 *
 * Offsets (docs/CONSUMERS.md, "Offsets, ordering, groups"): `eachBatch` with
 * `eachBatchAutoResolve: false`. A record's offset is resolved only after `onRecord` says so, i.e.
 * after its transaction committed (or it was dead-lettered, or recognized as a duplicate). kafkajs'
 * auto-commit then commits *resolved* offsets only: when `commitThreshold` records or
 * `commitIntervalMs` have passed, at the end of each batch, before leaving the group on a
 * rebalance, and on stop. Records of one partition are processed one at a time, in offset order;
 * `partitionsConsumedConcurrently` partitions at once.
 */
import { createTopicsAndWait } from '../kafka/admin';
import { createKafkaClient, javaCompatiblePartitioner, type Admin, type EachBatchPayload, type Kafka, type Producer } from '../kafka/client';
import { ResilientConsumer, type Assignment } from '../kafka/resilientConsumer';
import type { Logger } from '../log';
import { ConsumerErrorCode, consumerError } from './errors';
import type { RetryPolicy, SourceRecord } from './processor';

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
  onJoin(assignment: Assignment): void;
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
  private readonly admin: Admin;
  private readonly producer: Producer;
  private readonly consumer: ResilientConsumer;

  constructor(private readonly s: KafkaSourceSettings, private readonly cb: SourceCallbacks) {
    this.kafka = createKafkaClient(s);
    this.admin = this.kafka.admin({ retry: { retries: s.retry.retries } });
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: javaCompatiblePartitioner });
    this.consumer = new ResilientConsumer({
      kafka: this.kafka, log: s.log, groupId: s.groupId, topics: s.topics, fromBeginning: s.fromBeginning, retry: s.retry,
      sessionTimeoutMs: s.sessionTimeoutMs, heartbeatIntervalMs: s.heartbeatIntervalMs, rebalanceTimeoutMs: s.rebalanceTimeoutMs,
      maxWaitTimeMs: s.maxWaitTimeMs,
      run: {
        autoCommit: true,
        autoCommitInterval: s.commitIntervalMs,
        autoCommitThreshold: s.commitThreshold,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: s.partitionsConsumedConcurrently,
        eachBatch: (p) => this.onBatch(p),
      },
      onPhase: (p) => {
        if (p.phase === 'running') this.cb.onJoin(p.assignment);
        else if (p.phase === 'rebalancing') this.cb.onRebalancing();
        else if (p.phase === 'crashed') this.cb.onCrash(p.error, true);
      },
    });
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
    await this.consumer.start();
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
    const warn = (what: string) => (err: unknown) => this.s.log.warn({ err }, `${what} failed`);
    await this.consumer.stop();
    await this.producer.disconnect().catch(warn('producer disconnect'));
    await this.admin.disconnect().catch(warn('admin disconnect'));
  }
}
