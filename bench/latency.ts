/**
 * Outbox commit → subscriber latency on the embedded engine (issue 2).
 *
 * The gateway (startGateway over an EmbeddedEngine: PGlite + pg_ivm in process) runs here; the
 * subscribers run in a child process (bench/wsClients.ts), one graphql-ws socket and one
 * `tripUpdated` subscription each. Outbox events are written here, one event per transaction
 * (writeEvent inside engine.transaction, as services write them), at a steady rate.
 *
 * Latency = arrival in the child's subscription sink − the moment `engine.transaction` resolved
 * here (CLOCK_MONOTONIC in both processes). The path measured is the whole real one: commit →
 * pg_ivm view maintenance already done in the transaction → change-log trigger + NOTIFY → feed
 * reads the change log → hub routes by rider_id → GraphQL execution of the payload → graphql-ws
 * frame → loopback → client parse. Each payload is matched to its write by `<tripId>|<updatedAt>`.
 *
 * Phases:
 *  1. per-rider: `subscribers` riders, each with their own token, subscribed to their own trips;
 *     events round-robin over one ride per rider, so each event reaches exactly one subscriber.
 *  2. hot rider: `subscribers` ops sockets all subscribed to one rider's trips; each event reaches
 *     every subscriber (fan-out cost). Each socket is a different ops user (subject `ops-<i>`): the
 *     gateway caps the sockets of one subject (WAVEGATE_MAX_SOCKETS_PER_SUBJECT, 20 by default),
 *     so with a single ops token only 20 of 1,000 sockets were admitted and the phase measured a
 *     fan-out of 20. The phase reports `connectFailed` and `closedByServer`; both must be 0.
 *
 * Run: `npm run build && node dist/bench/latency.js [--subscribers=1000] [--rate=40] [--seconds=15]
 *       [--hotRate=5] [--hotSeconds=10] [--warmup=2] [--timeout=170]`
 */
import { EmbeddedEngine } from '../src/engine/embedded/engine';
import { startGateway, type Gateway } from '../src/gateway';
import { silentLogger } from '../src/log';
import type { OutboxEvent } from '../src/outbox/events';
import { writeEvent } from '../src/outbox/writer';
import {
  benchConfig, benchToken, deadline, emit, LoopDelay, machineLoad, note, nowMs, numberFlags, recordFeedArrivals,
  sleep, splitAtFeed, summarize, until, type FeedArrivals,
} from './harness';
import { cpuPercent, usage } from './ipc';
import { completedRide, environment, runMain } from './util';
import { match, SubscriberProcess, type ClientSpec } from './wsClients';

const flags = numberFlags({ subscribers: 1_000, rate: 40, seconds: 15, hotRate: 5, hotSeconds: 10, warmup: 2, concurrency: 100, timeout: 170 });
const RIDE_EVENTS = 7; // completedRide()
const BASE = Date.parse('2026-10-05T08:00:00Z');

/** The key a subscriber's payload will carry for this event (see wsClients.ts). */
const keyOf = (e: OutboxEvent) => `${e.aggregateId}|${e.occurredAt!.getTime()}`;

/** Writes `events` one per transaction, the k-th due at start + k/rate; returns commit times by key. */
async function writePaced(engine: EmbeddedEngine, events: readonly OutboxEvent[], rate: number) {
  const sentAt = new Map<string, number>();
  const txMs: number[] = [];
  const start = nowMs();
  for (let k = 0; k < events.length; k++) {
    const wait = start + (k * 1_000) / rate - nowMs();
    if (wait > 1) await sleep(wait);
    const e = events[k]!;
    const t0 = nowMs();
    await engine.transaction((tx) => writeEvent(tx, e));
    const committed = nowMs();
    sentAt.set(keyOf(e), committed);
    txMs.push(committed - t0);
  }
  return { sentAt, txMs, start, seconds: (nowMs() - start) / 1_000 };
}

interface PhaseSpec {
  name: string;
  subscribers: number;
  /** Sockets the gateway did not admit (should be 0). */
  connectFailed: number;
  /** Deliveries each event should cause. */
  fanOut: number;
  rate: number;
  warmupEvents: readonly OutboxEvent[];
  events: readonly OutboxEvent[];
}

async function runPhase(engine: EmbeddedEngine, clients: SubscriberProcess, feedAt: FeedArrivals, loop: LoopDelay, p: PhaseSpec): Promise<Record<string, unknown>> {
  note(`${p.name}: warm-up, ${p.warmupEvents.length} events`);
  await writePaced(engine, p.warmupEvents, p.rate);
  await until(async () => (await clients.count()) >= p.warmupEvents.length * p.fanOut, 10_000);
  await clients.collect(); // discarded
  feedAt.clear();

  note(`${p.name}: ${p.events.length} events at ${p.rate}/s to ${p.subscribers} subscribers (×${p.fanOut} each)`);
  const from = { at: nowMs(), gateway: await usage(), clients: await clients.usage() };
  loop.take();
  const w = await writePaced(engine, p.events, p.rate);
  const expected = p.events.length * p.fanOut;
  await until(async () => (await clients.count()) >= expected, 15_000);
  const to = { at: nowMs(), gateway: await usage(), clients: await clients.usage() };
  const loopDelayMs = loop.take();
  const r = await clients.collect();
  const m = match(r, w.sentAt);
  const split = splitAtFeed(r.keys, r.times, w.sentAt, feedAt);
  feedAt.clear();
  const spanS = (m.lastAt - w.start) / 1_000;
  const cpuS = (to.at - from.at) / 1_000;
  return {
    subscribers: p.subscribers,
    connectFailed: p.connectFailed,
    fanOutPerEvent: p.fanOut,
    targetEventsPerSecond: p.rate,
    events: p.events.length,
    achievedEventsPerSecond: +(p.events.length / w.seconds).toFixed(1),
    expectedDeliveries: expected,
    deliveries: m.latencies.length,
    missing: expected - m.latencies.length,
    unknown: m.unknown,
    errors: r.errors,
    resyncs: r.resyncs,
    closedByServer: r.closed,
    latencyMs: summarize(m.latencies),
    // commit → the feed hands the change to the hub (NOTIFY, change-log read); then hub → client sink.
    commitToFeedMs: split.toFeedMs,
    feedToClientMs: split.feedToClientMs,
    feedBatchSize: split.feedBatch,
    deliveriesPerSecond: Math.round(m.latencies.length / spanS),
    commitMs: summarize(w.txMs),
    cpuPercentOfOneCore: { gateway: cpuPercent(from.gateway, to.gateway, cpuS), clients: cpuPercent(from.clients, to.clients, cpuS) },
    gatewayEventLoopDelayMs: loopDelayMs,
  };
}

/** Events of one ride per rider, interleaved: step s of every ride, then step s+1 (k-th event = rider k % n). */
function perRiderEvents(riders: number): OutboxEvent[] {
  const rides = Array.from({ length: riders }, (_, i) =>
    completedRide(`ride-${i}`, `rider-${i}`, `driver-${i % 50}`, new Date(BASE + i * 1_000)));
  const out: OutboxEvent[] = [];
  for (let s = 0; s < RIDE_EVENTS; s++) for (const ride of rides) out.push(ride[s]!);
  return out;
}

/** Events of consecutive rides of one rider, in order. */
function hotRiderEvents(count: number): OutboxEvent[] {
  const out: OutboxEvent[] = [];
  for (let j = 0; out.length < count; j++) {
    out.push(...completedRide(`hot-${j}`, 'rider-hot', `driver-${j % 50}`, new Date(BASE + 86_400_000 + j * 3_600_000)));
  }
  return out.slice(0, count);
}

async function waitForHub(gateway: Gateway, size: number, what: string): Promise<void> {
  if (!(await until(() => gateway.hub.size === size, 30_000))) {
    throw new Error(`${what}: the hub has ${gateway.hub.size} subscriptions, expected ${size}`);
  }
}

async function main(): Promise<void> {
  const n = flags.subscribers;
  const perRider = perRiderEvents(n);
  const warm = Math.round(flags.rate * flags.warmup);
  const measured = Math.round(flags.rate * flags.seconds);
  if (warm + measured > perRider.length) {
    throw new Error(`rate × (warmup + seconds) = ${warm + measured} events exceeds one ride per rider (${perRider.length}): lower the rate or raise --subscribers`);
  }

  const engine = await EmbeddedEngine.create({ log: silentLogger });
  const gateway = await startGateway(benchConfig('embedded'), { log: silentLogger, engine });
  const clients = SubscriberProcess.start();
  const feedAt = recordFeedArrivals(engine.feed);
  const loop = new LoopDelay();
  const shutdown = async () => {
    loop.stop();
    await clients.close().catch(() => undefined);
    await gateway.stop().catch(() => undefined);
    await engine.close().catch(() => undefined);
  };
  const cancel = deadline(flags.timeout, shutdown);
  try {
    // Phase 1: each rider subscribes to their own trips (riders default to their own riderId).
    const riderSpecs: ClientSpec[] = await Promise.all(Array.from({ length: n }, async (_, i) =>
      ({ token: await benchToken(`rider-${i}`, 'rider'), variables: {} })));
    const loadAtStart = machineLoad();
    const c1 = await clients.connect(gateway.url, riderSpecs, flags.concurrency);
    note(`connected ${c1.connected}/${n} rider sockets in ${c1.ms} ms${c1.firstError !== undefined ? ` (first error: ${c1.firstError})` : ''}`);
    await waitForHub(gateway, c1.connected, 'per-rider');
    const phase1 = await runPhase(engine, clients, feedAt, loop, {
      name: 'per-rider', subscribers: c1.connected, connectFailed: c1.failed, fanOut: 1, rate: flags.rate,
      warmupEvents: perRider.slice(0, warm), events: perRider.slice(warm, warm + measured),
    });

    await clients.disconnect();
    await waitForHub(gateway, 0, 'after disconnect');

    // Phase 2: every socket (ops) watches the same rider.
    const hotSpecs: ClientSpec[] = await Promise.all(Array.from({ length: n }, async (_, i) =>
      ({ token: await benchToken(`ops-${i}`, 'ops'), variables: { riderId: 'rider-hot' } })));
    const c2 = await clients.connect(gateway.url, hotSpecs, flags.concurrency);
    note(`connected ${c2.connected}/${n} ops sockets in ${c2.ms} ms${c2.firstError !== undefined ? ` (first error: ${c2.firstError})` : ''}`);
    await waitForHub(gateway, c2.connected, 'hot rider');
    const hotWarm = Math.round(flags.hotRate * flags.warmup);
    const hot = hotRiderEvents(hotWarm + Math.round(flags.hotRate * flags.hotSeconds));
    const phase2 = await runPhase(engine, clients, feedAt, loop, {
      name: 'hot rider', subscribers: c2.connected, connectFailed: c2.failed, fanOut: c2.connected, rate: flags.hotRate,
      warmupEvents: hot.slice(0, hotWarm), events: hot.slice(hotWarm),
    });

    emit({
      bench: 'latency',
      ...environment(),
      machineLoad: { start: loadAtStart, end: machineLoad() },
      engine: 'embedded (PGlite + pg_ivm, in the gateway process)',
      clients: 'child process (graphql-ws client over ws), one socket + one tripUpdated subscription each',
      writes: 'gateway process, one outbox event per transaction',
      latency: 'engine.transaction resolved → payload in the client sink (CLOCK_MONOTONIC)',
      connectMs: { perRider: c1.ms, hotRider: c2.ms },
      perRider: phase1,
      hotRider: phase2,
    });
  } finally {
    cancel();
    await shutdown();
  }
}

runMain(main);
