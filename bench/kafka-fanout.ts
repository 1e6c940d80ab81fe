/**
 * Kafka record → websocket subscriber latency, deliveries/s, broadcast and memory per idle
 * subscriber, with 10,000 connected subscribers (issues 4 and 14).
 *
 * What runs where, and what stands in for what:
 * - A real Kafka broker (scripts/kafka.sh; your own instance, see docs/benchmarks.md). The bench
 *   creates its own topic `bench<hex>.view.trip_history` (`partitions` partitions) and deletes it.
 * - RisingWave's sink is stood in for by a kafkajs producer in a child process of its own
 *   (bench/producer.ts), writing FORMAT UPSERT ENCODE JSON records for trip_history as the sink
 *   does, keyed by trip_id, partition = CRC32(key) mod partitions.
 * - The gateway: startGateway over a RisingWaveEngine whose change feed is the real KafkaFeed
 *   (production defaults), in this process, with a metrics registry of the bench's own (read for the
 *   fan-out legs). The engine's SQL side points at the local PostgreSQL (WAVEGATE_BENCH_PG_URL,
 *   default postgres://postgres@127.0.0.1:5432/postgres) and is not exercised: trip subscriptions
 *   send no SQL.
 * - Subscribers: a child process (bench/wsClients.ts), one socket and one `tripUpdated`
 *   subscription each, each with a token of its own subject (so the per-subject socket cap,
 *   WAVEGATE_MAX_SOCKETS_PER_SUBJECT, never refuses one; `closedByServer` must stay 0).
 *
 * Latency = arrival in the subscriber child's sink − the moment the record became due in the
 * producer child (paced phases: sent every `linger` ms, librdkafka's default linger.ms of 5; see
 * bench/producer.ts) or was handed to `producer.send` (burst, broadcast), CLOCK_MONOTONIC in both;
 * so it includes the linger, the produce round
 * trip, the broker, the consumer's fetch, decode, hub routing, GraphQL execution of the payload, the
 * graphql-ws frame and the client parse. It is split at the feed (producer → KafkaFeed hands the
 * change over; then → client), and the gateway's own legs are read from its
 * `wavegate_fanout_leg_seconds{leg=fetch|decode|hub|execute|write}` histogram per phase (null on
 * code without it). Server side, every write to a client socket is stamped (harness
 * watchSocketWrites).
 *
 * Phases (default mode):
 *  1. memory: heap, RSS and external per idle subscriber = (after a full GC with `subscribers`
 *     riders connected and idle − the same with none) / subscribers; run with `node --expose-gc`
 *     (without it, memory is null). `--heapSnapshot=1` also writes V8 heap snapshots of both
 *     states to the temp dir (read them with bench/heapdiff.ts); `--memoryOnly=1` stops here.
 *  2. steady: `rateLow` then `rateHigh` records/s for `seconds` s each, rider ids spread over all
 *     subscribers, one delivery per record.
 *  3. burst: `burst` records produced as fast as possible (maximum deliveries/s, one per record).
 *  4. broadcast (`broadcast` > 0): the riders leave; `subscribers` ops sockets (subjects
 *     `ops-<i>`) subscribe to all trips (`tripUpdated` without arguments), and `broadcast` records
 *     are produced back to back, one per send: every record reaches every socket. Deliveries/s =
 *     deliveries ÷ (last arrival − first send); server side: deliveries ÷ (last client-socket write −
 *     first send), the write being when the gateway handed its last frame to a socket. Run with
 *     graphql-ws clients and then with lean clients (wsClients.ts): at
 *     ≥ 100,000 frames/s on 2 cores graphql-ws's client can be the bottleneck, and both are
 *     reported (`--lean=0` graphql-ws only, `1` lean only, `2` both), with each process's CPU
 *     µs per delivery (1e6 ÷ that = deliveries/s one core of it could do).
 * A phase whose rate or count is 0 is skipped (`--rateLow=0 --rateHigh=0 --burst=0`: memory and
 * broadcast only).
 *
 * Sweep mode (`--sweep=1`): the riders connect, then steady steps of `seconds` s at sweepFrom,
 * sweepFrom + sweepStep, … up to sweepTo records/s, stopping at the first step that fails
 * (p99 > `sweepP99` ms, a missing delivery, or less than 95 % of the rate produced); reports the
 * highest passing rate.
 *
 * Run: `npm run build && KAFKA_BROKERS=127.0.0.1:<port> node --expose-gc dist/bench/kafka-fanout.js
 *       [--subscribers=10000] [--partitions=3] [--rateLow=500] [--rateHigh=2000] [--seconds=10]
 *       [--burst=20000] [--broadcast=5] [--lean=2] [--concurrency=200] [--warmup=200] [--timeout=420]
 *       [--heapSnapshot=0] [--memoryOnly=0] [--linger=5]`
 * Sweep: `… kafka-fanout.js --sweep=1 [--sweepFrom=2000] [--sweepStep=2000] [--sweepTo=12000] [--sweepP99=100] [--seconds=10]`
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { RisingWaveEngine } from '../src/engine/risingwave/engine';
import { startGateway, type Gateway } from '../src/gateway';
import { silentLogger } from '../src/log';
import { createMetrics, type GatewayMetrics } from '../src/metrics';
import { KafkaFeed } from '../src/engine/risingwave/feed/kafkaFeed';
import { createKafkaClient, DEFAULT_VIEW_TOPIC_PREFIX, viewTopic } from '../src/kafka';
import {
  benchConfig, benchToken, deadline, emit, fullGc, legDelta, legState, LoopDelay, machineLoad, memory, note, nowMs, numberFlags,
  portOf, recordFeedArrivals, settleHub, sleep, splitAtFeed, summarize, until, watchSocketWrites, type FeedArrivals, type SocketWrites,
} from './harness';
import { brokerCpuMicros, cpuPercent, usage, type Usage } from './ipc';
import { ProducerProcess, type ProduceRun } from './producer';
import { environment, runMain } from './util';
import { match, SubscriberProcess, type ClientKind, type ClientSpec, type Receipts } from './wsClients';

const flags = numberFlags({
  subscribers: 10_000, partitions: 3, rateLow: 500, rateHigh: 2_000, seconds: 10, burst: 20_000, broadcast: 5, lean: 2,
  concurrency: 200, warmup: 200, timeout: 420, heapSnapshot: 0, memoryOnly: 0,
  sweep: 0, sweepFrom: 2_000, sweepStep: 2_000, sweepTo: 12_000, sweepP99: 100, linger: 5,
});
const BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:19092').split(',');
const PG_URL = process.env['WAVEGATE_BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

interface Procs {
  clients: SubscriberProcess;
  producer: ProducerProcess;
  /** When the KafkaFeed handed each change to its listeners (gateway process). */
  feedAt: FeedArrivals;
  loop: LoopDelay;
  metrics: GatewayMetrics;
  writes: { take(): SocketWrites };
}

/** CPU readings of the three processes and of the broker (when scripts/kafka.sh's pid file for KAFKA_NAME is here). */
async function readings(p: Procs): Promise<{ at: number; gateway: Usage; clients: Usage; producer: Usage; brokerMicros: number | undefined }> {
  const [clients, producer] = await Promise.all([p.clients.usage(), p.producer.usage()]);
  return { at: nowMs(), gateway: await usage(), clients, producer, brokerMicros: brokerCpuMicros() };
}

/**
 * Produces with `produce`, waits until `expected(run)` payloads arrived (or `waitMs` passed), and
 * sums up: latency, its split at the feed, the gateway's legs, socket writes, CPU, event-loop delay.
 */
async function phase(p: Procs, produce: () => Promise<ProduceRun>, fanOut = 1, waitMs = 30_000): Promise<Record<string, unknown>> {
  const loadAtStart = machineLoad();
  const legsFrom = await legState(p.metrics.registry);
  p.writes.take();
  const from = await readings(p);
  p.loop.take();
  const run = await produce();
  const expected = run.sent * fanOut;
  await until(async () => (await p.clients.count()) >= expected, waitMs);
  const to = await readings(p);
  const loopDelayMs = p.loop.take();
  const writes = p.writes.take();
  const legs = legDelta(legsFrom, await legState(p.metrics.registry));
  const r: Receipts = await p.clients.collect();
  const sent = await p.producer.collect();
  const m = match(r, sent.sentAt);
  const split = splitAtFeed(r.keys, r.times, sent.sentAt, p.feedAt);
  p.feedAt.clear();
  const seconds = (to.at - from.at) / 1_000;
  return {
    records: run.sent,
    achievedRecordsPerSecond: Math.round(run.sent / run.seconds),
    expectedDeliveries: expected,
    deliveries: m.latencies.length,
    missing: expected - m.latencies.length,
    unknown: m.unknown,
    errors: r.errors,
    resyncs: r.resyncs,
    wrongIds: r.wrongIds,
    closedByServer: r.closed,
    latencyMs: summarize(m.latencies),
    // producer.send → KafkaFeed hands the change to the hub; then hub → client sink.
    producerToFeedMs: split.toFeedMs,
    feedToClientMs: split.feedToClientMs,
    feedBatchSize: split.feedBatch,
    gatewayLegs: legs,
    // Deliveries ÷ (last arrival − first send), client side; ÷ (last client-socket write − first send), server side.
    deliveriesPerSecond: Math.round(m.latencies.length / ((m.lastAt - run.start) / 1_000)),
    // ws writes a frame's header and payload in two write calls (corked): calls are not frames.
    serverSide: {
      socketWriteCalls: writes.writes,
      bytesWritten: writes.bytes,
      lastWriteAfterFirstSendMs: writes.lastAt === null ? null : +(writes.lastAt - run.start).toFixed(1),
      deliveriesPerSecond: writes.lastAt === null ? null : Math.round(m.latencies.length / ((writes.lastAt - run.start) / 1_000)),
    },
    lastArrivalAfterFirstSendMs: Number.isFinite(m.lastAt) ? +(m.lastAt - run.start).toFixed(1) : null,
    produceAckMs: summarize(sent.ackMs),
    cpuPercentOfOneCore: {
      gateway: cpuPercent(from.gateway, to.gateway, seconds),
      clients: cpuPercent(from.clients, to.clients, seconds),
      producer: cpuPercent(from.producer, to.producer, seconds),
      broker: from.brokerMicros === undefined || to.brokerMicros === undefined ? null : Math.round((to.brokerMicros - from.brokerMicros) / 1e4 / seconds),
    },
    // CPU per delivery: 1e6 ÷ this is what one core of that process could deliver (or take) per second.
    cpuMicrosPerDelivery: m.latencies.length === 0 ? null : {
      gateway: Math.round((to.gateway.cpuMicros - from.gateway.cpuMicros) / m.latencies.length),
      clients: Math.round((to.clients.cpuMicros - from.clients.cpuMicros) / m.latencies.length),
    },
    gatewayEventLoopDelayMs: loopDelayMs,
    machineLoad: { start: loadAtStart, end: machineLoad() },
  };
}

async function waitForHub(gateway: Gateway, size: number): Promise<void> {
  await settleHub(gateway.hub, size);
}

/** Connects `specs` and checks every one was admitted (the socket caps refuse none). */
async function connectAll(gateway: Gateway, clients: SubscriberProcess, specs: ClientSpec[], kind: ClientKind, what: string) {
  const c = await clients.connect(gateway.url, specs, flags.concurrency, kind);
  note(`${what}: connected ${c.connected}/${specs.length} ${kind} sockets in ${c.ms} ms${c.firstError !== undefined ? ` (first error: ${c.firstError})` : ''}`);
  if (c.failed > 0) note(`${what}: ${c.failed} sockets were not admitted: the figures are for ${c.connected}`);
  await waitForHub(gateway, c.connected);
  return c;
}

/** Did a steady step hold: p99 within the bound, nothing missing, ≥ 95 % of the rate produced. */
function passes(r: Record<string, unknown>, rate: number): boolean {
  const p99 = (r['latencyMs'] as { p99: number }).p99;
  return p99 <= flags.sweepP99 && r['missing'] === 0 && (r['achievedRecordsPerSecond'] as number) >= 0.95 * rate;
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
  let writes: ReturnType<typeof watchSocketWrites> | undefined;
  const clients = SubscriberProcess.start();
  const shutdown = async () => {
    writes?.stop();
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
    const metrics = createMetrics();
    engine = await RisingWaveEngine.create({ databaseUrl: PG_URL, feed, log: silentLogger, healthIntervalMs: 60_000 });
    gateway = await startGateway(benchConfig('risingwave'), { log: silentLogger, engine, metrics });
    writes = watchSocketWrites(portOf(gateway.url));
    procs = {
      clients, producer: await ProducerProcess.start({ brokers: BROKERS, topic, partitions: flags.partitions, riders: n }),
      feedAt, loop: new LoopDelay(), metrics, writes,
    };
    const p = procs;
    const legsAvailable = (await legState(metrics.registry)) !== null;
    if (!legsAvailable) note('this gateway has no wavegate_fanout_leg_seconds: gatewayLegs are null');
    const specs: ClientSpec[] = await Promise.all(Array.from({ length: n }, async (_, i) =>
      ({ token: await benchToken(`rider-${i}`, 'rider'), variables: {} })));

    // Warm-up: every code path once (connect, subscribe, deliver, disconnect), so the baseline is not
    // cold. The producer's first `warm` records go to riders (j × 7919) mod n: connect exactly those.
    const warm = Math.min(flags.warmup, n);
    const warmRiders = [...new Set(Array.from({ length: warm }, (_, j) => (j * 7_919) % n))];
    await clients.connect(gateway.url, warmRiders.map((i) => specs[i]!), flags.concurrency);
    await waitForHub(gateway, warmRiders.length);
    await p.producer.burst('warm', warm, warm);
    await until(async () => (await clients.count()) >= warm, 15_000);
    await clients.collect();
    await p.producer.collect();
    feedAt.clear();
    await clients.disconnect();
    await waitForHub(gateway, 0);
    const common = {
      bench: 'kafka-fanout',
      ...environment(),
      engine: 'RisingWaveEngine (SQL side on local PostgreSQL, unused) + KafkaFeed (production defaults) on a real broker',
      broker: { brokers: BROKERS, partitions: flags.partitions },
      source: 'kafkajs producer in its own child process, RisingWave UPSERT JSON records for trip_history, acks=-1',
      latency: 'handed to producer.send → payload in the client sink (CLOCK_MONOTONIC)',
      legsMetric: legsAvailable ? 'wavegate_fanout_leg_seconds' : null,
    };

    if (flags.sweep > 0) {
      const c = await connectAll(gateway, clients, specs, 'graphql-ws', 'sweep');
      const steps: Array<Record<string, unknown>> = [];
      let highest: number | null = null;
      for (let rate = flags.sweepFrom; rate <= flags.sweepTo; rate += Math.max(1, flags.sweepStep)) {
        note(`sweep: ${rate} records/s for ${flags.seconds} s`);
        const r = await phase(p, () => p.producer.paced(`sweep${rate}`, rate, flags.seconds, flags.linger));
        const ok = passes(r, rate);
        steps.push({ rate, pass: ok, ...r });
        if (!ok) break;
        highest = rate;
      }
      emit({
        ...common, mode: 'sweep', machineLoad: { start: loadAtStart, end: machineLoad() },
        clients: 'child process (graphql-ws client over ws), one socket + one tripUpdated subscription per rider',
        subscribers: c.connected, connectFailed: c.failed,
        criterion: { p99MsAtMost: flags.sweepP99, missing: 0, producedAtLeastPercentOfRate: 95 },
        highestPassingRecordsPerSecond: highest, steps,
      });
      return;
    }

    // Memory: none vs all subscribed and idle.
    const gcOn = await fullGc();
    const snapshots: string[] = [];
    if (flags.heapSnapshot > 0) snapshots.push(writeHeapSnapshot(join(tmpdir(), `wavegate-fanout-${process.pid}-0.heapsnapshot`)));
    const before = memory();
    const clientsBefore = await clients.usage();
    const c = await connectAll(gateway, clients, specs, 'graphql-ws', 'riders');
    await sleep(2_000);
    await fullGc();
    const after = memory();
    if (flags.heapSnapshot > 0) {
      snapshots.push(writeHeapSnapshot(join(tmpdir(), `wavegate-fanout-${process.pid}-${c.connected}.heapsnapshot`)));
      note(`heap snapshots: node --max-old-space-size=4096 dist/bench/heapdiff.js ${snapshots.join(' ')} --per=${c.connected}`);
    }
    const clientsAfter = await clients.usage();
    const per = (k: keyof ReturnType<typeof memory>) => Math.round((after[k] - before[k]) / c.connected);
    const memoryResult = gcOn ? {
      subscribers: c.connected,
      bytesPerSubscriber: { heapUsed: per('heapUsed'), heapTotal: per('heapTotal'), rss: per('rss'), external: per('external') },
      gatewayProcess: { before, after },
      clientProcessRssPerClient: Math.round((clientsAfter.memory.rss - clientsBefore.memory.rss) / c.connected),
    } : null;
    if (!gcOn) note('run with node --expose-gc for the memory figures');
    if (flags.memoryOnly > 0) {
      emit({ ...common, mode: 'memory', machineLoad: { start: loadAtStart, end: machineLoad() }, subscribers: c.connected, connectFailed: c.failed, memory: memoryResult, heapSnapshots: snapshots });
      return;
    }

    const steady: Record<string, unknown> = {};
    for (const [name, rate] of [['low', flags.rateLow], ['high', flags.rateHigh]] as const) {
      if (rate === 0) continue;
      note(`steady ${name}: ${rate} records/s for ${flags.seconds} s`);
      steady[`${rate}PerSecond`] = await phase(p, () => p.producer.paced(name, rate, flags.seconds, flags.linger));
    }
    let burst: Record<string, unknown> | null = null;
    if (flags.burst > 0) {
      note(`burst: ${flags.burst} records, one 1,000-record send in flight at a time`);
      burst = await phase(p, () => p.producer.burst('burst', flags.burst));
    }
    const idle = await clients.collect();
    await clients.disconnect();
    await waitForHub(gateway, 0);

    // Broadcast: every socket gets every change.
    const broadcast: Record<string, unknown> = {};
    if (flags.broadcast > 0) {
      const ops: ClientSpec[] = await Promise.all(Array.from({ length: n }, async (_, i) => ({ token: await benchToken(`ops-${i}`, 'ops'), variables: {} })));
      const kinds: ClientKind[] = flags.lean === 0 ? ['graphql-ws'] : flags.lean === 1 ? ['lean'] : ['graphql-ws', 'lean'];
      for (const kind of kinds) {
        const b = await connectAll(gateway, clients, ops, kind, `broadcast (${kind})`);
        await sleep(500);
        note(`broadcast (${kind}): ${flags.broadcast} records back to back, each to all ${b.connected} sockets`);
        broadcast[kind] = {
          sockets: b.connected, connectFailed: b.failed, connectMs: b.ms, changes: flags.broadcast,
          ...await phase(p, () => p.producer.burst(`bcast-${kind}`, flags.broadcast, 1), b.connected, 60_000),
        };
        await clients.disconnect();
        await waitForHub(gateway, 0);
      }
    }

    emit({
      ...common,
      mode: 'default',
      machineLoad: { start: loadAtStart, end: machineLoad() },
      clients: 'child process: graphql-ws client over ws (riders, broadcast graphql-ws) or the lean bench client (broadcast lean), one socket + one tripUpdated subscription each',
      subscribers: c.connected,
      connectFailed: c.failed,
      connectMs: c.ms,
      closedByServer: idle.closed,
      memory: memoryResult,
      steady,
      burst,
      broadcast: flags.broadcast > 0 ? broadcast : null,
    });
  } finally {
    cancel();
    await shutdown();
  }
}

runMain(main);
