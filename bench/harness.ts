/**
 * What the gateway benches share (bench/util.ts has the machine/commit record and percentiles):
 * flags, a gateway configuration with a fixed secret, a cross-process clock, latency summaries,
 * a hard deadline, feed/event-loop/machine-load probes. Child processes: bench/ipc.ts.
 *
 * Benchmarks are not tests: each prints one JSON line, is bounded in count and time, stays on
 * loopback and stops by itself (docs/benchmarks.md).
 */
import { bundledRegistry } from '../src/views/load';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Socket } from 'node:net';
import { constants as perfConstants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { signToken } from '../src/auth/token';
import { DEFAULT_LIMITS, DEFAULT_SUBSCRIPTIONS, RISINGWAVE_QUERY_CONCURRENCY } from '../src/config/load';
import type { Config, SubscriptionsConfig } from '../src/config/types';
import type { ChangeFeed } from '../src/engine/types';
import { percentile } from './util';

/** HS256 secret of every bench gateway (at least 32 bytes); loopback only, never a real secret. */
export const BENCH_SECRET = 'wavegate-bench-secret-0123456789abcdef';

/**
 * Milliseconds on CLOCK_MONOTONIC (libuv's hrtime), with sub-microsecond resolution. The same clock
 * in every process of the machine, so a time taken in the gateway process and one taken in the
 * client child process can be subtracted.
 */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `--name=value` flags from argv; absent flags take the default. Numbers only, which is all the benches take. */
export function numberFlags<T extends Record<string, number>>(defaults: T, argv = process.argv.slice(2)): T {
  const out: Record<string, number> = { ...defaults };
  for (const arg of argv) {
    const m = /^--([a-zA-Z][\w-]*)=(.+)$/.exec(arg);
    if (m === null) throw new Error(`unrecognised argument ${arg}: flags are --name=value (${Object.keys(defaults).join(', ')})`);
    const [, name, raw] = m;
    if (!(name! in defaults)) throw new Error(`unknown flag --${name}: known are ${Object.keys(defaults).join(', ')}`);
    const v = Number(raw);
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number >= 0, got ${raw}`);
    out[name!] = v;
  }
  return out as T;
}

/**
 * The gateway configuration of the benches: loopback, port 0, auth on with {@link BENCH_SECRET},
 * default limits, silent. `subscriptions` overrides subscription settings (none of the benches
 * needs to: each socket has a subject of its own, so the per-subject socket cap never applies).
 */
export function benchConfig(engine: Config['engine'], subscriptions: Partial<SubscriptionsConfig> = {}): Config {
  return {
    views: bundledRegistry(),
    host: '127.0.0.1',
    port: 0,
    engine,
    changeRetention: 100_000,
    auth: { enabled: true, secret: BENCH_SECRET },
    simulator: { enabled: false, ridesPerSecond: 1, riders: 1, drivers: 1, pace: 0 },
    // The production defaults of the engine (config/load.ts: engine queries at once are 1 on the
    // embedded engine, 8 on RisingWave; 2 per viewer on both), except the per-address connection
    // cap: every bench client (10,000 subscribers in kafka-fanout) connects from 127.0.0.1.
    limits: {
      ...DEFAULT_LIMITS,
      maxConnectionsPerAddress: 0,
      ...(engine === 'risingwave' ? { queryConcurrency: RISINGWAVE_QUERY_CONCURRENCY } : {}),
    },
    subscriptions: { ...DEFAULT_SUBSCRIPTIONS, ...subscriptions },
    logLevel: 'silent',
  };
}

/** A bench token (valid for an hour: longer than any bench runs). */
export function benchToken(sub: string, role: string): Promise<string> {
  return signToken(BENCH_SECRET, { sub, role }, 3_600);
}

/** A latency sample summarised in milliseconds, 2 decimals. */
export interface LatencySummary {
  count: number;
  /** Negative would mean the clocks or the matching are wrong. */
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** count, min, p50, p90, p99 and max of a sample (ms), nearest-rank percentiles (util.ts). */
export function summarize(sample: readonly number[]): LatencySummary {
  const r = (v: number) => (Number.isNaN(v) ? v : +v.toFixed(2));
  return {
    count: sample.length,
    min: r(sample.length === 0 ? Number.NaN : sample.reduce((a, b) => Math.min(a, b), Infinity)),
    p50: r(percentile(sample, 50)),
    p90: r(percentile(sample, 90)),
    p99: r(percentile(sample, 99)),
    max: r(sample.length === 0 ? Number.NaN : sample.reduce((a, b) => Math.max(a, b), -Infinity)),
  };
}

/** Prints the one result line. */
export function emit(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Progress notes go to stderr, so stdout stays one JSON line. */
export function note(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/**
 * Ends the process with exit code 1 after `seconds` (`cleanup` gets a few seconds first): a bench
 * must stop by itself even when something hangs. Returns the cancel function.
 */
export function deadline(seconds: number, cleanup: () => Promise<void>): () => void {
  const timer = setTimeout(() => {
    note(`deadline of ${seconds} s reached: aborting`);
    process.exitCode = 1;
    const force = setTimeout(() => process.exit(1), 5_000);
    force.unref();
    cleanup().finally(() => process.exit(1));
  }, seconds * 1_000);
  timer.unref();
  return () => clearTimeout(timer);
}

/** Polls `test` every 50 ms until it holds or `timeoutMs` passes; resolves with whether it held. */
export async function until(test: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await test()) return true;
    if (Date.now() >= end) return false;
    await sleep(50);
  }
}

/** Runs the global GC a few times (needs `node --expose-gc`); false when it is not exposed. */
export async function fullGc(): Promise<boolean> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return false;
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(100); // let weak callbacks and finalizers run between passes
  }
  return true;
}

/** When the change feed handed each trip_history change to its listeners, and the sizes of the batches it handed over. */
export interface FeedArrivals {
  /** Keyed like the subscribers' receipts: `<trip_id>|<updated_at ms>` → nowMs(). */
  readonly at: Map<string, number>;
  /** Changes per listener call (all views). */
  readonly batchSizes: number[];
  clear(): void;
}

/**
 * Listens to the change feed next to the hub: splits end-to-end latency into source → feed and
 * feed → client, and shows how large the batches are that the hub gets in one synchronous call.
 * Costs one Map.set per change.
 */
export function recordFeedArrivals(feed: ChangeFeed): FeedArrivals {
  const at = new Map<string, number>();
  const batchSizes: number[] = [];
  feed.subscribe((batch) => {
    const t = nowMs();
    batchSizes.push(batch.length);
    for (const ev of batch) {
      if (ev.view !== 'trip_history' || ev.row === null) continue;
      at.set(`${String(ev.key['trip_id'])}|${Date.parse(String(ev.row['updated_at']))}`, t);
    }
  });
  return {
    at,
    batchSizes,
    clear() {
      at.clear();
      batchSizes.length = 0;
    },
  };
}

/** Splits latencies at the feed: source → feed arrival and feed arrival → client, for keys seen by all three. */
export function splitAtFeed(keys: readonly string[], recvTimes: ArrayLike<number>, sentAt: ReadonlyMap<string, number>, feed: FeedArrivals): { toFeedMs: LatencySummary; feedToClientMs: LatencySummary; feedBatch: { batches: number; p50: number; max: number } } {
  const feedAt = feed.at;
  const toFeed: number[] = [];
  const toClient: number[] = [];
  keys.forEach((key, i) => {
    const s = sentAt.get(key);
    const f = feedAt.get(key);
    if (s === undefined || f === undefined) return;
    toFeed.push(f - s);
    toClient.push(recvTimes[i]! - f);
  });
  const b = feed.batchSizes;
  return {
    toFeedMs: summarize(toFeed),
    feedToClientMs: summarize(toClient),
    feedBatch: { batches: b.length, p50: percentile(b, 50), max: b.reduce((x, y) => Math.max(x, y), 0) },
  };
}

/** Event-loop delay of this process (perf_hooks histogram, 10 ms resolution), in ms. */
export class LoopDelay {
  private readonly h = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.h.enable();
  }

  /** Since the previous take(): p50, p99 and max in ms; then resets. */
  take(): { p50: number; p99: number; max: number } {
    const ms = (ns: number) => +(ns / 1e6).toFixed(1);
    const out = { p50: ms(this.h.percentile(50)), p99: ms(this.h.percentile(99)), max: ms(this.h.max) };
    this.h.reset();
    return out;
  }

  stop(): void {
    this.h.disable();
  }
}

/**
 * How busy the machine is besides us: 1-minute load average and Linux PSI CPU pressure ("some"
 * avg60: % of time at least one runnable task waited for a CPU; null where /proc/pressure is absent).
 * Recorded with results, because other work on the same cores changes every figure.
 */
export function machineLoad(): { loadavg1: number; cpuPressureSomeAvg60: number | null } {
  let pressure: number | null = null;
  try {
    const m = /^some avg10=[\d.]+ avg60=([\d.]+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    if (m !== null) pressure = Number(m[1]);
  } catch { /* not Linux, or PSI off */ }
  return { loadavg1: +loadavg()[0]!.toFixed(2), cpuPressureSomeAvg60: pressure };
}

/** One leg of `wavegate_fanout_leg_seconds` over a phase: observations, total and mean ms, p50/p99 ms from the buckets. */
export interface LegTiming {
  count: number;
  totalMs: number;
  meanMs: number | null;
  /** histogram_quantile-style: linear inside the bucket; capped at the largest finite bucket. */
  p50Ms: number | null;
  p99Ms: number | null;
}

/** Cumulative state of a histogram, per `leg` label. */
type LegState = Map<string, { sum: number; count: number; buckets: Array<[number, number]> }>;

/** The fan-out legs histogram: the gateway's time per leg (fetch, decode, hub, execute, write). */
export const LEG_HISTOGRAM = 'wavegate_fanout_leg_seconds';

/**
 * Reads `wavegate_fanout_leg_seconds{leg}` from the gateway's registry (the gateway runs in the
 * bench process): take() before and after a phase, then {@link legDelta}. Resolves to null when
 * the gateway has no such metric (commits before issue 14's fan-out work).
 */
export async function legState(registry: Registry): Promise<LegState | null> {
  const metric = registry.getSingleMetric(LEG_HISTOGRAM);
  if (metric === undefined) return null;
  const out: LegState = new Map();
  const data = await metric.get();
  for (const v of data.values as ReadonlyArray<{ value: number; labels: Record<string, string | number | undefined>; metricName?: string }>) {
    const leg = String(v.labels['leg'] ?? '');
    let s = out.get(leg);
    if (s === undefined) out.set(leg, (s = { sum: 0, count: 0, buckets: [] }));
    const name = v.metricName ?? '';
    if (name.endsWith('_sum')) s.sum = v.value;
    else if (name.endsWith('_count')) s.count = v.value;
    else if (name.endsWith('_bucket')) s.buckets.push([v.labels['le'] === '+Inf' ? Infinity : Number(v.labels['le']), v.value]);
  }
  for (const s of out.values()) s.buckets.sort((a, b) => a[0] - b[0]);
  return out;
}

function quantileMs(buckets: ReadonlyArray<[number, number]>, count: number, q: number): number | null {
  if (count === 0) return null;
  const rank = q * count;
  let lower = 0;
  let below = 0;
  for (const [le, cum] of buckets) {
    if (cum >= rank) {
      if (le === Infinity) return +(lower * 1_000).toFixed(3);
      const inBucket = cum - below;
      const f = inBucket === 0 ? 1 : (rank - below) / inBucket;
      return +((lower + (le - lower) * f) * 1_000).toFixed(3);
    }
    lower = le;
    below = cum;
  }
  return +(lower * 1_000).toFixed(3);
}

/** Per leg, what happened between two {@link legState} readings; null when the metric is absent. */
export function legDelta(from: LegState | null, to: LegState | null): Record<string, LegTiming> | null {
  if (from === null || to === null) return null;
  const out: Record<string, LegTiming> = {};
  for (const [leg, b] of to) {
    const a = from.get(leg) ?? { sum: 0, count: 0, buckets: [] };
    const count = b.count - a.count;
    const totalMs = (b.sum - a.sum) * 1_000;
    const buckets = b.buckets.map(([le, cum]) => [le, cum - (a.buckets.find(([l]) => l === le)?.[1] ?? 0)] as [number, number]);
    out[leg] = {
      count,
      totalMs: +totalMs.toFixed(1),
      meanMs: count > 0 ? +(totalMs / count).toFixed(4) : null,
      p50Ms: quantileMs(buckets, count, 0.5),
      p99Ms: quantileMs(buckets, count, 0.99),
    };
  }
  return out;
}

/** What the gateway wrote to its client sockets between two takes. */
export interface SocketWrites {
  /** `write` calls on sockets whose local port is the gateway's. */
  writes: number;
  bytes: number;
  /** nowMs() of the first and the last such write (null: none). */
  firstAt: number | null;
  lastAt: number | null;
}

/**
 * Watches the gateway's writes to its client sockets, whatever writes them (ws `send`, or bytes
 * framed once and written to many sockets): wraps `net.Socket.prototype.write` in this process and
 * counts calls on sockets whose local port is `port` (the gateway's; the Kafka and PostgreSQL
 * clients' sockets have other local ports). The time stamped is when the write was handed to the
 * socket: "the last socket write done" as the event loop sees it. A bench-only probe: it costs one
 * property read per write. stop() restores the prototype.
 */
export function watchSocketWrites(port: number): { take(): SocketWrites; stop(): void } {
  const proto = Socket.prototype as unknown as { write: (...args: unknown[]) => boolean };
  const own = Object.prototype.hasOwnProperty.call(proto, 'write');
  const original = proto.write;
  let cur: SocketWrites = { writes: 0, bytes: 0, firstAt: null, lastAt: null };
  proto.write = function write(this: Socket, ...args: unknown[]): boolean {
    if (this.localPort === port) {
      const t = nowMs();
      const chunk = args[0];
      cur.writes++;
      cur.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as { byteLength?: number } | null)?.byteLength ?? 0;
      cur.firstAt ??= t;
      cur.lastAt = t;
    }
    return original.apply(this, args);
  };
  return {
    take() {
      const out = cur;
      cur = { writes: 0, bytes: 0, firstAt: null, lastAt: null };
      return out;
    },
    stop() {
      if (own) proto.write = original;
      else delete (proto as { write?: unknown }).write;
    },
  };
}

/** Memory of this process (bytes): RSS, heap used and total, external, array buffers. */
export function memory(): { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number } {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
}

/** The port of a gateway URL (`http://127.0.0.1:<port>/graphql`). */
export function portOf(url: string): number {
  return Number(new URL(url).port);
}

/**
 * The heap floor without forcing collections: heap used right after each major (mark-sweep-compact)
 * GC of this process, seen through a `gc` PerformanceObserver (the reading is taken when the
 * observer runs, a moment after the collection). Where a sawtooth of garbage hides the live heap,
 * this follows the live heap.
 */
export class MajorGcFloor {
  private readonly observer: PerformanceObserver;
  private last: number | null = null;
  private count = 0;

  constructor() {
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = (e as { detail?: { kind?: number } }).detail?.kind;
        if (kind !== perfConstants.NODE_PERFORMANCE_GC_MAJOR) continue;
        this.count++;
        this.last = process.memoryUsage().heapUsed;
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Heap used after the latest major GC so far (null before the first), and major GCs since the previous take. */
  take(): { heapUsed: number | null; majorGcs: number } {
    const out = { heapUsed: this.last, majorGcs: this.count };
    this.count = 0;
    return out;
  }

  stop(): void {
    this.observer.disconnect();
  }
}

/**
 * Waits until the gateway's hub holds `size` subscriptions (one per bench socket). Should a
 * gateway count its subscriptions otherwise (e.g. per group), the wait ends once the count has not
 * moved for 3 s, with a note, instead of failing the run. Resolves with the count it settled on.
 */
export async function settleHub(hub: { readonly size: number }, size: number, timeoutMs = 90_000): Promise<number> {
  let last = -1;
  let since = Date.now();
  const end = Date.now() + timeoutMs;
  for (;;) {
    const now = hub.size;
    if (now === size) return now;
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= 3_000) {
      note(`the hub settled at ${now} subscriptions, not ${size}: going on (does this gateway count subscriptions per socket?)`);
      return now;
    }
    if (Date.now() >= end) throw new Error(`the hub has ${now} subscriptions, expected ${size}`);
    await sleep(50);
  }
}
