/**
 * A rider web app on another origin, in a real browser (headless Chromium, test/helpers/chromium.ts):
 * its page runs a GraphQL query (fetch with a bearer token, so the browser sends a CORS preflight
 * first) and a subscription (graphql-ws over the browser's own WebSocket, which sends the page's
 * Origin) against the gateway. From an origin in WAVEGATE_CORS_ORIGINS both work; from another
 * origin the browser refuses the query as a CORS error and the upgrade is refused; the gateway's
 * own GraphiQL page works with no list at all.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGateway, type Gateway } from '../../src/gateway';
import { silentLogger } from '../../src/log';
import { launchChromium, type Browser, type BrowserPage } from '../helpers/chromium';
import { startTestGateway, writeRides, type TestGateway } from '../helpers/gateway';
import { waitFor } from '../helpers/waitFor';

/**
 * The app's client: a fetch for queries and a minimal graphql-ws client (the
 * graphql-transport-ws protocol: https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md)
 * on the browser's WebSocket. Reads `window.wavegateConfig` ({ url, wsUrl, token }).
 */
const CLIENT_JS = `
window.wavegate = {
  query: function (query) {
    var c = window.wavegateConfig;
    return fetch(c.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + c.token },
      body: JSON.stringify({ query: query })
    }).then(function (res) {
      return res.json().then(function (body) { return { status: res.status, body: body }; });
    }, function (e) { return { error: e.name + ': ' + e.message }; });
  },
  subscribe: function (query) {
    var c = window.wavegateConfig;
    var self = this;
    return new Promise(function (ackOrRefusal) {
      var ws = new WebSocket(c.wsUrl, 'graphql-transport-ws');
      var acked = false;
      self.change = new Promise(function (first) {
        ws.onopen = function () {
          ws.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: 'Bearer ' + c.token } }));
        };
        ws.onmessage = function (e) {
          var m = JSON.parse(e.data);
          if (m.type === 'connection_ack') {
            acked = true;
            ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: query } }));
            ackOrRefusal({ acked: true });
          } else if (m.type === 'next') {
            first(m.payload);
            ws.send(JSON.stringify({ id: '1', type: 'complete' }));
            ws.close(1000);
          } else if (m.type === 'error') {
            first({ error: m.payload });
          }
        };
        ws.onclose = function (e) {
          if (!acked) ackOrRefusal({ closed: e.code });
          first({ closed: e.code });
        };
      });
    });
  }
};
`;

const QUERY = '{ trips(first: 5) { edges { node { id riderId } } } }';
const SUBSCRIPTION = 'subscription { tripUpdated { tripId trip { id riderId status } } }';

type QueryOutcome = { status: number; body: unknown } | { error: string };
type SubscribeOutcome = { acked: true } | { closed: number };

/** An app page server on its own origin (http://127.0.0.1:<its port>). */
async function appServer(config: () => object): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><html><head><meta charset="utf-8"><title>Rider app</title></head><body>
<script>window.wavegateConfig = ${JSON.stringify(config())};</script>
<script>${CLIENT_JS}</script>
</body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const js = (v: unknown) => JSON.stringify(v);

let browser: Browser | undefined;
let t: TestGateway;
let allowed: { server: Server; origin: string };
let other: { server: Server; origin: string };
let rider: string;

beforeAll(async () => {
  const pageConfig = () => ({ url: t.url, wsUrl: t.wsUrl, token: rider });
  allowed = await appServer(pageConfig);
  other = await appServer(pageConfig);
  t = await startTestGateway({ cors: { origins: [allowed.origin] } });
  rider = await t.token('rider-7', 'rider');
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  try {
    await browser?.close();
  } finally {
    await t?.dispose();
    for (const s of [allowed?.server, other?.server]) await new Promise((r) => (s === undefined ? r(undefined) : s.close(r)));
  }
});

/** Subscribes from `page`, writes one ride of rider-7 once `gateway`'s hub has the subscriber, and returns what the page received first. */
async function firstChange(page: BrowserPage, gateway: Gateway, tripId: string): Promise<unknown> {
  const before = gateway.hub.size;
  expect(await page.evaluate<SubscribeOutcome>(`window.wavegate.subscribe(${js(SUBSCRIPTION)})`)).toEqual({ acked: true });
  await waitFor(() => gateway.hub.size > before, 20_000);
  await writeRides(t.engine, [{ id: tripId, rider: 'rider-7', steps: [] }]);
  return page.evaluate('window.wavegate.change');
}

describe('a rider app in Chromium', () => {
  it('on an allowed origin runs a query (after the CORS preflight) and a subscription', async () => {
    const page = await browser!.open(`${allowed.origin}/`);
    const change = await firstChange(page, t.gateway, 'browser-1');
    expect(change).toEqual({ data: { tripUpdated: { tripId: 'browser-1', trip: { id: 'browser-1', riderId: 'rider-7', status: 'REQUESTED' } } } });
    expect(await page.evaluate<QueryOutcome>(`window.wavegate.query(${js(QUERY)})`)).toEqual({
      status: 200,
      body: { data: { trips: { edges: [{ node: { id: 'browser-1', riderId: 'rider-7' } }] } } },
    });
  });

  it('on another origin gets a CORS error for the query and a refused websocket', async () => {
    const page = await browser!.open(`${other.origin}/`);
    expect(await page.evaluate<QueryOutcome>(`window.wavegate.query(${js(QUERY)})`)).toEqual({ error: 'TypeError: Failed to fetch' });
    // 1006: the upgrade was refused (403) before any websocket existed.
    expect(await page.evaluate<SubscribeOutcome>(`window.wavegate.subscribe(${js(SUBSCRIPTION)})`)).toEqual({ closed: 1006 });
  });

  it('from the gateway\'s own GraphiQL page (same origin) runs both with no WAVEGATE_CORS_ORIGINS', async () => {
    const { cors: _listed, ...defaults } = t.config;
    const own = await startGateway(defaults, { log: silentLogger, engine: t.engine });
    try {
      const page = await browser!.open(own.url);
      expect(await page.evaluate<string>('document.title')).toBe('Wavegate GraphiQL');
      // The client runs in GraphiQL's page: DevTools evaluation is not subject to its script CSP.
      await page.evaluate(`window.wavegateConfig = ${js({ url: own.url, wsUrl: own.url.replace(/^http/, 'ws'), token: rider })}; ${CLIENT_JS}; true`);
      expect(await firstChange(page, own, 'browser-2')).toMatchObject({ data: { tripUpdated: { tripId: 'browser-2' } } });
      expect(await page.evaluate<QueryOutcome>(`window.wavegate.query(${js(QUERY)})`)).toMatchObject({ status: 200 });
    } finally {
      await own.stop();
    }
  });
});
