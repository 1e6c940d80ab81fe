/**
 * Kafka record → websocket subscriber latency, deliveries/s and memory per idle subscriber, with
 * 10,000 connected subscribers (issue 4).
 *
 * What runs where, and what stands in for what:
 * - A real Kafka broker (scripts/kafka.sh; your own instance, see docs/benchmarks.md). The bench
 *   creates its own topic `bench<hex>.view.trip_history` (`partitions` partitions) and deletes it.
 * - RisingWave's sink is stood in for by a kafkajs producer in a child process of its own
 *   (bench/producer.ts), writing FORMAT UPSERT ENCODE JSON records for trip_history as the sink
 *   does, keyed by trip_id, partition = CRC32(key) mod partitions.
 * - The gateway: startGateway over a RisingWaveEngine whose change feed is the real KafkaFeed
 *   (production defaults). The engine's SQL side points at the local PostgreSQL
 *   (WAVEGATE_BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres) and is not
 *   exercised: rider subscriptions on their own riderId send no SQL.
 * - Subscribers: a child process (bench/wsClients.ts), `subscribers` riders, one socket and one
 *   `tripUpdated` subscription each, with their own token.
 *
 * Latency = arrival in the subscriber child's sink − the moment the record was handed to
 * `producer.send` in the producer child (CLOCK_MONOTONIC in both); so it includes the produce round trip,
 * the broker, the consumer's fetch, decode, hub routing, GraphQL execution of the payload, the
 * graphql-ws frame and the client parse.
 *
 * Phases: memory (idle), steady `rateLow` and `rateHigh` records/s for `seconds` s each (rider ids
 * spread over all subscribers, one delivery per record), then a burst of `burst` records produced as
 * fast as possible (maximum deliveries/s). Memory per idle subscriber = (heap or RSS after a full GC
 * with every subscriber connected and idle − the same with none) / subscribers; run with
 * `node --expose-gc` (without it, memory is reported as null).
 *
 * Run: `npm run build && KAFKA_BROKERS=127.0.0.1:<port> node --expose-gc dist/bench/kafka-fanout.js
 *       [--subscribers=10000] [--partitions=3] [--rateLow=500] [--rateHigh=2000] [--seconds=10]
 *       [--burst=20000] [--concurrency=200] [--warmup=200] [--timeout=175]`
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { RisingWaveEngine } from '../src/engine/risingwave/engine';
import { startGateway, type Gateway } from '../src/gateway';
import { silentLogger } from '../src/log';
import { KafkaFeed } from '../src/engine/risingwave/feed/kafkaFeed';
import { createKafkaClient, DEFAULT_VIEW_TOPIC_PREFIX, viewTopic } from '../src/kafka';
import {
  benchConfig, benchToken, deadline, emit, fullGc, LoopDelay, machineLoad, note, nowMs, numberFlags, recordFeedArrivals,
  sleep, splitAtFeed, summarize, until, type FeedArrivals,
} from './harness';
import { cpuPercent, usage, type Usage } from './ipc';
import { ProducerProcess, type ProduceRun } from './producer';
import { environment, runMain } from './util';
import { match, SubscriberProcess, type ClientSpec, type Receipts } from './wsClients';

const flags = numberFlags({
  subscribers: 10_000, partitions: 3, rateLow: 500, rateHigh: 2_000, seconds: 10, burst: 20_000, concurrency: 200, warmup: 200, timeout: 175,
  heapSnapshot: 0, memoryOnly: 0,
});
const BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:19092').split(',');
const PG_URL = process.env['WAVEGATE_BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

interface Procs {
  clients: SubscriberProcess;
  producer: ProducerProcess;
  /** When the KafkaFeed handed each change to its listeners (gateway process). */
  feedAt: FeedArrivals;
  loop: LoopDelay;
}

/** CPU readings of the three processes. */
async function readings(p: Procs): Promise<{ at: number; gateway: Usage; clients: Usage; producer: Usage }> {
  const [clients, producer] = await Promise.all([p.clients.usage(), p.producer.usage()]);
  return { at: nowMs(), gateway: await usage(), clients, producer };
}

/** Produces with `produce`, waits until every record was delivered (or 30 s passed), and sums up. */
async function phase(p: Procs, produce: () => Promise<ProduceRun>): Promise<Record<string, unknown>> {
  const from = await readings(p);
  p.loop.take();
  const run = await produce();
  await until(async () => (await p.clients.count()) >= run.sent, 30_000);
  const to = await readings(p);
  const loopDelayMs = p.loop.take();
  const r: Receipts = await p.clients.collect();
  const sent = await p.producer.collect();
  const m = match(r, sent.sentAt);
  const split = splitAtFeed(r.keys, r.times, sent.sentAt, p.feedAt);
  p.feedAt.clear();
  const seconds = (to.at - from.at) / 1_000;
  return {
    records: run.sent,
    achievedRecordsPerSecond: Math.round(run.sent / run.seconds),
    deliveries: m.latencies.length,
    missing: run.sent - m.latencies.length,
    unknown: m.unknown,
    errors: r.errors,
    resyncs: r.resyncs,
    closedByServer: r.closed,
    latencyMs: summarize(m.latencies),
    // producer.send → KafkaFeed hands the change to the hub; then hub → client sink.
    producerToFeedMs: split.toFeedMs,
    feedToClientMs: split.feedToClientMs,
    feedBatchSize: split.feedBatch,
    deliveriesPerSecond: Math.round(m.latencies.length / ((m.lastAt - run.start) / 1_000)),
    produceAckMs: summarize(sent.ackMs),
    cpuPercentOfOneCore: {
      gateway: cpuPercent(from.gateway, to.gateway, seconds),
      clients: cpuPercent(from.clients, to.clients, seconds),
      producer: cpuPercent(from.producer, to.producer, seconds),
    },
    gatewayEventLoopDelayMs: loopDelayMs,
  };
}

async function waitForHub(gateway: Gateway, size: number): Promise<void> {
  if (!(await until(() => gateway.hub.size === size, 60_000))) throw new Error(`the hub has ${gateway.hub.size} subscriptions, expected ${size}`);
}

function memory() {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

async function main(): Promise<void> {
  const n = flags.subscribers;
  const admin = createKafkaClient({ brokers: BROKERS, clientId: 'wavegate-bench', log: silentLogger, connectionTimeoutMs: 3_000 }).admin();
  const prefix = `bench${randomBytes(4).toString('hex')}.${DEFAULT_VIEW_TOPIC_PREFIX}`;
  const topic = viewTopic('trip_history', prefix);
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: flags.partitions }], waitForLeaders: true });
  const feed = new KafkaFeed({ brokers: BROKERS, topicPrefix: prefix, views: ['trip_history'], log: silentLogger, groupPrefix: 'wavegate-bench' });
  let gateway: Gateway | undefined;
  let engine: RisingWaveEngine | undefined;
  let procs: Procs | undefined;
  const clients = SubscriberProcess.start();
  const shutdown = async () => {
    await clients.close().catch(() => undefined);
    procs?.loop.stop();
    await procs?.producer.close().catch(() => undefined);
    await gateway?.stop().catch(() => undefined);
    await feed.stop().catch(() => undefined);
    await engine?.close().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  };
  const cancel = deadline(flags.timeout, shutdown);
  const feedAt = recordFeedArrivals(feed);
  try {
    const loadAtStart = machineLoad();
    await feed.start();
    engine = await RisingWaveEngine.create({ databaseUrl: PG_URL, feed, log: silentLogger, healthIntervalMs: 60_000 });
    gateway = await startGateway(benchConfig('risingwave'), { log: silentLogger, engine });
    procs = { clients, producer: await ProducerProcess.start({ brokers: BROKERS, topic, partitions: flags.partitions, riders: n }), feedAt, loop: new LoopDelay() };
    const specs: ClientSpec[] = await Promise.all(Array.from({ length: n }, async (_, i) =>
      ({ token: await benchToken(`rider-${i}`, 'rider'), variables: {} })));

    // Warm-up: every code path once (connect, subscribe, deliver, disconnect), so the baseline is not
    // cold. The producer's first `warm` records go to riders (j × 7919) mod n: connect exactly those.
    const warm = Math.min(flags.warmup, n);
    const warmRiders = [...new Set(Array.from({ length: warm }, (_, j) => (j * 7_919) % n))];
    await clients.connect(gateway.url, warmRiders.map((i) => specs[i]!), flags.concurrency);
    await waitForHub(gateway, warmRiders.length);
    await procs.producer.burst('warm', warm, warm);
    await until(async () => (await clients.count()) >= warm, 15_000);
    await clients.collect();
    await procs.producer.collect();
    feedAt.clear();
    await clients.disconnect();
    await waitForHub(gateway, 0);

    // Memory: none vs all subscribed and idle.
    const gcOn = await fullGc();
    const snapshots: string[] = [];
    if (flags.heapSnapshot > 0) snapshots.push(writeHeapSnapshot(join(tmpdir(), `wavegate-fanout-${process.pid}-0.heapsnapshot`)));
    const before = memory();
    const clientsBefore = await clients.usage();
    const c = await clients.connect(gateway.url, specs, flags.concurrency);
    note(`connected ${c.connected}/${n} sockets in ${c.ms} ms${c.firstError !== undefined ? ` (first error: ${c.firstError})` : ''}`);
    await waitForHub(gateway, c.connected);
    await sleep(2_000);
    await fullGc();
    const after = memory();
    if (flags.heapSnapshot > 0) {
      snapshots.push(writeHeapSnapshot(join(tmpdir(), `wavegate-fanout-${process.pid}-${c.connected}.heapsnapshot`)));
      note(`heap snapshots: node dist/bench/heapdiff.js ${snapshots.join(' ')} --per=${c.connected}`);
    }
    const clientsAfter = await clients.usage();
    const per = (k: keyof ReturnType<typeof memory>) => Math.round((after[k] - before[k]) / c.connected);
    const memoryResult = gcOn ? {
      subscribers: c.connected,
      bytesPerSubscriber: { heapUsed: per('heapUsed'), rss: per('rss'), external: per('external') },
      gatewayProcess: { before, after },
      clientProcessRssPerClient: Math.round((clientsAfter.memory.rss - clientsBefore.memory.rss) / c.connected),
    } : null;
    if (!gcOn) note('run with node --expose-gc for the memory figures');
    if (flags.memoryOnly > 0) {
      emit({ bench: 'kafka-fanout', ...environment(), machineLoad: { start: loadAtStart, end: machineLoad() }, subscribers: c.connected, connectFailed: c.failed, memory: memoryResult, heapSnapshots: snapshots });
      return;
    }

    const steady: Record<string, unknown> = {};
    for (const [name, rate] of [['low', flags.rateLow], ['high', flags.rateHigh]] as const) {
      note(`steady ${name}: ${rate} records/s for ${flags.seconds} s`);
      steady[`${rate}PerSecond`] = await phase(procs, () => procs!.producer.paced(name, rate, flags.seconds));
    }
    note(`burst: ${flags.burst} records, one 1,000-record send in flight at a time`);
    const burst = await phase(procs, () => procs!.producer.burst('burst', flags.burst));

    emit({
      bench: 'kafka-fanout',
      ...environment(),
      machineLoad: { start: loadAtStart, end: machineLoad() },
      engine: 'RisingWaveEngine (SQL side on local PostgreSQL, unused) + KafkaFeed (production defaults) on a real broker',
      broker: { brokers: BROKERS, partitions: flags.partitions },
      source: 'kafkajs producer in its own child process, RisingWave UPSERT JSON records for trip_history, acks=-1',
      clients: 'child process (graphql-ws client over ws), one socket + one tripUpdated subscription per rider',
      latency: 'handed to producer.send → payload in the client sink (CLOCK_MONOTONIC)',
      subscribers: c.connected,
      connectFailed: c.failed,
      connectMs: c.ms,
      memory: memoryResult,
      steady,
      burst,
    });
  } finally {
    cancel();
    await shutdown();
  }
}

runMain(main);
