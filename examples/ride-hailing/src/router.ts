/**
 * STAND-IN FOR RISINGWAVE (CDC + the event sinks), for tests and local runs where RisingWave cannot
 * run. In production nothing like this exists: RisingWave reads each service's outbox through CDC
 * and its append-only sinks (migration 6 `event_sinks`) write `events.<EventType>`.
 *
 * The router reads the outbox rows of each service database and produces each to
 * `<topicPrefix><event_type>` in exactly the bytes RisingWave's sink writes (src/consumer/sinkFormat.ts
 * encodeSinkRecord: alphabetical keys, occurred_at as `…123456Z`, payload embedded, key = the ride
 * id as text), to the partition RisingWave's librdkafka producer picks (CRC32 of the key modulo the
 * partition count: librdkafka's default `consistent_random` partitioner,
 * https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md). Rows go out in
 * (occurred_at, id) order per database. What was sent is remembered in memory only: a restarted
 * router sends everything again, which is what RisingWave does after a recovery (its Kafka sink
 * delivers at least once) and what consumers de-duplicate.
 */
import { crc32 } from 'node:zlib';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { createKafkaClient, DEFAULT_EVENT_TOPIC_PREFIX, eventTopic, javaCompatiblePartitioner } from 'wavegate/kafka';
import { encodeSinkRecord, type Logger, type OutboxRow } from 'wavegate/consumer';

/** One service database whose outbox the router forwards. */
export interface RouterSource {
  readonly name: string;
  readonly db: Pool;
}

/** Options of {@link OutboxRouter}. */
export interface OutboxRouterOptions {
  brokers: readonly string[];
  sources: readonly RouterSource[];
  log: Logger;
  /** @default 'events.' */
  topicPrefix?: string;
}

// DATE_FORMAT %f = 6 digits of microseconds; the service pools run UTC sessions (createMysqlPool).
const SELECT = `SELECT id, aggregate_type, aggregate_id, event_type, payload, trace_context,
  DATE_FORMAT(occurred_at, '%Y-%m-%dT%H:%i:%s.%fZ') AS occurred_at
FROM outbox ORDER BY occurred_at, id`;

/** Reads outboxes, writes event topics. Call connect() first, then flush() or start(). */
export class OutboxRouter {
  private readonly kafka;
  private readonly producer;
  private readonly admin;
  private readonly sent = new Map<string, Set<string>>();
  private readonly partitions = new Map<string, number>();
  private readonly log: Logger;
  private readonly prefix: string;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<number> | undefined;
  private running = false;

  constructor(private readonly o: OutboxRouterOptions) {
    this.log = o.log.child('router');
    this.prefix = o.topicPrefix ?? DEFAULT_EVENT_TOPIC_PREFIX;
    this.kafka = createKafkaClient({ brokers: o.brokers, clientId: 'outbox-router', log: this.log, retry: { retries: 5, initialMs: 100, maxMs: 2_000 }, connectionTimeoutMs: 3_000, requestTimeoutMs: 30_000 });
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: javaCompatiblePartitioner });
    this.admin = this.kafka.admin();
  }

  async connect(): Promise<void> {
    await this.admin.connect();
    await this.producer.connect();
  }

  /** Produces every outbox row not sent yet (all sources); resolves to how many were sent. */
  flush(): Promise<number> {
    // One flush at a time: a second caller waits for the running one, then runs its own.
    const run = async (): Promise<number> => {
      let n = 0;
      for (const source of this.o.sources) n += await this.flushSource(source);
      return n;
    };
    const next = (this.flushing ?? Promise.resolve(0)).catch(() => 0).then(run);
    this.flushing = next;
    return next;
  }

  private async flushSource(source: RouterSource): Promise<number> {
    let sent = this.sent.get(source.name);
    if (sent === undefined) this.sent.set(source.name, (sent = new Set()));
    const [rows] = await source.db.query<RowDataPacket[]>(SELECT);
    const fresh = rows.filter((r) => !sent.has(r['id'] as string));
    if (fresh.length === 0) return 0;
    const byTopic = new Map<string, Array<{ key: Buffer; value: Buffer; partition: number }>>();
    for (const r of fresh) {
      const row: OutboxRow = {
        id: r['id'] as string,
        aggregate_type: r['aggregate_type'] as string,
        aggregate_id: r['aggregate_id'] as string,
        event_type: r['event_type'] as string,
        // MariaDB's JSON is LONGTEXT (a string here); MySQL 8 returns it parsed.
        payload: typeof r['payload'] === 'string' ? JSON.parse(r['payload']) : r['payload'],
        occurred_at: r['occurred_at'] as string,
        trace_context: (r['trace_context'] as string | null) ?? null,
      };
      const topic = eventTopic(row.event_type, this.prefix);
      const record = encodeSinkRecord(row);
      let list = byTopic.get(topic);
      if (list === undefined) byTopic.set(topic, (list = []));
      list.push({ ...record, partition: crc32(record.key) % (await this.partitionCount(topic)) });
    }
    await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    for (const r of fresh) sent.add(r['id'] as string);
    this.log.debug({ source: source.name, events: fresh.length }, 'outbox rows forwarded');
    return fresh.length;
  }

  private async partitionCount(topic: string): Promise<number> {
    let n = this.partitions.get(topic);
    if (n === undefined) {
      const meta = await this.admin.fetchTopicMetadata({ topics: [topic] });
      n = meta.topics[0]?.partitions.length ?? 0;
      if (n === 0) throw new Error(`topic ${topic} has no partitions (create the event topics first)`);
      this.partitions.set(topic, n);
    }
    return n;
  }

  /** Flushes every `pollMs` until stop(). */
  start(pollMs = 200): void {
    this.running = true;
    const tick = () => {
      this.flush()
        .catch((err: unknown) => this.log.warn({ err }, 'router flush failed; retrying'))
        .finally(() => {
          if (this.running) this.timer = setTimeout(tick, pollMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.flushing?.catch(() => undefined);
    await this.producer.disconnect();
    await this.admin.disconnect();
  }
}
