/**
 * Hostile GraphQL over HTTP against a real gateway (embedded engine, real HTTP): alias
 * amplification and its caps (issue 11 item 4), the request deadline and fair sharing of the engine
 * between viewers, and bad input that used to surface as internal errors (item 10). The engine is
 * wrapped only to count and order the statements that reach it and to hold one when a test needs
 * the engine busy; every assertion is on a refusal, a code or a count, never on time.
 */
import { gzipSync } from 'node:zlib';
import type { QueryOptions } from '../../src/engine/types';
import { recordingLogger, type RecordingLogger } from '../../src/log';
import { busyUntilDeadline, startTestGateway, withQuery, writeRides, type BusyEngine, type GqlResponse, type TestGateway } from '../helpers/gateway';
import { waitFor } from '../helpers/waitFor';

/** Statements that reached the engine, with their first parameter (a trip or rider id). */
const seen: string[] = [];
/** When set, the next statement waits for it before running. */
let gate: Promise<void> | undefined;
let log: RecordingLogger;
let t: TestGateway;
let ops: string;

beforeAll(async () => {
  log = recordingLogger();
  t = await startTestGateway({
    log,
    // Long enough that queries held behind the gate never time out on a busy machine.
    limits: { requestTimeoutMs: 120_000 },
    wrapEngine: (engine) => withQuery(engine, async function query<R>(sql: string, params: readonly unknown[] = [], options?: QueryOptions): Promise<R[]> {
      seen.push(String(params[0]));
      const wait = gate;
      gate = undefined;
      if (wait !== undefined) await wait;
      return engine.query<R>(sql, params, options);
    }),
  });
  ops = await t.token('ops-1', 'ops');
  await writeRides(t.engine, [{ id: 'r1', rider: 'rider-1', driver: 'driver-1', requestedAt: new Date('2026-10-01T10:00:00Z') }]);
}, 180_000);
afterAll(async () => t?.dispose());

const codes = (r: GqlResponse<unknown>) => (r.body.errors ?? []).map((e) => e.extensions?.['code']);
const limitsHit = (r: GqlResponse<unknown>) => (r.body.errors ?? []).map((e) => (e.extensions?.['details'] as { limit?: string } | undefined)?.limit);
const aliases = (n: number, field: (i: number) => string) => `{ ${Array.from({ length: n }, (_, i) => `a${i}:${field(i)}`).join(' ')} }`;

/** A root field that sends one statement of its own (its first parameter is its `from`). */
const pageOf = (i: number) => `trips(first: 1, from: "2026-01-01T00:00:${String(i).padStart(2, '0')}Z") { edges { cursor } }`;

/** Runs `fn` and returns how many statements reached the engine meanwhile. */
async function statements<T>(fn: () => Promise<T>): Promise<{ result: T; count: number }> {
  const before = seen.length;
  const result = await fn();
  return { result, count: seen.length - before };
}

describe('alias amplification (item 4)', () => {
  it('refuses the ~100 KB document of 4,900 trip(id:) aliases while parsing (token limit), before any statement', async () => {
    const doc = `{ ${Array.from({ length: 4900 }, (_, i) => `a${i.toString(36)}:trip(id:1){id}`).join(' ')} }`;
    expect(Buffer.byteLength(JSON.stringify({ query: doc }))).toBeLessThan(t.config.limits.maxBodyBytes); // under the body limit, as in the attack
    const { result, count } = await statements(() => t.gql(doc, undefined, ops));
    expect(result.status).toBe(400);
    expect(codes(result)).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(result.body.errors?.[0]?.message).toMatch(/5000 tokens/);
    expect(count).toBe(0);
    const pages = await statements(() => t.gql(aliases(2500, () => 'trips(first:1){edges{cursor}}'), undefined, ops));
    expect(codes(pages.result)).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(pages.count).toBe(0);
  });

  it('under the token limit, caps root fields, aliases and database cost (QUERY_TOO_COSTLY naming the limit), before any statement', async () => {
    const rootFields = await statements(() => t.gql(aliases(21, (i) => `trip(id:"${i}"){id}`), undefined, ops));
    expect([rootFields.result.status, codes(rootFields.result), limitsHit(rootFields.result), rootFields.count]).toEqual([400, ['QUERY_TOO_COSTLY'], ['maxRootFields'], 0]);
    const nested = await statements(() => t.gql(`{ trip(id: "r1") { ${Array.from({ length: 31 }, (_, i) => `f${i}: id`).join(' ')} } }`, undefined, ops));
    expect([nested.result.status, limitsHit(nested.result), nested.count]).toEqual([400, ['maxAliases'], 0]);
    // 10 full pages of 100 trips with their drivers: 10 root fields, but over 10,000 cost units of reads.
    const pages = await statements(() => t.gql(aliases(10, () => 'trips(first:100){edges{node{id status requestedAt fare{amount currency} driver{id rating}}}}'), undefined, ops));
    expect([pages.result.status, limitsHit(pages.result), pages.count]).toEqual([400, ['maxCost'], 0]);
    expect(pages.result.body.errors?.[0]?.extensions?.['details']).toMatchObject({ maxCost: 10_000 });
  });

  it('runs a request at the caps: 20 lookups send at most 40 statements (batched by the DataLoader: one)', async () => {
    const { result, count } = await statements(() => t.gql(aliases(20, (i) => `trip(id:"${i === 0 ? 'r1' : `none-${i}`}"){id}`), undefined, ops));
    expect(result.status).toBe(200);
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data?.['a0']).toEqual({ id: 'r1' });
    expect(result.body.data?.['a1']).toBeNull();
    expect(count).toBeLessThanOrEqual(40);
    expect(count).toBe(1);
  });
});

describe('fair sharing of the engine', () => {
  it('serves another rider’s query after at most one more of the attacker’s, not after its whole backlog', async () => {
    const attacker = await t.token('rider-attacker', 'rider');
    const victim = await t.token('rider-victim', 'rider');
    let open!: () => void;
    gate = new Promise<void>((r) => (open = r));
    const start = seen.length;
    // 20 pages at once, one statement each (lookups would be batched into one by the DataLoader):
    // the first holds the engine (concurrency 1 on PGlite), 19 wait.
    const flood = t.gql(aliases(20, pageOf), undefined, attacker);
    let own: Promise<GqlResponse> | undefined;
    try {
      await waitFor(() => t.gateway.scheduler.waiting === 19, 60_000);
      own = t.gql('{ trip(id: "vic-1") { id } }', undefined, victim);
      await waitFor(() => t.gateway.scheduler.waiting === 20, 60_000);
    } finally {
      open();
    }
    const [floodResult, ownResult] = await Promise.all([flood, own]);
    expect(ownResult).toEqual({ status: 200, body: { data: { trip: null } } });
    expect(floodResult.status).toBe(200);
    const order = seen.slice(start);
    // FIFO would run the victim's query 21st; round-robin runs it third (held one, one more of the attacker's, then the victim's).
    expect(order.indexOf('vic-1')).toBe(2);
  });
});

describe('a client that goes away', () => {
  it('takes its waiting queries with it: they are dropped, not run for nobody', async () => {
    const quitter = await t.token('rider-quitter', 'rider');
    let open!: () => void;
    gate = new Promise<void>((r) => (open = r));
    const start = seen.length;
    const controller = new AbortController();
    const request = fetch(t.url, {
      method: 'POST', signal: controller.signal,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${quitter}` },
      body: JSON.stringify({ query: aliases(5, pageOf) }),
    }).catch((err: unknown) => err);
    try {
      await waitFor(() => t.gateway.scheduler.waiting === 4, 60_000);
      controller.abort();
      expect(await request).toMatchObject({ name: 'AbortError' });
      await waitFor(() => t.gateway.scheduler.waiting === 0, 60_000);
    } finally {
      open();
    }
    await waitFor(() => t.gateway.scheduler.active === 0, 60_000);
    // Only the statement already running when the client left reached the engine.
    expect(seen.slice(start)).toEqual(['2026-01-01T00:00:00.000Z']);
  });
});

describe('bad input is a typed client error, never an internal one (item 10)', () => {
  const forgedCursor = Buffer.from(JSON.stringify({ v: 1, t: '2026-13-45 99:99:99', id: 'r1' })).toString('base64url');
  const post = (body: Buffer | string, headers: Record<string, string>) =>
    fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ops}`, ...headers }, body });

  it('refuses NUL bytes, over-long IDs, impossible instants and forged cursors with BAD_USER_INPUT or a validation error', async () => {
    const q = 'query($id: ID!) { trip(id: $id) { id } }';
    const cases: Array<[string, Promise<GqlResponse>, number, string]> = [
      ['NUL in an ID variable', t.gql(q, { id: 'r1\u0000' }, ops), 400, 'BAD_USER_INPUT'],
      ['NUL in an ID literal', t.gql('{ trip(id: "r1\\u0000") { id } }', undefined, ops), 400, 'GRAPHQL_VALIDATION_FAILED'],
      ['an over-long ID', t.gql(q, { id: 'x'.repeat(129) }, ops), 400, 'BAD_USER_INPUT'],
      ['year 0000 as a literal', t.gql('{ trips(from: "0000-01-01T00:00:00Z") { edges { cursor } } }', undefined, ops), 400, 'GRAPHQL_VALIDATION_FAILED'],
      ['year 0000 as a variable', t.gql('query($f: DateTime) { trips(from: $f) { edges { cursor } } }', { f: '0000-01-01T00:00:00Z' }, ops), 400, 'BAD_USER_INPUT'],
      ['February 30', t.gql('query($f: DateTime) { trips(from: $f) { edges { cursor } } }', { f: '2026-02-30T00:00:00Z' }, ops), 400, 'BAD_USER_INPUT'],
      ['a Date in year 0000', t.gql('{ driverEarnings(driverId: "d", from: "0000-01-01") { day } }', undefined, ops), 400, 'GRAPHQL_VALIDATION_FAILED'],
      ['a forged page cursor', t.gql('query($a: String) { trips(after: $a) { edges { cursor } } }', { a: forgedCursor }, ops), 200, 'BAD_USER_INPUT'],
      ['NUL in a filter', t.gql('query($r: ID) { trips(riderId: $r) { edges { cursor } } }', { r: '\u0000' }, ops), 400, 'BAD_USER_INPUT'],
    ];
    for (const [name, pending, status, code] of cases) {
      const r = await pending;
      expect([name, r.status, codes(r)]).toEqual([name, status, [code]]);
    }
  });

  it('answers a body that does not match its Content-Encoding with 400, an unknown encoding with 415, a gzip bomb with 413', async () => {
    const notGzip = await post('{"query":"{ __typename }"}', { 'content-encoding': 'gzip' });
    expect(notGzip.status).toBe(400);
    expect(await notGzip.json()).toEqual({ errors: [{ message: 'Request body could not be read: it does not match its Content-Encoding', extensions: { code: 'BAD_REQUEST' } }] });
    const unknown = await post('{"query":"{ __typename }"}', { 'content-encoding': 'compress' });
    expect([unknown.status, ((await unknown.json()) as GqlResponse['body']).errors?.[0]?.extensions?.['code']]).toEqual([415, 'BAD_REQUEST']);
    const bomb = await post(gzipSync(Buffer.alloc(5_000_000, 32)), { 'content-encoding': 'gzip' });
    expect(bomb.status).toBe(413);
    const real = await post(gzipSync('{"query":"{ trip(id: \\"r1\\") { id } }"}'), { 'content-encoding': 'gzip' });
    expect([real.status, await real.json()]).toEqual([200, { data: { trip: { id: 'r1' } } }]);
  });

  it('refuses `mutation { x }` at validation and a POSTed subscription with 400 BAD_REQUEST', async () => {
    const mutation = await t.gql('mutation { x }', undefined, ops);
    expect([mutation.status, codes(mutation), mutation.body.errors?.[0]?.message]).toEqual([400, ['GRAPHQL_VALIDATION_FAILED'], 'This API has no mutation operations']);
    const sub = await t.gql('subscription { tripUpdated { kind } }', undefined, ops);
    expect([sub.status, codes(sub)]).toEqual([400, ['BAD_REQUEST']]);
    expect(sub.body.errors?.[0]?.message).toMatch(/websockets/);
  });

  it('logged nothing at error level for any of it', () => {
    expect(log.lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([]);
  });
});

describe('the request deadline', () => {
  let d: TestGateway;
  let busy: BusyEngine | undefined;
  beforeAll(async () => {
    // The first statement keeps the engine busy until the request's deadline passes.
    d = await startTestGateway({ limits: { requestTimeoutMs: 300 }, wrapEngine: (engine) => (busy = busyUntilDeadline(engine)).engine });
  }, 180_000);
  afterAll(async () => d?.dispose());

  it('fails every root field with REQUEST_TIMEOUT once it passes; queries still waiting never run', async () => {
    const token = await d.token('ops-1', 'ops');
    const r = await d.gql('{ a: trip(id: "x") { id } b: trip(id: "y") { id } c: riderStats(riderId: "r") { trips } }', undefined, token);
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual({ a: null, b: null, c: null });
    expect(codes(r)).toEqual(['REQUEST_TIMEOUT', 'REQUEST_TIMEOUT', 'REQUEST_TIMEOUT']);
    expect(r.body.errors?.[0]?.extensions?.['details']).toEqual({ timeoutMs: 300 });
    // Only the held statement reached the engine; the two behind it were dropped from the queue.
    expect(busy?.calls).toBe(1);
    // The deadline is per request: the next one runs.
    expect(await d.gql('{ trip(id: "x") { id } }', undefined, token)).toEqual({ status: 200, body: { data: { trip: null } } });
  });
});
