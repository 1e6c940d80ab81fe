/**
 * A paced GraphQL-over-HTTP client for bench/soak.ts, in a child process of its own: `rate`
 * requests/s, open-loop (each request is due at start + k / rate, whatever the answers do), at most
 * `maxInFlight` outstanding on keep-alive connections; a request due while all are busy is counted
 * `behind` and sent when one frees. Tokens rotate per request (several viewers: one viewer's query
 * concurrency would cap the rate otherwise). sample() returns what happened since the previous
 * sample, so the soak can print a time series (autocannon reports only at its end).
 *
 * A good answer: HTTP 200, the body starts with `expectPrefix` and has no `"errors"`.
 *
 * Parent side: {@link PacerProcess}. Not a bench of its own.
 */
import { Agent, request } from 'node:http';
import { ChildRpc, isBenchChild, serveRpc, type Usage } from './ipc';
import { nowMs } from './harness';
import { percentile } from './util';

/** What to send. */
export interface PacerSpec {
  /** http://host:port/graphql */
  url: string;
  body: string;
  tokens: string[];
  rate: number;
  maxInFlight: number;
  expectPrefix: string;
}

/** Since the previous sample. */
export interface PacerSample {
  /** Answers received. */
  answered: number;
  ok: number;
  /** Non-200, bad body, GraphQL errors, or network errors. */
  failed: number;
  /** Requests that were due while `maxInFlight` were outstanding. */
  behind: number;
  inFlight: number;
  latencyMs: { p50: number | null; p99: number | null; max: number | null };
  /** The first failure's status and body start, if any. */
  firstFailure?: string;
}

// ---- child side ------------------------------------------------------------------------------

let timer: NodeJS.Timeout | undefined;
let stopped = false;
let answered = 0;
let ok = 0;
let failed = 0;
let behind = 0;
let inFlight = 0;
let latencies: number[] = [];
let firstFailure: string | undefined;
const totals = { sent: 0, ok: 0, failed: 0 };

function start(s: PacerSpec): Promise<null> {
  const u = new URL(s.url);
  const agent = new Agent({ keepAlive: true, maxSockets: s.maxInFlight });
  const body = Buffer.from(s.body);
  let issued = 0;
  let waiting = 0;
  const t0 = nowMs();
  const fail = (why: string) => {
    failed++;
    totals.failed++;
    firstFailure ??= why;
  };
  const send = () => {
    const token = s.tokens[issued % s.tokens.length]!;
    issued++;
    totals.sent++;
    inFlight++;
    const began = nowMs();
    const req = request({
      host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': body.length, authorization: `Bearer ${token}` },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        inFlight--;
        answered++;
        latencies.push(nowMs() - began);
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode === 200 && text.startsWith(s.expectPrefix) && !text.includes('"errors"')) {
          ok++;
          totals.ok++;
        } else {
          fail(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
        }
        drain();
      });
    });
    req.on('error', (err) => {
      inFlight--;
      answered++;
      fail(err.message);
      drain();
    });
    req.end(body);
  };
  const drain = () => {
    while (!stopped && waiting > 0 && inFlight < s.maxInFlight) {
      waiting--;
      send();
    }
  };
  timer = setInterval(() => {
    const due = Math.floor(((nowMs() - t0) / 1_000) * s.rate) - issued - waiting;
    for (let k = 0; k < due; k++) {
      if (inFlight < s.maxInFlight) send();
      else {
        waiting++;
        behind++;
      }
    }
  }, 5);
  return Promise.resolve(null);
}

function sample(): Promise<PacerSample> {
  const r = (v: number) => (Number.isNaN(v) ? null : +v.toFixed(2));
  const out: PacerSample = {
    answered, ok, failed, behind, inFlight,
    latencyMs: { p50: r(percentile(latencies, 50)), p99: r(percentile(latencies, 99)), max: latencies.length === 0 ? null : r(latencies.reduce((a, b) => Math.max(a, b), -Infinity)) },
    ...(firstFailure !== undefined ? { firstFailure } : {}),
  };
  answered = ok = failed = behind = 0;
  latencies = [];
  firstFailure = undefined;
  return Promise.resolve(out);
}

function stop(): Promise<{ sent: number; ok: number; failed: number }> {
  stopped = true;
  clearInterval(timer);
  return Promise.resolve({ ...totals });
}

if (isBenchChild()) serveRpc({ start, sample, stop });

// ---- parent side -----------------------------------------------------------------------------

/** The paced client child process, seen from the bench. */
export class PacerProcess {
  private constructor(private readonly rpc: ChildRpc) {}

  /** Forks dist/bench/pacer.js. */
  static fork(): PacerProcess {
    return new PacerProcess(ChildRpc.fork(__filename));
  }

  /** Starts sending (returns at once). */
  start(spec: PacerSpec): Promise<null> {
    return this.rpc.call('start', spec);
  }

  sample(): Promise<PacerSample> {
    return this.rpc.call('sample');
  }

  /** Stops issuing requests; totals since start. */
  stop(): Promise<{ sent: number; ok: number; failed: number }> {
    return this.rpc.call('stop');
  }

  usage(): Promise<Usage> {
    return this.rpc.usage();
  }

  close(): Promise<void> {
    return this.rpc.close();
  }
}
