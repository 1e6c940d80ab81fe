/**
 * HTTP load for bench/queries.ts: autocannon, driven programmatically in a child process of its
 * own, so the load generator does not share the server's event loop (it still shares the 2 cores).
 * Each run is a warm-up (results discarded) and then the measured run, same connections.
 *
 * Parent side: {@link LoadProcess}. Not a bench of its own.
 */
import autocannon from 'autocannon';
import { ChildRpc, isBenchChild, serveRpc } from './ipc';

/** One target to load. */
export interface LoadSpec {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  /** Measured seconds. */
  seconds: number;
  /** Warm-up seconds (discarded). */
  warmup: number;
  /** How a good response body starts; anything else (or an `"errors"` key) is a mismatch. */
  expectPrefix: string;
}

/** A measured run. */
export interface LoadResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
}

async function run(s: LoadSpec): Promise<LoadResult> {
  const base = {
    url: s.url,
    connections: s.connections,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', ...s.headers },
    body: s.body,
    timeout: 10,
    verifyBody: (body: string) => body.startsWith(s.expectPrefix) && !body.includes('"errors"'),
  };
  if (s.warmup > 0) await autocannon({ ...base, duration: s.warmup });
  const r = await autocannon({ ...base, duration: s.seconds });
  return {
    requests: r.requests.total,
    seconds: r.duration,
    requestsPerSecond: Math.round(r.requests.total / r.duration),
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: +r.latency.mean.toFixed(2) },
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    mismatches: r.mismatches,
  };
}

if (isBenchChild()) serveRpc({ run });

/** The load generator child process, seen from the bench. */
export class LoadProcess {
  private constructor(private readonly rpc: ChildRpc) {}

  /** Forks dist/bench/loadgen.js. */
  static start(): LoadProcess {
    return new LoadProcess(ChildRpc.fork(__filename));
  }

  run(spec: LoadSpec): Promise<LoadResult> {
    return this.rpc.call('run', spec);
  }

  close(): Promise<void> {
    return this.rpc.close();
  }
}
