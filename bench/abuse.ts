/**
 * Hostile clients against a started gateway (issue 11): how much each attack class costs everyone
 * else, and what the attacker gets.
 *
 * The gateway runs as `wavegate serve` in a child process (embedded engine, the simulator on, the SQL
 * passthrough on with two users), exactly as `npm start` runs it, so its RSS and open descriptors
 * (/proc/<pid>/status, /proc/<pid>/fd) are its own. A second child process (bench/abuseProbe.ts)
 * sends a rider's `trips(first: 5)` every 200 ms on a new connection for the whole run. This process
 * is the attacker: it runs each class in turn, each bounded in time, and closes what it opened.
 *
 * Per class it records: the probes started during the attack (p50/p99/max, how many failed and why),
 * the gateway's RSS and descriptors before, at the peak (sampled every 250 ms) and after a settle,
 * the warn/error lines the gateway logged, and what the attacker got (HTTP statuses and GraphQL
 * codes, websocket close codes, SQLSTATEs). At the end it sends SIGTERM and records whether and when
 * the gateway exited, then does the same on two fresh gateways (no SQL client; after one refused SQL
 * login) to tell the causes apart. It measures what is there: a class the gateway does not withstand
 * yet shows failed probes, or descriptors that stay, and the bench goes on.
 *
 * Run: `npm run bench -- abuse` or `npm run build && node dist/bench/abuse.js [class ...]
 *       [--seconds=10] [--settle=3] [--warmup=20] [--probeMs=200] [--probeTimeoutMs=5000] [--timeout=1500]
 *       [--shutdownChecks=1]`
 * (classes: the ids in CLASSES below; all by default). Results: docs/benchmarks.md ("Abuse").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import type pg from 'pg';
import { signToken } from '../src/auth/token';
import {
  awaitFirstMessage, count, gqlOutcome, loopFor, openInBatches, RawGqlSocket, RawTcp, sqlLogin, sqlOutcome, startupPacket, within, type Outcomes,
} from './abuseClients';
import type { ProbeSample } from './abuseProbe';
import { BENCH_SECRET, benchToken, deadline, emit, machineLoad, note, nowMs, numberFlags, sleep, summarize, until } from './harness';
import { ChildRpc } from './ipc';
import { environment, runMain } from './util';

const classArgs = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = numberFlags({ seconds: 10, settle: 3, warmup: 20, probeMs: 200, probeTimeoutMs: 5_000, timeout: 1_500, shutdownChecks: 1 }, process.argv.slice(2).filter((a) => a.startsWith('--')));

/** SQL users of the bench gateway (loopback only, never real passwords). */
const SQL_ANALYST = { user: 'ana', password: 'ana-bench-password' };
const SQL_OPS = { user: 'olga', password: 'olga-bench-password' };
const SQL_USERS = `${SQL_ANALYST.user}:${SQL_ANALYST.password},${SQL_OPS.user}:${SQL_OPS.password}:ops`;
/**
 * The attacker's address: raw sockets and the attacker's SQL logins come from 127.0.0.2, real users
 * from 127.0.0.1 (and the refused-300 class's other sessions from 127.0.0.10 and up), so that limits
 * per address see an attacker and its victims as the different hosts they would be.
 */
const ATTACKER = '127.0.0.2';

/** Where a running gateway is, and what it logged. */
interface GatewayProcess {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly url: string;
  readonly wsUrl: string;
  readonly httpPort: number;
  readonly sqlPort: number;
  /** Log lines at warn (40) and error (50 and above) so far, the last few error messages, and every message (`msg`) in order. */
  readonly logs: { warn: number; error: number; lastErrors: string[]; messages: string[] };
}

/** Starts `wavegate serve` (the compiled CLI) with the bench's variables only; resolves once it serves HTTP and SQL. */
async function startGatewayProcess(extraEnv: Record<string, string> = {}): Promise<GatewayProcess> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('WAVEGATE_')) env[k] = v;
  Object.assign(env, {
    WAVEGATE_ENGINE: 'embedded', WAVEGATE_HOST: '127.0.0.1', WAVEGATE_PORT: '0', WAVEGATE_JWT_SECRET: BENCH_SECRET,
    WAVEGATE_SIMULATE: 'on', WAVEGATE_SQL_USERS: SQL_USERS, WAVEGATE_SQL_PORT: '0', WAVEGATE_LOG_LEVEL: 'info', ...extraEnv,
  });
  const proc = spawn(process.execPath, [join(__dirname, '..', '..', 'bin', 'wavegate.js'), 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs = { warn: 0, error: 0, lastErrors: [] as string[], messages: [] as string[] };
  let url: string | undefined;
  let sqlPort: number | undefined;
  let stderrTail = '';
  proc.stderr!.on('data', (d: Buffer) => (stderrTail = (stderrTail + d.toString('utf8')).slice(-2_000)));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let m: { level?: number; msg?: string; url?: string; port?: number };
    try { m = JSON.parse(line) as typeof m; } catch { return; }
    logs.messages.push(String(m.msg));
    if (logs.messages.length > 1_000) logs.messages.splice(0, 500);
    if ((m.level ?? 0) >= 50) {
      logs.error++;
      logs.lastErrors.push(String(m.msg));
      if (logs.lastErrors.length > 5) logs.lastErrors.shift();
    } else if (m.level === 40) logs.warn++;
    if (m.msg === 'wavegate is serving' && typeof m.url === 'string') url = m.url;
    if (/sql passthrough listening/i.test(m.msg ?? '') && typeof m.port === 'number') sqlPort = m.port;
  });
  const up = await until(() => (url !== undefined && sqlPort !== undefined) || proc.exitCode !== null, 300_000);
  if (!up || url === undefined || sqlPort === undefined) {
    proc.kill('SIGKILL');
    throw new Error(`the gateway did not start (exit ${proc.exitCode}): ${stderrTail}`);
  }
  const httpPort = Number(new URL(url).port);
  return { proc, pid: proc.pid!, url, wsUrl: url.replace(/^http/, 'ws'), httpPort, sqlPort, logs };
}

/** RSS (MiB) and open descriptors of a process; null once it is gone. */
interface ProcStats { rssMiB: number; fds: number }
function procStats(pid: number): ProcStats | null {
  try {
    const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);
    return { rssMiB: Math.round(kb / 1024), fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return null;
  }
}

/** What a class needs to attack. */
interface Target {
  readonly gw: GatewayProcess;
  readonly seconds: number;
  /** Tokens are made per subject on demand. */
  token(sub: string, role?: 'rider' | 'driver' | 'ops'): Promise<string>;
}

interface AttackClass {
  readonly id: string;
  readonly what: string;
  /** Upper bound of the attack itself in seconds (the class is cut off after it plus 30 s). */
  readonly budgetS?: number;
  run(t: Target): Promise<Record<string, unknown>>;
}

const aliasDoc = (n: number, field: (i: number) => string) => `{ ${Array.from({ length: n }, (_, i) => `a${i.toString(36)}:${field(i)}`).join(' ')} }`;
const body = (query: string, variables?: Record<string, unknown>) => JSON.stringify({ query, ...(variables !== undefined ? { variables } : {}) });
const TRIPS_SUB = 'subscription($after: String) { tripUpdated(after: $after) { kind tripId cursor trip { id status riderId } } }';

/** A cursor at the start of the change log: the newest `feedCursor` with its position set to 0 (every retained change is after it). */
async function oldestCursor(t: Target): Promise<string> {
  const res = await fetch(t.gw.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await t.token('ops-bench', 'ops')}` }, body: body('{ trips(first: 1) { feedCursor } }') });
  const parsed = (await res.json()) as { data?: { trips?: { feedCursor?: string } } };
  const cursor = parsed.data?.trips?.feedCursor;
  if (cursor === undefined) throw new Error(`no feedCursor: ${JSON.stringify(parsed)}`);
  const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
  return Buffer.from(JSON.stringify({ ...value, pos: '0' }), 'utf8').toString('base64url');
}

/** Closes every raw socket and waits a moment for the closes to reach the server. */
async function closeAll(...groups: ReadonlyArray<ReadonlyArray<{ close(): unknown }>>): Promise<void> {
  await Promise.all(groups.flat().map(async (c) => c.close()));
}

const CLASSES: readonly AttackClass[] = [
  {
    id: 'gql-alias-trip',
    what: '4,900 `trip(id:)` aliases in one ~100 KB request (rider), 4 requests at a time',
    async run(t) {
      const doc = body(aliasDoc(4_900, () => 'trip(id:1){id}'));
      const token = await t.token('rider-attacker', 'rider');
      return { requestBytes: doc.length, ...await loopFor(4, t.seconds * 1_000, () => gqlOutcome(t.gw.url, token, doc)) };
    },
  },
  {
    id: 'gql-alias-trips',
    what: '2,500 `trips(first:1)` aliases in one request (rider), 4 at a time',
    async run(t) {
      const doc = body(aliasDoc(2_500, () => 'trips(first:1){edges{cursor}}'));
      const token = await t.token('rider-attacker', 'rider');
      return { requestBytes: doc.length, ...await loopFor(4, t.seconds * 1_000, () => gqlOutcome(t.gw.url, token, doc)) };
    },
  },
  {
    id: 'gql-under-caps',
    what: 'queries shaped to pass or dodge the cost gate, as ops (every page full: the worst case of a leaked or rogue service token): 20 or 5 full pages with nested relations, 20 lookups of real trips with nesting, fragment doubling, depth, deep introspection, 1,200 directives; 4 at a time, in turn',
    async run(t) {
      const token = await t.token('ops-attacker', 'ops');
      const ids = await fetch(t.gw.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: body('{ trips(first: 20) { edges { node { id } } } }') })
        .then(async (r) => ((await r.json()) as { data?: { trips?: { edges?: Array<{ node: { id: string } }> } } }).data?.trips?.edges?.map((e) => e.node.id) ?? []);
      const page = 'trips(first:100){edges{node{id status requestedAt fare{amount currency} driver{id rating completedTrips} riderStats{trips}}}}';
      // 12 fragments, each spreading the next twice: 4,096 copies of `id` if expanded naively.
      const frags = Array.from({ length: 12 }, (_, i) => `fragment F${i} on Trip { ${i === 11 ? 'id status' : `...F${i + 1} ...F${i + 1}`} }`).join(' ');
      const typeRef = (d: number): string => (d === 0 ? 'name' : `name kind ofType { ${typeRef(d - 1)} }`);
      const variants: Record<string, string> = {
        'pages-20x100': body(aliasDoc(20, () => page)),
        'pages-5x100': body(aliasDoc(5, () => page)),
        'lookups-20-nested': body(aliasDoc(20, (i) => `trip(id:"${ids[i % Math.max(1, ids.length)] ?? 'none'}"){id driver{id rating} riderStats{trips totalSpent}}`)),
        'fragment-doubling': body(`{ trips(first:100){edges{node{...F0}}} } ${frags}`),
        'depth-9': body('{ trips(first:100){ edges { node { driver { id } riderStats { trips } fare { amount } pickup { lat lng } } } pageInfo { hasNextPage } } }'),
        'introspection-deep': body(`{ __schema { types { name fields { name args { name type { ${typeRef(7)} } } type { ${typeRef(7)} } } } } }`),
        'directives-2000': body(`{ trips(first:1){ edges { node { id ${Array.from({ length: 1_200 }, () => '@include(if:true)').join(' ')} } } } }`),
      };
      const names = Object.keys(variants);
      const perVariant: Record<string, Outcomes> = {};
      const took: Record<string, number[]> = {};
      const r = await loopFor(4, t.seconds * 1_000, async (i) => {
        const name = names[i % names.length]!;
        const t0 = nowMs();
        const outcome = await gqlOutcome(t.gw.url, token, variants[name]!);
        (took[name] ??= []).push(nowMs() - t0);
        count((perVariant[name] ??= {}), outcome);
        return outcome;
      });
      // How long the attacker waited for each shape's answer: which shapes are heavy for the server.
      const answerMs = Object.fromEntries(Object.entries(took).map(([k, v]) => {
        const s = summarize(v);
        return [k, { p50: Math.round(s.p50), max: Math.round(s.max) }];
      }));
      return { requests: r.requests, variants: perVariant, answerMs };
    },
  },
  {
    id: 'ws-replay-one-socket',
    what: '60 `tripUpdated(after: <oldest cursor>)` on one socket (rider-0001, the busiest simulated rider)',
    async run(t) {
      const cursor = await oldestCursor(t);
      const s = new RawGqlSocket(t.gw.wsUrl, await t.token('rider-0001', 'rider'));
      const acked = await s.acked;
      for (let i = 0; i < 60; i++) s.subscribe(`r${i}`, TRIPS_SUB, { after: cursor });
      await sleep(t.seconds * 1_000);
      const out = { acked, messages: { ...s.outcomes }, payloadsReceived: s.nexts, closedByServer: await Promise.race([s.closed.then((c) => c.code), sleep(0).then(() => null)]) };
      await s.close();
      return out;
    },
  },
  {
    id: 'ws-replay-spread',
    what: '60 riders (rider-0001..0060) on 60 sockets, one oldest-cursor replay each',
    async run(t) {
      const cursor = await oldestCursor(t);
      const sockets = await openInBatches(60, 20, async (i) => new RawGqlSocket(t.gw.wsUrl, await t.token(`rider-${String(i + 1).padStart(4, '0')}`, 'rider')));
      const acked = (await Promise.all(sockets.map((s) => s.acked))).filter(Boolean).length;
      for (const s of sockets) s.subscribe('r', TRIPS_SUB, { after: cursor });
      await sleep(t.seconds * 1_000);
      const errors: Outcomes = {};
      for (const s of sockets) for (const [k, v] of Object.entries(s.outcomes)) count(errors, k, v);
      const out = { acked, messages: errors, payloadsReceived: sockets.reduce((a, s) => a + s.nexts, 0) };
      await closeAll(sockets);
      return out;
    },
  },
  {
    id: 'ws-subs-per-socket',
    what: '5,000 `tripUpdated` subscriptions on one socket (rider), then the socket dropped',
    async run(t) {
      const s = new RawGqlSocket(t.gw.wsUrl, await t.token('rider-attacker', 'rider'));
      const acked = await s.acked;
      for (let i = 0; i < 5_000; i++) s.subscribe(String(i), 'subscription { tripUpdated { kind tripId cursor trip { id status } } }');
      const refusedTotal = () => Object.entries(s.outcomes).filter(([k]) => k !== 'complete').reduce((a, [, v]) => a + v, 0);
      // Refusals arrive quickly; accepted subscriptions say nothing until a change of theirs.
      await until(() => refusedTotal() >= 4_900, t.seconds * 1_000);
      const out = { acked, refusedOrFailed: { ...s.outcomes }, acceptedAtMost: 5_000 - refusedTotal() };
      await s.close();
      return out;
    },
  },
  {
    id: 'ws-sockets-per-subject',
    what: '1,000 authenticated sockets of one subject (rider), 100 at a time',
    async run(t) {
      const token = await t.token('rider-sockets', 'rider');
      const sockets = await openInBatches(1_000, 100, async () => {
        const s = new RawGqlSocket(t.gw.wsUrl, token);
        await within(s.acked, 15_000, () => false);
        return s;
      });
      await sleep(1_000);
      const closes: Outcomes = {};
      let acked = 0;
      for (const s of sockets) {
        const c = await Promise.race([s.closed, sleep(0).then(() => undefined)]);
        if (c !== undefined) count(closes, `closed ${c.code}`);
        else if (await Promise.race([s.acked, sleep(0).then(() => false)])) acked++;
        else count(closes, 'open, not acked');
      }
      await closeAll(sockets);
      return { acked, ...closes };
    },
  },
  {
    id: 'ws-preauth',
    what: '1,000 websockets that never send connection_init, held for the class time',
    async run(t) {
      const sockets = await openInBatches(1_000, 100, async () => new RawGqlSocket(t.gw.wsUrl, undefined));
      await sleep(t.seconds * 1_000);
      const closes: Outcomes = {};
      for (const s of sockets) {
        const c = await Promise.race([s.closed, sleep(0).then(() => undefined)]);
        count(closes, c === undefined ? 'still open' : `closed ${c.code}${c.byServer ? ' by server' : ''}`);
      }
      await closeAll(sockets);
      return closes;
    },
  },
  {
    id: 'http-anonymous',
    what: 'no credentials: forged tokens (alg none, wrong key, 8 KB garbage) on /graphql, GET /metrics and /healthz, 8 at a time',
    async run(t) {
      const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const claims = b64({ sub: 'ops-forged', role: 'ops', exp: Math.floor(Date.now() / 1_000) + 3_600 });
      const wrongKey = await signToken('not-the-bench-secret-0123456789abcdef-xyz', { sub: 'ops-forged', role: 'ops' }, 3_600);
      const forged = [`${b64({ alg: 'none', typ: 'JWT' })}.${claims}.`, wrongKey, 'x'.repeat(8_192)];
      const origin = new URL(t.gw.url).origin;
      const perTarget: Record<string, Outcomes> = {};
      const r = await loopFor(8, t.seconds * 1_000, async (i) => {
        const kind = i % 5;
        let name: string;
        let outcome: string;
        if (kind < 3) {
          name = ['alg-none', 'wrong-key', 'garbage-8KB'][kind]!;
          outcome = await gqlOutcome(t.gw.url, forged[kind]!, body('{ trips(first: 100) { edges { node { id } } } }'));
        } else {
          name = kind === 3 ? 'GET /metrics' : 'GET /healthz';
          try {
            const res = await fetch(`${origin}${kind === 3 ? '/metrics' : '/healthz'}`, { signal: AbortSignal.timeout(30_000) });
            await res.arrayBuffer();
            outcome = `HTTP ${res.status}`;
          } catch (err) {
            outcome = `client error ${(err as Error).name}`;
          }
        }
        count((perTarget[name] ??= {}), outcome);
        return outcome;
      });
      return { requests: r.requests, targets: perTarget };
    },
  },
  {
    id: 'http-slowloris',
    what: '1,000 HTTP connections sending a request\'s headers one line a second, held for the class time',
    async run(t) {
      const conns = await openInBatches(1_000, 100, async () => {
        const c = new RawTcp(t.gw.httpPort, ATTACKER);
        await c.connected;
        c.write('POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n');
        return c;
      });
      const end = nowMs() + t.seconds * 1_000;
      for (let n = 0; nowMs() < end; n++) {
        await sleep(1_000);
        for (const c of conns) c.write(`X-Slow-${n}: a\r\n`);
      }
      const out: Outcomes = {};
      for (const c of conns) count(out, c.closedByServer ? `closed by server${c.received.length > 0 ? ` (${c.received.toString('latin1').split('\r\n')[0]})` : ''}` : 'still open');
      await closeAll(conns);
      return out;
    },
  },
  {
    id: 'http-gzip-bomb',
    what: 'gzip bombs: 60 MB of spaces in ~60 KB (under the body limit), 4 at a time',
    async run(t) {
      const bomb = gzipSync(Buffer.alloc(60 * 1024 * 1024, 32), { level: 9 });
      const token = await t.token('rider-attacker', 'rider');
      return { compressedBytes: bomb.length, ...await loopFor(4, t.seconds * 1_000, () => gqlOutcome(t.gw.url, token, bomb, { 'content-encoding': 'gzip' })) };
    },
  },
  {
    id: 'sql-preauth-100',
    what: '100 TCP connections to the SQL port that never send a byte; a real user logs in meanwhile',
    async run(t) {
      const conns = await openInBatches(100, 50, async () => {
        const c = new RawTcp(t.gw.sqlPort, ATTACKER);
        await c.connected;
        return c;
      });
      await sleep(1_000);
      const login = await sqlLogin(t.gw.sqlPort, SQL_ANALYST.user, SQL_ANALYST.password);
      await login.client?.end().catch(() => undefined);
      await sleep(Math.max(0, t.seconds * 1_000 - 1_000 - login.ms));
      const held: Outcomes = {};
      for (const c of conns) count(held, c.closedByServer ? 'closed by server' : 'still open');
      await closeAll(conns);
      return { realUserLogin: login.outcome, realUserLoginMs: login.ms, silentSockets: held };
    },
  },
  {
    id: 'sql-slowloris',
    what: '100 SQL connections sending the startup packet one byte every 500 ms; a real user logs in meanwhile',
    async run(t) {
      const packet = startupPacket(SQL_ANALYST.user);
      const conns = await openInBatches(100, 50, async () => {
        const c = new RawTcp(t.gw.sqlPort, ATTACKER);
        await c.connected;
        return c;
      });
      const end = nowMs() + t.seconds * 1_000;
      let login: { outcome: string; ms: number } | undefined;
      for (let i = 0; nowMs() < end && i < packet.length; i++) {
        for (const c of conns) c.write(packet.subarray(i, i + 1));
        if (i === 4) {
          const l = await sqlLogin(t.gw.sqlPort, SQL_ANALYST.user, SQL_ANALYST.password);
          await l.client?.end().catch(() => undefined);
          login = { outcome: l.outcome, ms: l.ms };
        }
        await sleep(500);
      }
      const held: Outcomes = {};
      for (const c of conns) count(held, c.closedByServer ? `closed by server${c.received.length > 0 ? ` (${await awaitFirstMessage(c, 0)})` : ''}` : 'still open');
      await closeAll(conns);
      return { realUserLogin: login?.outcome, realUserLoginMs: login?.ms, packetBytes: packet.length, slowSockets: held };
    },
  },
  {
    id: 'sql-refused-300',
    what: 'SQL connection limit filled with logged-in sessions, then 300 startup packets that are refused and whose sockets the client keeps open',
    budgetS: 90,
    async run(t) {
      const clients: pg.Client[] = [];
      let fillRefusal: string | undefined;
      // Other BI users' sessions, 25 per address (127.0.0.10 and up), 4 logins at a time.
      for (let i = 0; i < 130 && fillRefusal === undefined; i += 4) {
        const batch = await Promise.all(Array.from({ length: 4 }, (_, k) => sqlLogin(t.gw.sqlPort, SQL_ANALYST.user, SQL_ANALYST.password, 15_000, `127.0.0.${10 + Math.floor((i + k) / 25)}`)));
        for (const b of batch) {
          if (b.client !== undefined) clients.push(b.client);
          else fillRefusal ??= b.outcome;
        }
      }
      const raw = await openInBatches(300, 50, async () => {
        const c = new RawTcp(t.gw.sqlPort, ATTACKER);
        await c.connected;
        c.write(startupPacket(SQL_ANALYST.user));
        return c;
      });
      const answers: Outcomes = {};
      for (const c of raw) count(answers, await awaitFirstMessage(c, 10_000));
      const realUser = await sqlLogin(t.gw.sqlPort, SQL_ANALYST.user, SQL_ANALYST.password, 10_000);
      await realUser.client?.end().catch(() => undefined);
      await sleep(5_000);
      const whileHeld = procStats(t.gw.pid);
      const held: Outcomes = {};
      for (const c of raw) count(held, c.closedByServer ? 'EOF from server' : 'still open');
      await closeAll(raw);
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      return { sessionsOpened: clients.length, fillRefusal, refusedAnswers: answers, refusedSockets5sLater: held, gatewayWhileHeld: whileHeld, realUserAtLimit: realUser.outcome };
    },
  },
  {
    id: 'sql-wrong-password',
    what: 'wrong-password logins for the class time, 8 at a time; then the right password',
    async run(t) {
      const flood = await loopFor(8, t.seconds * 1_000, async () => {
        const r = await sqlLogin(t.gw.sqlPort, SQL_ANALYST.user, 'not-the-password', 15_000, ATTACKER);
        await r.client?.end().catch(() => undefined);
        return r.outcome;
      });
      // The attacked user with the right password, then another user, both from the real users' address.
      const right = await sqlLogin(t.gw.sqlPort, SQL_ANALYST.user, SQL_ANALYST.password);
      await right.client?.end().catch(() => undefined);
      const other = await sqlLogin(t.gw.sqlPort, SQL_OPS.user, SQL_OPS.password);
      await other.client?.end().catch(() => undefined);
      return { attempts: flood.requests, outcomes: flood.outcomes, rightPasswordAfter: right.outcome, rightPasswordMs: right.ms, otherUserAfter: other.outcome, otherUserMs: other.ms };
    },
  },
  {
    id: 'sql-prepared-4mb',
    what: '40 named prepared statements of 4 MB each on one session (analyst), held, then the session closed',
    budgetS: 120,
    async run(t) {
      const login = await sqlLogin(t.gw.sqlPort, SQL_ANALYST.user, SQL_ANALYST.password, 15_000, ATTACKER);
      if (login.client === undefined) return { login: login.outcome };
      const client = login.client;
      const filler = 'x'.repeat(4 * 1024 * 1024 - 64);
      const outcomes: Outcomes = {};
      let ended = false; // the server closed the session (a FATAL limit): stop sending
      client.once('end', () => (ended = true));
      const t0 = nowMs();
      for (let i = 0; i < 40 && !ended && nowMs() - t0 < 100_000; i++) {
        try {
          await client.query({ name: `big${i}`, text: `select ${i} as v /* ${filler} */` });
          count(outcomes, 'prepared');
        } catch (err) {
          count(outcomes, sqlOutcome(err));
        }
      }
      const withSessionOpen = procStats(t.gw.pid);
      await client.end().catch(() => undefined);
      return { outcomes, seconds: +((nowMs() - t0) / 1_000).toFixed(1), gatewayWithSessionOpen: withSessionOpen };
    },
  },
  {
    id: 'sql-pathological',
    what: 'statements that fool the plan-cost gate (analyst, statement_timeout 5 s): a 16 M-row cross join of generate_subscripts over string_to_array, string builders of 200 MB (format, string_agg), repeat',
    budgetS: 150,
    async run(t) {
      const login = await sqlLogin(t.gw.sqlPort, SQL_ANALYST.user, SQL_ANALYST.password, 15_000, ATTACKER);
      if (login.client === undefined) return { login: login.outcome };
      const client = login.client;
      // repeat, lpad and rpad are not on the allowlist: the long inputs are literals (8 KB of SQL each).
      const list = (n: number) => `string_to_array('${'a,'.repeat(n - 1)}a', ',')`;
      const statements: Record<string, string> = {
        'cross-join-generate_subscripts-16M': `select count(*) from generate_subscripts(${list(4_000)}, 1) a cross join generate_subscripts(${list(4_000)}, 1) b`,
        'format-200MB': "select length(format('%200000000s', ''))",
        'string_agg-200MB': `select length(string_agg('${'x'.repeat(50)}', '')) from generate_subscripts(${list(2_000)}, 1) a cross join generate_subscripts(${list(2_000)}, 1) b`,
        'repeat-200MB (not allowlisted)': "select length(repeat('x', 200000000))",
      };
      const out: Record<string, string> = {};
      try {
        await client.query('SET statement_timeout = 5000');
      } catch (err) {
        out['SET statement_timeout'] = sqlOutcome(err);
      }
      for (const [name, sql] of Object.entries(statements)) {
        const t0 = nowMs();
        let outcome: string;
        try {
          await client.query({ text: sql, query_timeout: 60_000 } as pg.QueryConfig);
          outcome = 'ran';
        } catch (err) {
          outcome = sqlOutcome(err);
        }
        out[name] = `${outcome} in ${((nowMs() - t0) / 1_000).toFixed(1)} s`;
        if (outcome === 'Query read timeout') break;
      }
      await client.end().catch(() => undefined);
      return out;
    },
  },
];

interface ClassResult {
  id: string;
  what: string;
  seconds: number;
  probe: { count: number; p50: number; p99: number; max: number; failed: number; failures: Outcomes };
  gateway: { before: ProcStats | null; peak: ProcStats | null; after: ProcStats | null };
  logged: { warn: number; error: number; lastErrors: string[] };
  attacker: Record<string, unknown>;
}

async function runClass(c: AttackClass, t: Target, probe: ChildRpc): Promise<ClassResult> {
  const gw = t.gw;
  note(`== ${c.id}: ${c.what}`);
  const before = procStats(gw.pid);
  let peak = before === null ? null : { ...before };
  const sampler = setInterval(() => {
    const s = procStats(gw.pid);
    if (s !== null && peak !== null) peak = { rssMiB: Math.max(peak.rssMiB, s.rssMiB), fds: Math.max(peak.fds, s.fds) };
  }, 250);
  const logsBefore = { warn: gw.logs.warn, error: gw.logs.error };
  await probe.call('take'); // drop the probes of the gap between classes
  const t0 = nowMs();
  const budgetMs = ((c.budgetS ?? t.seconds) + 30) * 1_000;
  let attacker: Record<string, unknown>;
  try {
    attacker = await within(c.run(t), budgetMs, () => ({ cutOff: `attack still running after ${budgetMs / 1_000} s` }));
  } catch (err) {
    attacker = { benchError: err instanceof Error ? err.message : String(err) };
  }
  const seconds = +((nowMs() - t0) / 1_000).toFixed(1);
  const samples = await probe.call<ProbeSample[]>('take');
  clearInterval(sampler);
  // Settle: `settle` seconds, then until the descriptors are back near where they were (at most 10 s more).
  await sleep(flags.settle * 1_000);
  await until(() => (procStats(gw.pid)?.fds ?? 0) <= (before?.fds ?? 0) + 2, 10_000);
  const after = procStats(gw.pid);
  const failures: Outcomes = {};
  for (const s of samples) if (s.failure !== undefined) count(failures, s.failure);
  const lat = summarize(samples.map((s) => s.ms));
  const result: ClassResult = {
    id: c.id, what: c.what, seconds,
    probe: { count: lat.count, p50: lat.p50, p99: lat.p99, max: lat.max, failed: samples.filter((s) => s.failure !== undefined).length, failures },
    gateway: { before, peak, after },
    logged: { warn: gw.logs.warn - logsBefore.warn, error: gw.logs.error - logsBefore.error, lastErrors: gw.logs.error > logsBefore.error ? [...gw.logs.lastErrors] : [] },
    attacker,
  };
  note(`   probe p50 ${lat.p50} ms p99 ${lat.p99} ms max ${lat.max} ms, ${result.probe.failed}/${lat.count} failed ${JSON.stringify(failures)}`);
  note(`   gateway rss ${before?.rssMiB}→${peak?.rssMiB}→${after?.rssMiB} MiB, fds ${before?.fds}→${peak?.fds}→${after?.fds}; logged warn ${result.logged.warn} error ${result.logged.error}`);
  note(`   attacker: ${JSON.stringify(attacker)}`);
  return result;
}

/**
 * SIGTERM, then how long until the process exits (SIGKILL after `limitMs`), and what it logged
 * meanwhile (the shutdown steps it reached: where it hangs when it does).
 */
async function stopGateway(gw: GatewayProcess, limitMs: number): Promise<{ exitedAfterMs: number | null; exitCode: number | null; killed: boolean; loggedAfterSigterm: string[] }> {
  if (gw.proc.exitCode !== null) return { exitedAfterMs: 0, exitCode: gw.proc.exitCode, killed: false, loggedAfterSigterm: [] };
  const exited = new Promise<void>((resolve) => gw.proc.once('exit', () => resolve()));
  const from = gw.logs.messages.length;
  const t0 = nowMs();
  gw.proc.kill('SIGTERM');
  const inTime = await within(exited.then(() => true), limitMs, () => false);
  const logged = () => gw.logs.messages.slice(from);
  if (inTime) return { exitedAfterMs: Math.round(nowMs() - t0), exitCode: gw.proc.exitCode, killed: false, loggedAfterSigterm: logged() };
  gw.proc.kill('SIGKILL');
  await exited;
  return { exitedAfterMs: null, exitCode: null, killed: true, loggedAfterSigterm: logged() };
}

/**
 * Does SIGTERM stop a gateway, with and without one refused SQL login? Each on its own fresh gateway
 * (SQL connection limit 1), so the main run's many classes are not what is measured.
 */
async function shutdownChecks(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const refusal of [false, true]) {
    const gw = await startGatewayProcess({ WAVEGATE_SQL_MAX_CONNECTIONS: '1', WAVEGATE_SIMULATE: 'off' });
    let refused: string | undefined;
    if (refusal) {
      const held = await sqlLogin(gw.sqlPort, SQL_ANALYST.user, SQL_ANALYST.password);
      const second = await sqlLogin(gw.sqlPort, SQL_ANALYST.user, SQL_ANALYST.password);
      refused = second.outcome;
      await second.client?.end().catch(() => undefined);
      await held.client?.end().catch(() => undefined);
      await sleep(1_000);
    }
    const stopped = await stopGateway(gw, 30_000);
    out[refusal ? 'afterOneRefusedLogin' : 'control'] = { ...(refused !== undefined ? { secondLogin: refused } : {}), ...stopped };
    note(`SIGTERM on a fresh gateway ${refusal ? `after one refused login (${refused})` : 'with no SQL client (control)'}: ${JSON.stringify(stopped)}`);
  }
  return out;
}

/** The results as a Markdown table (for docs/benchmarks.md). */
function table(results: readonly ClassResult[]): string {
  const lines = [
    '| class | probe p50 / p99 / max (ms) | probes failed | gateway RSS MiB before → peak → after | fds before → peak → after | attacker got |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const g = r.gateway;
    lines.push(`| ${r.id} | ${r.probe.p50} / ${r.probe.p99} / ${r.probe.max} | ${r.probe.failed}/${r.probe.count} | ${g.before?.rssMiB} → ${g.peak?.rssMiB} → ${g.after?.rssMiB} | ${g.before?.fds} → ${g.peak?.fds} → ${g.after?.fds} | ${JSON.stringify(r.attacker).replace(/\|/g, '\\|')} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  for (const a of classArgs) if (!CLASSES.some((c) => c.id === a)) throw new Error(`unknown class ${a}: one of ${CLASSES.map((c) => c.id).join(', ')}`);
  const chosen = classArgs.length > 0 ? CLASSES.filter((c) => classArgs.includes(c.id)) : CLASSES;
  const env = environment();
  const loadAtStart = { ...machineLoad(), loadavg: loadavg().map((x) => +x.toFixed(2)), nproc: cpus().length };
  note(`machine: ${JSON.stringify(env)} load ${JSON.stringify(loadAtStart)}`);
  let gw: GatewayProcess | undefined;
  let probe: ChildRpc | undefined;
  const cancel = deadline(flags.timeout, async () => {
    gw?.proc.kill('SIGKILL');
    await probe?.close();
  });
  gw = await startGatewayProcess();
  note(`gateway pid ${gw.pid} at ${gw.url}, SQL port ${gw.sqlPort}; warming up ${flags.warmup} s (the simulator fills the change log)`);
  const tokens = new Map<string, Promise<string>>();
  const target: Target = {
    gw, seconds: flags.seconds,
    token: (sub, role = 'rider') => {
      const key = `${sub}|${role}`;
      let tk = tokens.get(key);
      if (tk === undefined) tokens.set(key, (tk = benchToken(sub, role)));
      return tk;
    },
  };
  probe = ChildRpc.fork(join(__dirname, 'abuseProbe.js'));
  await probe.call('start', { url: gw.url, token: await target.token('rider-0002', 'rider'), intervalMs: flags.probeMs, timeoutMs: flags.probeTimeoutMs });
  await sleep(flags.warmup * 1_000);
  const baseline = await probe.call<ProbeSample[]>('take');
  const base = summarize(baseline.map((s) => s.ms));
  const baselineResult = { count: base.count, p50: base.p50, p99: base.p99, max: base.max, failed: baseline.filter((s) => s.failure !== undefined).length, gateway: procStats(gw.pid) };
  note(`baseline (no attack, warm-up): probe p50 ${base.p50} ms p99 ${base.p99} ms, ${baselineResult.failed}/${base.count} failed; gateway ${JSON.stringify(baselineResult.gateway)}`);

  const results: ClassResult[] = [];
  for (const c of chosen) {
    if (gw.proc.exitCode !== null) {
      note(`the gateway has exited (code ${gw.proc.exitCode}): stopping`);
      break;
    }
    results.push(await runClass(c, target, probe));
  }
  await probe.call('stop');
  await probe.close();
  const shutdown = await stopGateway(gw, 30_000);
  note(`SIGTERM: ${JSON.stringify(shutdown)}`);
  const shutdownOnFreshGateways = flags.shutdownChecks > 0 ? await shutdownChecks() : 'skipped (--shutdownChecks=0)';
  cancel();
  const loadAtEnd = { ...machineLoad(), loadavg: loadavg().map((x) => +x.toFixed(2)) };
  process.stderr.write(`\n${table(results)}\n\n`);
  emit({
    bench: 'abuse', ...env, loadAtStart, loadAtEnd,
    params: { ...flags, probeQuery: 'rider trips(first: 5), new connection each' },
    baseline: baselineResult, classes: results, shutdown, shutdownOnFreshGateways,
  });
}

runMain(main);
