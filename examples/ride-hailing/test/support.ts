/**
 * Test support for the consumer toolkit and the example services (real Kafka broker from
 * `scripts/kafka.sh start`, the machine's MariaDB). Every test gets its own names — topic prefix
 * `t<hex>.events.`, consumer groups and dead-letter topics `t<hex>.dlq.<name>`, databases
 * `wavegate_t_<hex>` — and removes them afterwards, so tests never see each other's data.
 * Topic names come from src/kafka/topics.ts.
 *
 * Records are produced the way RisingWave's append-only event sinks write them
 * (src/consumer/sinkFormat.ts), to the partition RisingWave's librdkafka producer picks (CRC32 of
 * the key modulo the partition count: the `consistent_random` partitioner).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { encodeSinkRecord, readDeadLetter, silentLogger, utcString, type OutboxRow, type ReadDeadLetter } from 'wavegate/consumer';
import { createKafkaClient, createTopicsAndWait, deadLetterTopic, DEFAULT_EVENT_TOPIC_PREFIX, eventTopic, javaCompatiblePartitioner, type Kafka } from 'wavegate/kafka';
import { createMysqlPool, type EventPayloads, type EventType } from 'wavegate/outbox';
import { createMysqlDatabase, type MysqlTestDatabase } from '../../../test/conformance/databases';
import { KAFKA_BROKERS, requireBroker } from '../../../test/helpers/kafka';
import { waitFor } from '../../../test/helpers/waitFor';

export { KAFKA_BROKERS, requireBroker, waitFor };

/** Short timeouts for tests (the production defaults are in EventConsumerOptions). */
export const TEST_CONSUMER_SETTINGS = {
  retry: { retries: 5, initialMs: 50, maxMs: 500 },
  maxAttempts: 3,
  sessionTimeoutMs: 6_000, // the broker's group.min.session.timeout.ms default
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 10_000,
  maxWaitTimeMs: 100,
  connectionTimeoutMs: 1_000,
  startTimeoutMs: 30_000,
  stopTimeoutMs: 20_000,
} as const;

/** A raw Kafka record: exact bytes. */
export interface RawRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

/** A message read back from a topic. */
export interface ReadMessage extends RawRecord {
  readonly partition: number;
  readonly offset: string;
  readonly headers: Record<string, Buffer | string | Array<Buffer | string> | undefined>;
}

/** Event topics under a unique prefix, plus every topic and group a test makes, deleted by cleanup(). */
export class TestKafka {
  /** e.g. `t1a2b3c4d.` — prepend to group ids and dead-letter topics. */
  readonly scope: string;
  /** Event topics are `<topicPrefix><EventType>`. */
  readonly topicPrefix: string;
  private readonly topics = new Set<string>();
  private readonly groups = new Set<string>();
  private readonly partitionCounts = new Map<string, number>();
  private reads = 0;

  private constructor(readonly kafka: Kafka, private readonly admin: ReturnType<Kafka['admin']>, private readonly producer: ReturnType<Kafka['producer']>) {
    this.scope = `t${randomBytes(4).toString('hex')}.`;
    this.topicPrefix = `${this.scope}${DEFAULT_EVENT_TOPIC_PREFIX}`;
  }

  /** Connects (failing with how to start the broker when it is not running). */
  static async connect(): Promise<TestKafka> {
    await requireBroker();
    const kafka = createKafkaClient({ brokers: KAFKA_BROKERS, clientId: 'wavegate-test', log: silentLogger, retry: { retries: 8, initialMs: 100, maxMs: 1_000 }, connectionTimeoutMs: 1_000, requestTimeoutMs: 30_000 });
    const admin = kafka.admin();
    const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: javaCompatiblePartitioner });
    await admin.connect();
    await producer.connect();
    return new TestKafka(kafka, admin, producer);
  }

  /** A name in this test's scope (group ids, dead-letter topics), remembered for cleanup. */
  group(name: string): string {
    const id = `${this.scope}${name}`;
    this.groups.add(id);
    return id;
  }

  /** A dead-letter topic name in this test's scope (the consumer creates it; cleanup deletes it). */
  dlqTopic(name: string): string {
    const t = `${this.scope}${deadLetterTopic(name)}`;
    this.topics.add(t);
    return t;
  }

  /** Creates `<topicPrefix><type>` for each type. */
  async createEventTopics(types: readonly EventType[], numPartitions = 3): Promise<void> {
    const topics = types.map((t) => eventTopic(t, this.topicPrefix));
    for (const t of topics) this.topics.add(t); // cleanup deletes them even when the wait below fails
    await createTopicsAndWait(this.admin, topics.map((topic) => ({ topic, numPartitions })));
    for (const t of topics) {
      this.partitionCounts.set(t, numPartitions);
    }
  }

  /** Produces raw records to the event topic of `type`, in order, each to RisingWave's partition for its key. */
  async produce(type: EventType, records: readonly RawRecord[]): Promise<void> {
    const topic = eventTopic(type, this.topicPrefix);
    const n = this.partitionCounts.get(topic);
    if (n === undefined) throw new Error(`produce: ${topic} was not created by this test`);
    await this.producer.send({ topic, acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value, partition: r.key === null ? 0 : crc32(r.key) % n })) });
  }

  /** Produces outbox rows as RisingWave's sink would, each to its event type's topic. */
  async produceRows(rows: readonly OutboxRow[]): Promise<void> {
    for (const row of rows) await this.produce(row.event_type as EventType, [encodeSinkRecord(row)]);
  }

  /** Reads `topic` from the beginning until `count` messages arrived (or `timeoutMs` passed). */
  async read(topic: string, count: number, timeoutMs = 20_000): Promise<ReadMessage[]> {
    const groupId = this.group(`reader-${++this.reads}`);
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
    const out: ReadMessage[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({ eachMessage: async ({ partition, message }) => void out.push({ partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers ?? {} }) });
      await waitFor(() => out.length >= count, timeoutMs, 20);
    } finally {
      await consumer.disconnect();
    }
    return out;
  }

  /** The dead letters on `topic`, parsed (waits for `count`). */
  async deadLetters(topic: string, count: number): Promise<ReadDeadLetter[]> {
    return (await this.read(topic, count)).map((m) => readDeadLetter(m));
  }

  /** Committed offsets of `groupId` on the event topic of `type`, per partition (-1 = none). */
  async committed(groupId: string, type: EventType): Promise<Map<number, number>> {
    const [t] = await this.admin.fetchOffsets({ groupId, topics: [eventTopic(type, this.topicPrefix)] });
    return new Map((t?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  }

  /** Deletes the test's topics and groups, disconnects. */
  async cleanup(): Promise<void> {
    const existing = new Set(await this.admin.listTopics().catch(() => [] as string[]));
    const topics = [...this.topics].filter((t) => existing.has(t));
    if (topics.length > 0) await this.admin.deleteTopics({ topics }).catch(() => undefined);
    const groups = new Set((await this.admin.listGroups().catch(() => ({ groups: [] }))).groups.map((g) => g.groupId));
    const mine = [...this.groups].filter((g) => groups.has(g));
    if (mine.length > 0) await this.admin.deleteGroups(mine).catch(() => undefined);
    await this.producer.disconnect();
    await this.admin.disconnect();
  }
}

/** A throwaway service database with a UTC pool, the way services get theirs. */
export interface ServiceDatabase {
  readonly name: string;
  readonly url: string;
  readonly db: Pool;
  /** `SELECT count(*)` of a query's rows, e.g. `count('outbox WHERE event_type = ?', ['DriverAssigned'])`. */
  count(fromWhere: string, params?: unknown[]): Promise<number>;
  rows(sql: string, params?: unknown[]): Promise<RowDataPacket[]>;
  drop(): Promise<void>;
}

/** Creates `wavegate_t_<hex>` (empty: the service's migrate function creates its tables). */
export async function createServiceDatabase(connectionLimit = 5): Promise<ServiceDatabase> {
  const m: MysqlTestDatabase = await createMysqlDatabase(false);
  const db = createMysqlPool({ url: m.url, connectionLimit });
  const rows = async (sql: string, params: unknown[] = []) => (await db.query<RowDataPacket[]>(sql, params))[0];
  return {
    name: m.name, url: m.url, db, rows,
    count: async (fromWhere, params = []) => Number((await rows(`SELECT count(*) AS n FROM ${fromWhere}`, params))[0]!['n']),
    drop: async () => {
      await db.end().catch(() => undefined);
      await m.drop();
    },
  };
}

const P = { lat: 52.52, lng: 13.405 };
const Q = { lat: 52.5, lng: 13.3 };

/** An outbox row as the Ride service writes it and RisingWave's CDC table holds it. */
export function outboxRow<T extends EventType>(type: T, rideId: string, payload: EventPayloads[T], extra: Partial<OutboxRow> = {}): OutboxRow {
  return {
    id: randomUUID(), aggregate_type: 'Ride', aggregate_id: rideId, event_type: type, payload,
    occurred_at: utcString(new Date(), 123), trace_context: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', ...extra,
  };
}

/** A RideRequested row from Alexanderplatz to near Potsdamer Platz. */
export function rideRequested(rideId: string, rider = 'rider-1', pickup = P, dropoff = Q): OutboxRow {
  return outboxRow('RideRequested', rideId, { rider_id: rider, pickup, dropoff });
}
