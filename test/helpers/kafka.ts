/**
 * Real-broker helpers for the Kafka feed tests: unique topic names per test, topics created and
 * deleted by the test, records produced the way RisingWave's sink does. kafkajs is reached through
 * src/kafka (the only kafkajs importer): its client factory and topic names.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { silentLogger, type Logger } from '../../src/log';
import { createKafkaClient, DEFAULT_VIEW_TOPIC_PREFIX, viewTopic, type Admin, type Kafka, type Producer } from '../../src/kafka';

const ROOT = join(__dirname, '..', '..');

/** The broker `scripts/kafka.sh start` runs, or KAFKA_BROKERS (comma-separated host:port). */
export const KAFKA_BROKERS: readonly string[] = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:19092').split(',');

/** Short timeouts for tests (production defaults are in KafkaFeedOptions). */
export const TEST_FEED_TIMEOUTS = {
  maxWaitTimeMs: 200,
  connectionTimeoutMs: 1_000,
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 500,
  staleAfterMs: 3_000,
  initialRetryTimeMs: 100,
  maxRetryTimeMs: 1_000,
  replayTimeoutMs: 20_000,
  startTimeoutMs: 20_000,
} as const;

function tcpOpen(hostPort: string, timeoutMs = 1_000): Promise<boolean> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve) => {
    const socket = createConnection({ host: host ?? '127.0.0.1', port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Fails (never skips) when the broker is not there, saying how to start it. */
export async function requireBroker(brokers: readonly string[] = KAFKA_BROKERS): Promise<void> {
  for (const b of brokers) {
    if (!(await tcpOpen(b))) {
      throw new Error(`Kafka broker not reachable at ${b}: run \`scripts/kafka.sh start\` first (or set KAFKA_BROKERS).`);
    }
  }
}

/** A topic prefix no other test uses, e.g. `t3f9a01bc.view.`. */
export function uniquePrefix(): string {
  return `t${randomBytes(4).toString('hex')}.${DEFAULT_VIEW_TOPIC_PREFIX}`;
}

/** A Kafka record as RisingWave writes it (exact bytes; null value = tombstone). */
export interface SinkRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

/** Admin + producer on a broker, remembering the topics it created so cleanup() deletes them. */
export class KafkaTestClient {
  private readonly partitionCounts = new Map<string, number>();

  private constructor(readonly kafka: Kafka, readonly admin: Admin, private readonly producer: Producer) {}

  static async connect(brokers: readonly string[] = KAFKA_BROKERS, log: Logger = silentLogger): Promise<KafkaTestClient> {
    const kafka = createKafkaClient({ brokers, clientId: 'wavegate-test', log, connectionTimeoutMs: 1_000, retry: { initialMs: 100, maxMs: 1_000, retries: 8 } });
    const admin = kafka.admin();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await admin.connect();
    await producer.connect();
    return new KafkaTestClient(kafka, admin, producer);
  }

  /** Creates `<prefix><view>` for each view and waits for its partition leaders. */
  async createViewTopics(prefix: string, views: readonly string[], numPartitions = 3, configEntries: Array<{ name: string; value: string }> = []): Promise<string[]> {
    const topics = views.map((v) => viewTopic(v, prefix));
    await this.admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions, configEntries })), waitForLeaders: true });
    for (const t of topics) this.partitionCounts.set(t, numPartitions);
    return topics;
  }

  /**
   * Produces records in order, each to the partition RisingWave's librdkafka producer picks
   * (`consistent_random`: CRC32 of the key bytes modulo the partition count; librdkafka's
   * `partitioner` property, https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md).
   * Returns each record's partition and offset.
   */
  async produce(topic: string, records: readonly SinkRecord[]): Promise<Array<{ partition: number; offset: number }>> {
    const n = this.partitionCounts.get(topic);
    if (n === undefined) throw new Error(`produce: ${topic} was not created by this client`);
    const placed = records.map((r) => ({ ...r, partition: r.key === null ? 0 : crc32(r.key) % n }));
    const result = await this.producer.send({ topic, acks: -1, messages: placed.map((r) => ({ key: r.key, value: r.value, partition: r.partition })) });
    // One send puts each partition's records in one batch, in order: base offset + index within the partition.
    const base = new Map(result.map((r) => [r.partition, Number(r.baseOffset)]));
    const seen = new Map<number, number>();
    return placed.map((r) => {
      const i = seen.get(r.partition) ?? 0;
      seen.set(r.partition, i + 1);
      return { partition: r.partition, offset: base.get(r.partition)! + i };
    });
  }

  /** Deletes the records of a partition below `offset` (moves its low watermark, as retention does). */
  async deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<void> {
    // kafkajs looks the partition leader up in cached metadata before anything refreshes it.
    await this.admin.fetchTopicMetadata({ topics: [topic] });
    await this.admin.deleteTopicRecords({ topic, partitions: [{ partition, offset: String(offset) }] });
  }

  /** Consumer group ids on the broker. */
  async groupIds(): Promise<string[]> {
    return (await this.admin.listGroups()).groups.map((g) => g.groupId);
  }

  /** Deletes the topics this client created and disconnects. */
  async cleanup(): Promise<void> {
    const topics = [...this.partitionCounts.keys()];
    if (topics.length > 0) await this.admin.deleteTopics({ topics }).catch(() => undefined);
    await this.producer.disconnect();
    await this.admin.disconnect();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A broker of the test's own (scripts/kafka.sh with KAFKA_NAME/KAFKA_PORT overrides: separate
 * ports, data and logs under .kafka/), for tests that stop and restart it.
 */
export class OwnBroker {
  private constructor(readonly name: string, readonly port: number, private readonly controllerPort: number) {}

  static async create(): Promise<OwnBroker> {
    return new OwnBroker(`test-${randomBytes(4).toString('hex')}`, await freePort(), await freePort());
  }

  get brokers(): string[] {
    return [`127.0.0.1:${this.port}`];
  }

  /** `scripts/kafka.sh start`; `keepData` keeps the log across a restart. Rejects with the script's output. */
  start(keepData = false): Promise<string> {
    return this.script('start', { KAFKA_KEEP_DATA: keepData ? '1' : '0' });
  }

  /** `scripts/kafka.sh stop` (SIGTERM, waits for exit). */
  stop(): Promise<string> {
    return this.script('stop');
  }

  /** Stops the broker and removes its data, logs and config. */
  async dispose(): Promise<void> {
    await this.stop().catch(() => undefined);
    for (const dir of ['data', 'logs', 'conf']) await rm(join(ROOT, '.kafka', dir, this.name), { recursive: true, force: true });
  }

  private script(command: string, env: Record<string, string> = {}): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(join(ROOT, 'scripts', 'kafka.sh'), [command], {
        env: { ...process.env, KAFKA_NAME: this.name, KAFKA_PORT: String(this.port), KAFKA_CONTROLLER_PORT: String(this.controllerPort), ...env },
        timeout: 150_000,
      }, (err, stdout, stderr) => (err ? reject(new Error(`kafka.sh ${command} failed: ${err.message}\n${stdout}${stderr}`)) : resolve(stdout)));
    });
  }
}
