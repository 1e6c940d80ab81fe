/**
 * Bad requests over HTTP: malformed GraphQL, unknown fields, depth and cost limits, oversized and
 * malformed bodies, masked internal errors. After each, a good query still answers.
 */
import { getIntrospectionQuery } from 'graphql';
import type { Engine } from '../../src/engine/types';
import { GatewayError, GatewayErrorCode } from '../../src/errors';
import { recordingLogger, type RecordingLogger } from '../../src/log';
import { startTestGateway, writeRides, type GqlResponse, type TestGateway } from '../helpers/gateway';

let t: TestGateway;
let ops: string;
let log: RecordingLogger;
let failNext: Error | undefined;

beforeAll(async () => {
  log = recordingLogger();
  t = await startTestGateway({
    log,
    limits: { maxDepth: 4, maxCost: 500 },
    wrapEngine: (engine): Engine => ({
      kind: engine.kind,
      views: engine.views,
      feed: engine.feed,
      ready: () => engine.ready(),
      close: () => engine.close(),
      query: (sql, params) => {
        const err = failNext;
        failNext = undefined;
        return err !== undefined ? Promise.reject(err) : engine.query(sql, params);
      },
    }),
  });
  ops = await t.token('ops-1', 'ops');
  await writeRides(t.engine, [{ id: 'r1', rider: 'rider-1', driver: 'driver-1', requestedAt: new Date('2026-10-01T10:00:00Z') }]);
});
afterAll(async () => t?.dispose());

const codes = (r: GqlResponse<unknown>) => (r.body.errors ?? []).map((e) => e.extensions?.['code']);

async function stillServes(): Promise<void> {
  const r = await t.gql<{ trip: { id: string } }>('{ trip(id: "r1") { id } }', undefined, ops);
  expect(r).toEqual({ status: 200, body: { data: { trip: { id: 'r1' } } } });
}

describe('request errors', () => {
  it('malformed GraphQL → 400 GRAPHQL_PARSE_FAILED', async () => {
    const r = await t.gql('{ trips { edges ', undefined, ops);
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['GRAPHQL_PARSE_FAILED']);
    await stillServes();
  });

  it('unknown field → 400 GRAPHQL_VALIDATION_FAILED', async () => {
    const r = await t.gql('{ trip(id: "r1") { id password } }', undefined, ops);
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(r.body.errors?.[0]?.message).toContain('password');
    await stillServes();
  });

  it('bad variable → 400 BAD_USER_INPUT', async () => {
    const r = await t.gql('query($s: TripStatus) { trips(status: $s) { edges { cursor } } }', { s: 'FLYING' }, ops);
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['BAD_USER_INPUT']);
    await stillServes();
  });

  it('over the depth limit → 400 QUERY_TOO_DEEP, fragments and inline fragments counted', async () => {
    // Limit 4: trips(1) edges(2) node(3) id(4) is fine; ... driver(4) id(5) is not.
    expect((await t.gql('{ trips { edges { node { id } } } }', undefined, ops)).body.errors).toBeUndefined();
    const r = await t.gql('{ trips { edges { node { driver { id } } } } }', undefined, ops);
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['QUERY_TOO_DEEP']);
    expect(r.body.errors?.[0]?.message).toBe('Query depth 5 exceeds the limit of 4');
    const viaFragments = await t.gql(`{ trips { ...E } }
      fragment E on TripConnection { edges { ...N } }
      fragment N on TripEdge { node { ... on Trip { fare { ...M } } } }
      fragment M on Money { amount }`, undefined, ops);
    expect(codes(viaFragments)).toEqual(['QUERY_TOO_DEEP']);
    expect(viaFragments.body.errors?.[0]?.message).toBe('Query depth 5 exceeds the limit of 4');
    await stillServes();
  });

  it('over the cost limit → 400 QUERY_TOO_COSTLY; `first` multiplies, variables without default count as the max page', async () => {
    // 1 + 20 × (edges 1 + node 1 + id 1) = 61: fine. first: 100 → 301. Two aliases of 100 → 602 > 500.
    expect((await t.gql('{ trips { edges { node { id } } } }', undefined, ops)).body.errors).toBeUndefined();
    const r = await t.gql('{ a: trips(first: 100) { edges { node { id } } } b: trips(first: 100) { edges { node { id } } } }', undefined, ops);
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['QUERY_TOO_COSTLY']);
    const v = await t.gql('query($n: Int) { a: trips(first: $n) { edges { node { id } } } b: trips(first: $n) { edges { node { id } } } }', { n: 1 }, ops);
    expect(codes(v)).toEqual(['QUERY_TOO_COSTLY']);
    const dflt = await t.gql('query($n: Int = 1) { a: trips(first: $n) { edges { node { id } } } b: trips(first: $n) { edges { node { id } } } }', { n: 1 }, ops);
    expect(dflt.body.errors).toBeUndefined();
    // Fragments count wherever they are spread.
    const frag = await t.gql('{ a: trips(first: 100) { ...E } b: trips(first: 100) { ...E } } fragment E on TripConnection { edges { node { id } } }', undefined, ops);
    expect(codes(frag)).toEqual(['QUERY_TOO_COSTLY']);
    await stillServes();
  });

  it('fragment cycles are reported by graphql, not looped on', async () => {
    const r = await t.gql('{ trips { ...A } } fragment A on TripConnection { ...B } fragment B on TripConnection { ...A }', undefined, ops);
    expect(r.status).toBe(400);
    expect(codes(r)).toContain('GRAPHQL_VALIDATION_FAILED');
    await stillServes();
  });

  it('introspection is on: GraphiQL’s query (nested deeper than 4) passes the depth rule and costs ~220', async () => {
    const r = await t.gql<{ __schema: { queryType: { name: string } } }>(getIntrospectionQuery(), undefined, ops);
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data?.__schema.queryType.name).toBe('Query');
    // ...but it counts toward cost: a handful of copies is refused (under the alias and root-field caps).
    // 19 copies (under the caps of 20 root fields and 30 aliases) of a fragment of ~36 fields: over 500.
    const T = 'fragment T on __Type { name kind description interfaces { name } possibleTypes { name } enumValues { name description } ' +
      'fields { name description isDeprecated args { name description type { name kind } } type { name kind ofType { name kind ofType { name kind } } } } }';
    const many = `{ ${Array.from({ length: 19 }, (_, i) => `t${i}: __type(name: "Trip") { ...T }`).join(' ')} } ${T}`;
    expect(codes(await t.gql(many, undefined, ops))).toEqual(['QUERY_TOO_COSTLY']);
  });

  it('oversized body → 413 PAYLOAD_TOO_LARGE, malformed JSON → 400 BAD_REQUEST', async () => {
    const big = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ops}` },
      body: JSON.stringify({ query: `{ trip(id: "r1") { id } } # ${'x'.repeat(200_000)}` }),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ errors: [{ message: 'Request body larger than 102400 bytes', extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    const bad = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ops}` }, body: '{"query": ' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ errors: [{ message: 'Malformed JSON body', extensions: { code: 'BAD_REQUEST' } }] });
    await stillServes();
  });

  it('GET queries work (with a CSRF-safe header)', async () => {
    const res = await fetch(`${t.url}?query=${encodeURIComponent('{ trip(id: "r1") { id } }')}`, {
      headers: { authorization: `Bearer ${ops}`, 'apollo-require-preflight': 'true' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { trip: { id: 'r1' } } });
  });
});

describe('error masking', () => {
  it('masks unexpected errors with an id that is logged with the full error', async () => {
    failNext = new Error('connection to 10.0.0.7 refused: password authentication failed');
    const r = await t.gql('{ trip(id: "r1") { id } }', undefined, ops);
    expect(r.status).toBe(200);
    expect(codes(r)).toEqual(['INTERNAL_SERVER_ERROR']);
    const message = r.body.errors![0]!.message;
    expect(message).toMatch(/^Internal error \(id [0-9a-f-]{36}\)$/);
    expect(JSON.stringify(r.body)).not.toMatch(/10\.0\.0\.7|password|stack|at /);
    const id = /id ([0-9a-f-]{36})/.exec(message)![1];
    const line = log.lines.find((l) => l.level === 'error' && l.fields['errorId'] === id);
    expect((line?.fields['err'] as Error).message).toContain('10.0.0.7');
    await stillServes();
  });

  it('passes safe GatewayErrors through with their code and message', async () => {
    failNext = new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, 'The engine is shut down', { retriable: true });
    const r = await t.gql('{ trip(id: "r1") { id } }', undefined, ops);
    expect(r.body.errors).toEqual([{ message: 'The engine is shut down', locations: [{ line: 1, column: 3 }], path: ['trip'], extensions: { code: 'ENGINE_UNAVAILABLE' } }]);
  });
});
