/**
 * Child process of bench/abuse.ts: the rider probe. Every `intervalMs` it starts one GraphQL query as
 * a rider on a NEW connection (no keep-alive: a connection-level attack must be able to show in it),
 * whether or not the previous probe has answered, and records how long each took and whether it
 * failed. It lives in its own process so that the attacker's work in the bench process cannot delay
 * it: what it measures is the gateway.
 *
 * RPC (bench/ipc.ts): `start {url, token, intervalMs, timeoutMs}`, `take` → the probes started since
 * the previous take (waiting for those still running, at most `timeoutMs`), `stop`.
 */
import { request } from 'node:http';
import { nowMs } from './harness';
import { isBenchChild, serveRpc } from './ipc';

/** One probe: when it started (nowMs), how long it took, and why it failed (undefined = it did not). */
export interface ProbeSample {
  readonly startedAt: number;
  readonly ms: number;
  readonly failure: string | undefined;
}

export interface ProbeStart {
  readonly url: string;
  readonly token: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

/** The probe's query: a rider's first page of trips (one engine statement, the commonest app query). */
export const PROBE_QUERY = '{ trips(first: 5) { edges { node { id status requestedAt } } } }';

/** One POST on a fresh connection; resolves with the failure reason, or undefined when it answered 200 without errors. */
function probeOnce(url: URL, token: string, timeoutMs: number): Promise<string | undefined> {
  const body = JSON.stringify({ query: PROBE_QUERY });
  return new Promise((resolve) => {
    let settled = false;
    const done = (failure: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(failure);
    };
    const req = request(url, {
      method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => done(`response: ${err.message}`));
      res.on('end', () => {
        if (res.statusCode !== 200) return done(`HTTP ${res.statusCode}`);
        try {
          const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { errors?: Array<{ extensions?: { code?: string } }> };
          const code = parsed.errors?.[0]?.extensions?.code;
          done(parsed.errors === undefined ? undefined : `GraphQL ${code ?? 'error'}`);
        } catch {
          done('unparseable body');
        }
      });
    });
    const timer = setTimeout(() => done(`no answer in ${timeoutMs} ms`), timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => done(`connection: ${err.code ?? err.message}`));
    req.end(body);
  });
}

function main(): void {
  let timer: NodeJS.Timeout | undefined;
  let timeoutMs = 5_000;
  const done: ProbeSample[] = [];
  const running = new Map<Promise<void>, number>();

  serveRpc({
    start: async (p: ProbeStart) => {
      const url = new URL(p.url);
      timeoutMs = p.timeoutMs;
      const fire = () => {
        const startedAt = nowMs();
        const run = probeOnce(url, p.token, p.timeoutMs).then((failure) => {
          done.push({ startedAt, ms: nowMs() - startedAt, failure });
          running.delete(run);
        });
        running.set(run, startedAt);
      };
      fire();
      timer = setInterval(fire, p.intervalMs);
      return null;
    },
    take: async () => {
      const cutoff = nowMs();
      const before = [...running].filter(([, at]) => at < cutoff).map(([run]) => run);
      // Each probe ends by itself within timeoutMs; the extra second covers a loaded machine's timers.
      await Promise.race([Promise.all(before), new Promise((r) => setTimeout(r, timeoutMs + 1_000))]);
      const mine = done.filter((s) => s.startedAt < cutoff);
      const later = done.filter((s) => s.startedAt >= cutoff);
      done.length = 0;
      done.push(...later);
      return mine;
    },
    stop: async () => {
      if (timer !== undefined) clearInterval(timer);
      await Promise.all(running.keys());
      return null;
    },
  });
}

if (isBenchChild()) main();
