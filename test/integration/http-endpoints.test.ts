/**
 * /healthz, /readyz, /metrics, the offline GraphiQL page and its assets, and ordered shutdown.
 */
import { startGateway } from '../../src/gateway';
import { silentLogger } from '../../src/log';
import { startTestGateway, writeRides, type TestGateway } from '../helpers/gateway';
import { waitFor } from '../helpers/waitFor';
import { connectWs, disposeWsClients } from '../helpers/wsClient';

let t: TestGateway;
let ops: string;

beforeAll(async () => {
  t = await startTestGateway();
  ops = await t.token('ops-1', 'ops');
});
afterAll(async () => {
  await disposeWsClients();
  await t?.dispose();
});

/** The value of one sample line of the exposition text (undefined when absent). */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('health', () => {
  it('/healthz answers 200 while the process lives; /readyz 200 when engine and feed are ready', async () => {
    const h = await fetch(`${t.origin}/healthz`);
    expect([h.status, await h.json()]).toEqual([200, { status: 'ok' }]);
    const r = await fetch(`${t.origin}/readyz`);
    expect([r.status, await r.json()]).toEqual([200, { status: 'ready' }]);
  });
});

describe('/metrics', () => {
  it('exposes the gateway metrics with plausible values after some traffic', async () => {
    const ws = connectWs(t.wsUrl, { authorization: `Bearer ${ops}` });
    await ws.connected;
    const sub = ws.subscribe('subscription { tripUpdated { tripId } }');
    await waitFor(() => t.gateway.hub.size === 1);
    await writeRides(t.engine, [{ id: 'm1', rider: 'rider-1', steps: [] }]);
    await sub.next();
    await t.gql('{ trip(id: "m1") { id } }', undefined, ops);
    await t.gql('{ trip(id: "m1") { nope } }', undefined, ops);
    await t.gql('{ trip(id: "m1") { id } }');
    const res = await fetch(`${t.origin}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(sample(text, 'wavegate_http_requests_total{operation_type="query",status="200"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'wavegate_http_requests_total{operation_type="unknown",status="401"}')).toBe(1);
    expect(sample(text, 'wavegate_http_requests_total{operation_type="unknown",status="400"}')).toBe(1);
    expect(sample(text, 'wavegate_graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED"}')).toBe(1);
    expect(sample(text, 'wavegate_graphql_errors_total{code="UNAUTHENTICATED"}')).toBe(1);
    expect(sample(text, 'wavegate_active_subscriptions')).toBe(1);
    expect(sample(text, 'wavegate_change_feed_lag_ms')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'wavegate_delivery_latency_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'wavegate_delivery_latency_seconds_sum')).toBeLessThan(60);
    await ws.dispose();
    await waitFor(() => t.gateway.hub.size === 0);
  });
});

describe('GraphiQL', () => {
  it('serves an offline page to browsers: only local asset URLs, all of which load', async () => {
    const res = await fetch(t.url, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\/|\/\/cdn|unpkg|jsdelivr/);
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(urls.length).toBe(5);
    for (const url of urls) {
      expect(url.startsWith('/graphql/assets/')).toBe(true);
      const asset = await fetch(`${t.origin}${url}`);
      expect([url, asset.status]).toEqual([url, 200]);
      expect(asset.headers.get('content-type')).toMatch(url.endsWith('.css') ? /text\/css/ : /javascript/);
      const body = await asset.text();
      expect(body.length).toBeGreaterThan(url.endsWith('init.js') ? 100 : 10_000);
      if (url.endsWith('init.js')) {
        expect(body).not.toMatch(/https?:\/\//);
        expect(body).toContain('subscriptionUrl');
        expect(body).toContain('Authorization');
      }
    }
    expect((await fetch(`${t.origin}/graphql/assets/secret.js`)).status).toBe(404);
    expect((await fetch(`${t.origin}/graphql/assets/..%2F..%2Fpackage.json`)).status).toBe(404);
  });

  it('does not serve the page to API clients', async () => {
    const res = await fetch(`${t.url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/json', authorization: `Bearer ${ops}`, 'apollo-require-preflight': '1' },
    });
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('start-up failure', () => {
  it('rejects when the port is taken, and leaves a given engine open', async () => {
    const err = await startGateway({ ...t.config, port: t.gateway.port }, { log: silentLogger, engine: t.engine }).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    expect(t.engine.ready()).toBe(true);
    expect((await fetch(`${t.origin}/readyz`)).status).toBe(200);
  });
});

describe('shutdown', () => {
  it('/readyz turns 503 when the engine is closed, and queries fail with ENGINE_UNAVAILABLE', async () => {
    await t.engine.close();
    const r = await fetch(`${t.origin}/readyz`);
    expect([r.status, await r.json()]).toEqual([503, { status: 'unavailable', reason: 'engine not ready' }]);
    const q = await t.gql('{ trip(id: "m1") { id } }', undefined, ops);
    expect(q.body.errors?.[0]?.extensions?.['code']).toBe('ENGINE_UNAVAILABLE');
    expect((await fetch(`${t.origin}/healthz`)).status).toBe(200);
  });

  it('stop() closes websockets with 1001, stops listening, and is idempotent', async () => {
    const ws = connectWs(t.wsUrl, { authorization: `Bearer ${ops}` });
    await ws.connected;
    await Promise.all([t.gateway.stop(), t.gateway.stop()]);
    expect(await ws.closed).toEqual({ code: 1001, reason: 'Going away' });
    await expect(fetch(`${t.origin}/healthz`)).rejects.toThrow();
    await t.gateway.stop();
  });
});
