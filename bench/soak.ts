/**
 * Soak (issue 14): `subscribers` connected subscribers, `rate` Kafka records/s and `queries`
 * GraphQL queries/s together for `minutes`, sampled every `sample` s: does the gateway's memory stay
 * flat and is nothing lost?
 *
 * What runs where:
 * - Database: a fresh `wavegate_bench_<hex>` on the local PostgreSQL (bench/pgdata.ts: the outbox,
 *   `rides` seeded rides over `riders` riders, the bundled views materialized with their indexes),
 *   dropped at the end, also on failure or deadline. It stands in for RisingWave's SQL side.
 * - Kafka: a real broker (KAFKA_BROKERS), a topic of the bench's own, the producer child of
 *   bench/kafka-fanout.ts (bench/producer.ts) at `rate` records/s, record j to rider
 *   (j × 7919) mod subscribers: one delivery per record.
 * - The gateway: startGateway over a RisingWaveEngine on that database whose change feed is the
 *   real KafkaFeed, in this process; engine queries 8 at once (the risingwave default of
 *   WAVEGATE_QUERY_CONCURRENCY, as benchConfig('risingwave') sets it).
 * - Subscribers: the graphql-ws clients of bench/wsClients.ts in a child, rider `rider-<i>` each.
 * - Queries: bench/pacer.ts in a child, open-loop `queries`/s of `trips(first: 20)` as riders
 *   rider-0 … rider-<tokens-1> in turn (one viewer's query concurrency would cap the rate).
 *
 * Each sample (a JSON line on stderr as it is taken, and all of them in the result's `series`):
 * minutes since the start; the gateway's heap used right after its latest major GC (harness
 * MajorGcFloor: the live heap, without forcing collections that would stall deliveries), the min
 * and max of heap used in the window (read every 500 ms: the garbage sawtooth), RSS, external; event-loop delay p99; deliveries in the window, their p99 latency and records still in
 * flight; queries answered/s, failed, their p99; gateway CPU.
 *
 * Verdict (`check`): after the warm-up (`warmupSeconds`, at most half the run; 120 s by default,
 * because V8 grows the old generation's limit over the first full collections, which at these rates
 * come every ~30 s, and RSS follows it: docs/benchmarks.md, "Issue 14, fourth round"), every sample's heap
 * after the latest major GC and RSS within ±`band` % of the median of those samples (and the least-squares slope, % of
 * the median per minute, for a trend the band hides), no delivery missing, no query failed.
 *
 * The plot: `node dist/bench/plot.js <result.json> docs/img/soak.png` (bench/plot.ts).
 *
 * Run: `npm run build && KAFKA_BROKERS=127.0.0.1:<port> node dist/bench/soak.js [--minutes=10]
 *       [--subscribers=10000] [--rate=500] [--queries=500] [--sample=5] [--warmupSeconds=120]
 *       [--band=10] [--tokens=50] [--maxInFlight=64] [--rides=5000] [--riders=200] [--partitions=3]
 *       [--concurrency=200] [--timeout=0 (= minutes × 60 + 300)]`
 */
import { randomBytes } from 'node:crypto';
import { RisingWaveEngine } from '../src/engine/risingwave/engine';
import { KafkaFeed } from '../src/engine/risingwave/feed/kafkaFeed';
import { startGateway, type Gateway } from '../src/gateway';
import { createKafkaClient, DEFAULT_VIEW_TOPIC_PREFIX, viewTopic } from '../src/kafka';
import { silentLogger } from '../src/log';
import { createMetrics } from '../src/metrics';
import {
  benchConfig, benchToken, deadline, emit, LoopDelay, machineLoad, MajorGcFloor, memory, note, nowMs, numberFlags, settleHub, sleep, summarize, until,
} from './harness';
import { cpuPercent, usage } from './ipc';
import { PacerProcess } from './pacer';
import { createDatabase, prepare, type BenchDatabase } from './pgdata';
import { ProducerProcess } from './producer';
import { environment, percentile, runMain } from './util';
import { SubscriberProcess, type ClientSpec } from './wsClients';

const flags = numberFlags({
  minutes: 10, subscribers: 10_000, rate: 500, queries: 500, sample: 5, warmupSeconds: 120, band: 10, tokens: 50, maxInFlight: 64,
  rides: 5_000, riders: 200, partitions: 3, concurrency: 200, timeout: 0, linger: 5,
});
const BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:19092').split(',');
const MB = 2 ** 20;

/** The query the pacer sends: the rider's 20 latest trips (the page of bench/queries.ts). */
const QUERY = JSON.stringify({
  query: 'query Trips { trips(first: 20) { edges { cursor node { id riderId driverId status requestedAt updatedAt fare { amount currency } } } pageInfo { hasNextPage endCursor } } }',
});

/** One sample of the time series. */
export interface SoakSample {
  /** Minutes since the load started. */
  min: number;
  /** Heap used after the latest major GC (null before the first): the live heap, where growth shows. */
  heapAfterMajorGcMB: number | null;
  majorGcs: number;
  heapUsedMinMB: number;
  heapUsedMaxMB: number;
  rssMB: number;
  externalMB: number;
  loopDelayP99Ms: number;
  deliveries: number;
  deliveryP99Ms: number | null;
  /** Records produced and not delivered yet (in flight at the sample). */
  inFlight: number;
  queriesPerSecond: number;
  queryFailed: number;
  queryP99Ms: number | null;
  queriesBehind: number;
  gatewayCpuPercent: number;
}

/** ±band check and trend of one series after the warm-up. */
function flatness(values: readonly number[], minutes: readonly number[], band: number) {
  if (values.length < 2) return { samples: values.length, median: null, maxDeviationPercent: null, slopePercentPerMinute: null, flat: null };
  const median = percentile(values, 50);
  const maxDev = values.reduce((a, v) => Math.max(a, Math.abs(v - median) / median), 0) * 100;
  const mx = minutes.reduce((a, b) => a + b, 0) / minutes.length;
  const my = values.reduce((a, b) => a + b, 0) / values.length;
  let num = 0;
  let den = 0;
  minutes.forEach((x, i) => {
    num += (x - mx) * (values[i]! - my);
    den += (x - mx) ** 2;
  });
  const slope = den === 0 ? 0 : num / den;
  return {
    samples: values.length,
    median: +median.toFixed(1),
    maxDeviationPercent: +maxDev.toFixed(1),
    slopePercentPerMinute: +((slope / median) * 100).toFixed(2),
    flat: maxDev <= band,
  };
}

async function main(): Promise<void> {
  const n = flags.subscribers;
  const totalSeconds = Math.round(flags.minutes * 60);
  const timeout = flags.timeout > 0 ? flags.timeout : totalSeconds + 300;
  const admin = createKafkaClient({ brokers: BROKERS, clientId: 'wavegate-bench', log: silentLogger, connectionTimeoutMs: 3_000 }).admin();
  const prefix = `bench${randomBytes(4).toString('hex')}.${DEFAULT_VIEW_TOPIC_PREFIX}`;
  const topic = viewTopic('trip_history', prefix);
  const feed = new KafkaFeed({ brokers: BROKERS, topicPrefix: prefix, views: ['trip_history'], log: silentLogger, groupPrefix: 'wavegate-bench' });
  let db: BenchDatabase | undefined;
  let gateway: Gateway | undefined;
  let engine: RisingWaveEngine | undefined;
  let producer: ProducerProcess | undefined;
  const clients = SubscriberProcess.start();
  const pacer = PacerProcess.fork();
  const loop = new LoopDelay();
  const floor = new MajorGcFloor();
  const shutdown = async () => {
    loop.stop();
    floor.stop();
    await pacer.close().catch(() => undefined);
    await clients.close().catch(() => undefined);
    await producer?.close().catch(() => undefined);
    await gateway?.stop().catch(() => undefined);
    await feed.stop().catch(() => undefined);
    await engine?.close().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await db?.drop().catch((err: unknown) => note(`could not drop ${db?.name}: ${String(err)}`));
  };
  const cancel = deadline(timeout, shutdown);
  try {
    const loadAtStart = machineLoad();
    db = await createDatabase();
    const prepared = await prepare(db, { rides: flags.rides, riders: flags.riders, materialized: true });
    note(`database ${db.name}: ${prepared.tripRows} trips (PostgreSQL ${prepared.postgres})`);
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: flags.partitions }], waitForLeaders: true });
    await feed.start();
    engine = await RisingWaveEngine.create({ databaseUrl: db.url, feed, log: silentLogger, healthIntervalMs: 60_000 });
    // Queries run 8 at once, the production default on RisingWave (WAVEGATE_QUERY_CONCURRENCY,
    // config/load.ts); with the embedded default of 1, a PostgreSQL round trip per query caps this load at ~100 queries/s.
    gateway = await startGateway(benchConfig('risingwave'), { log: silentLogger, engine, metrics: createMetrics() });
    producer = await ProducerProcess.start({ brokers: BROKERS, topic, partitions: flags.partitions, riders: n });

    const specs: ClientSpec[] = await Promise.all(Array.from({ length: n }, async (_, i) => ({ token: await benchToken(`rider-${i}`, 'rider'), variables: {} })));
    const c = await clients.connect(gateway.url, specs, flags.concurrency);
    note(`connected ${c.connected}/${n} sockets in ${c.ms} ms${c.firstError !== undefined ? ` (first error: ${c.firstError})` : ''}`);
    await settleHub(gateway.hub, c.connected);
    const tokens = await Promise.all(Array.from({ length: Math.max(1, flags.tokens) }, (_, i) => benchToken(`rider-${i % flags.riders}`, 'rider')));

    note(`soak: ${flags.rate} records/s + ${flags.queries} queries/s for ${flags.minutes} min, a sample every ${flags.sample} s`);
    const sentAt = new Map<string, number>();
    let sentTotal = 0;
    let delivered = 0;
    let unknown = 0;
    let errors = 0;
    let resyncs = 0;
    const latencies: number[] = [];
    const take = async () => {
      const r = await clients.collect(); // before the producer's: every key received was stamped by then
      const s = await producer!.collect();
      for (const [k, t] of s.sentAt) sentAt.set(k, t);
      sentTotal += s.sentAt.size;
      const window: number[] = [];
      r.keys.forEach((key, i) => {
        const t = sentAt.get(key);
        if (t === undefined) return void unknown++;
        sentAt.delete(key);
        window.push(r.times[i]! - t);
      });
      delivered += window.length;
      errors += r.errors;
      resyncs += r.resyncs;
      for (const l of window) latencies.push(l);
      return { window, closed: r.closed };
    };

    const series: SoakSample[] = [];
    const t0 = nowMs();
    const produced = producer.paced('soak', flags.rate, totalSeconds, flags.linger);
    await pacer.start({ url: gateway.url, body: QUERY, tokens, rate: flags.queries, maxInFlight: flags.maxInFlight, expectPrefix: '{"data":{"trips"' });
    let closedByServer = 0;
    let cpuFrom = await usage();
    loop.take();
    while (nowMs() - t0 < totalSeconds * 1_000) {
      const windowEnd = Math.min(t0 + totalSeconds * 1_000, nowMs() + flags.sample * 1_000);
      let heapMin = Infinity;
      let heapMax = 0;
      while (nowMs() < windowEnd) {
        const h = process.memoryUsage().heapUsed;
        heapMin = Math.min(heapMin, h);
        heapMax = Math.max(heapMax, h);
        await sleep(Math.min(500, Math.max(1, windowEnd - nowMs())));
      }
      const m = memory();
      const d = await take();
      closedByServer = d.closed;
      const q = await pacer.sample();
      const cpuTo = await usage();
      const at = nowMs();
      const gc = floor.take();
      const sample: SoakSample = {
        min: +((at - t0) / 60_000).toFixed(3),
        heapAfterMajorGcMB: gc.heapUsed === null ? null : +(gc.heapUsed / MB).toFixed(1),
        majorGcs: gc.majorGcs,
        heapUsedMinMB: +(Math.min(heapMin, m.heapUsed) / MB).toFixed(1),
        heapUsedMaxMB: +(Math.max(heapMax, m.heapUsed) / MB).toFixed(1),
        rssMB: +(m.rss / MB).toFixed(1),
        externalMB: +(m.external / MB).toFixed(1),
        loopDelayP99Ms: loop.take().p99,
        deliveries: d.window.length,
        deliveryP99Ms: d.window.length === 0 ? null : +percentile(d.window, 99).toFixed(1),
        inFlight: sentTotal - delivered,
        queriesPerSecond: Math.round(q.answered / flags.sample),
        queryFailed: q.failed,
        queryP99Ms: q.latencyMs.p99,
        queriesBehind: q.behind,
        gatewayCpuPercent: cpuPercent(cpuFrom, cpuTo, flags.sample),
      };
      cpuFrom = cpuTo;
      series.push(sample);
      process.stderr.write(`${JSON.stringify({ soakSample: sample, ...(q.firstFailure !== undefined ? { firstQueryFailure: q.firstFailure } : {}) })}\n`);
    }
    const run = await produced;
    const queries = await pacer.stop();
    await until(async () => {
      await take();
      return delivered >= run.sent;
    }, 30_000);
    const missing = run.sent - delivered;

    const warm = Math.min(flags.warmupSeconds, totalSeconds / 2) / 60;
    const after = series.filter((s) => s.min >= warm);
    const floored = after.filter((s) => s.heapAfterMajorGcMB !== null);
    const heap = flatness(floored.map((s) => s.heapAfterMajorGcMB!), floored.map((s) => s.min), flags.band);
    const rss = flatness(after.map((s) => s.rssMB), after.map((s) => s.min), flags.band);
    const check = {
      warmupMinutes: +warm.toFixed(2),
      bandPercent: flags.band,
      heapAfterMajorGc: heap,
      rss,
      nothingLost: missing === 0 && errors === 0 && resyncs === 0 && closedByServer === 0,
      queriesAllAnswered: queries.failed === 0,
      pass: heap.flat === true && rss.flat === true && missing === 0 && closedByServer === 0 && queries.failed === 0,
    };
    note(`soak: heap ${heap.flat ? 'flat' : 'NOT flat'} (±${heap.maxDeviationPercent} %), RSS ${rss.flat ? 'flat' : 'NOT flat'} (±${rss.maxDeviationPercent} %), missing ${missing}, query failures ${queries.failed}`);

    emit({
      bench: 'soak',
      ...environment(),
      machineLoad: { start: loadAtStart, end: machineLoad() },
      engine: 'RisingWaveEngine (SQL on a seeded local PostgreSQL database, materialized views) + KafkaFeed on a real broker',
      database: { rides: flags.rides, riders: flags.riders, ...prepared },
      subscribers: c.connected,
      connectFailed: c.failed,
      minutes: flags.minutes,
      records: { targetPerSecond: flags.rate, sent: run.sent, achievedPerSecond: Math.round(run.sent / run.seconds), delivered, missing, unknown, errors, resyncs, closedByServer, latencyMs: summarize(latencies) },
      queries: {
        targetPerSecond: flags.queries, viewers: tokens.length, ...queries, unansweredAtStop: queries.sent - queries.ok - queries.failed,
        achievedPerSecond: Math.round(queries.ok / totalSeconds), query: 'trips(first: 20) as a rider',
      },
      check,
      sampleSeconds: flags.sample,
      series,
    });
  } finally {
    cancel();
    await shutdown();
  }
}

runMain(main);
