/**
 * CORS on /graphql and the websocket upgrade's Origin check, over real HTTP and websockets: a
 * preflight is answered without auth; responses carry CORS headers for allowed origins only; a
 * browser-style upgrade from a disallowed origin is refused with 403. (The same in a real browser:
 * browser-cors.test.ts.)
 */
import { request } from 'node:http';
import WebSocket from 'ws';
import { startGateway, type Gateway } from '../../src/gateway';
import { silentLogger } from '../../src/log';
import { startTestGateway, type TestGateway } from '../helpers/gateway';

const APP = 'http://app.wavegate.test:3000';
const OTHER = 'http://evil.wavegate.test';
const QUERY = JSON.stringify({ query: '{ trips(first: 1) { edges { node { id } } } }' });

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with exactly these headers (fetch would add or refuse some, e.g. Origin). */
function raw(method: string, url: string, headers: Record<string, string>, body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function preflight(url: string, origin?: string): Promise<RawResponse> {
  return raw('OPTIONS', url, {
    ...(origin !== undefined ? { origin } : {}),
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization,content-type',
  });
}

function post(url: string, token: string | undefined, origin?: string): Promise<RawResponse> {
  return raw('POST', url, {
    'content-type': 'application/json',
    ...(origin !== undefined ? { origin } : {}),
    ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
  }, QUERY);
}

/** A graphql-ws upgrade as a browser makes it (Origin header); 'acked' once connection_init is acknowledged, else the refusal's status. */
function upgrade(wsUrl: string, token: string, origin?: string): Promise<'acked' | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws', origin !== undefined ? { origin } : {});
    socket.on('unexpected-response', (req, res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    socket.on('message', (data: Buffer) => {
      if ((JSON.parse(data.toString('utf8')) as { type: string }).type !== 'connection_ack') return;
      resolve('acked');
      socket.close();
    });
    socket.on('error', reject);
  });
}

const header = (r: RawResponse, name: string) => r.headers[name.toLowerCase()];
const list = (v: string | string[] | undefined) => String(v ?? '').toLowerCase().split(/\s*,\s*/);

let t: TestGateway;
let ops: string;

beforeAll(async () => {
  t = await startTestGateway({ cors: { origins: [APP] } });
  ops = await t.token('ops-1', 'ops');
});
afterAll(async () => {
  await t?.dispose();
});

describe('preflight (OPTIONS /graphql)', () => {
  it('answers an allowed origin with 204 and what it may send, without asking for auth', async () => {
    const r = await preflight(t.url, APP);
    expect(r.status).toBe(204);
    expect(header(r, 'access-control-allow-origin')).toBe(APP);
    expect(list(header(r, 'access-control-allow-methods'))).toEqual(['get', 'post', 'options']);
    expect(list(header(r, 'access-control-allow-headers'))).toEqual(expect.arrayContaining(['authorization', 'content-type']));
    expect(header(r, 'access-control-max-age')).toBe('600');
    expect(list(header(r, 'vary'))).toContain('origin');
    expect(header(r, 'www-authenticate')).toBeUndefined();
  });

  it('refuses another origin with 403 and no CORS headers', async () => {
    const r = await preflight(t.url, OTHER);
    expect(r.status).toBe(403);
    expect(header(r, 'access-control-allow-origin')).toBeUndefined();
    expect(header(r, 'access-control-allow-methods')).toBeUndefined();
    expect(list(header(r, 'vary'))).toContain('origin');
    expect(JSON.parse(r.body)).toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN' } }] });
  });

  it('answers an OPTIONS without Origin (not a preflight) with the allowed methods', async () => {
    const r = await preflight(t.url);
    expect(r.status).toBe(204);
    expect(header(r, 'allow')).toBe('GET, POST, OPTIONS');
    expect(header(r, 'access-control-allow-origin')).toBeUndefined();
  });
});

describe('actual requests', () => {
  it('serve an allowed origin with Access-Control-Allow-Origin, errors included', async () => {
    const ok = await post(t.url, ops, APP);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ data: { trips: { edges: [] } } });
    expect(header(ok, 'access-control-allow-origin')).toBe(APP);
    expect(list(header(ok, 'vary'))).toContain('origin');
    // The page must be able to read a 401 to ask its user to sign in again.
    const unauth = await post(t.url, undefined, APP);
    expect(unauth.status).toBe(401);
    expect(header(unauth, 'access-control-allow-origin')).toBe(APP);
  });

  it('carry no CORS headers for another origin (the browser keeps the response from the page)', async () => {
    const r = await post(t.url, ops, OTHER);
    expect(header(r, 'access-control-allow-origin')).toBeUndefined();
    expect(list(header(r, 'vary'))).toContain('origin');
  });

  it('without Origin (not a browser) are served as before, without CORS headers', async () => {
    const r = await post(t.url, ops);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ data: { trips: { edges: [] } } });
    expect(header(r, 'access-control-allow-origin')).toBeUndefined();
  });
});

describe('websocket upgrade', () => {
  it('accepts an allowed origin, the gateway\'s own origin (GraphiQL) and clients without Origin', async () => {
    expect(await upgrade(t.wsUrl, ops, APP)).toBe('acked');
    expect(await upgrade(t.wsUrl, ops, t.origin)).toBe('acked');
    expect(await upgrade(t.wsUrl, ops)).toBe('acked');
  });

  it('refuses another origin with 403 before the handshake', async () => {
    expect(await upgrade(t.wsUrl, ops, OTHER)).toBe(403);
  });
});

describe('other settings', () => {
  let second: Gateway | undefined;
  afterEach(async () => {
    await second?.stop();
    second = undefined;
  });

  it('by default allows the gateway\'s own origin only', async () => {
    const { cors: _listed, ...defaults } = t.config;
    second = await startGateway(defaults, { log: silentLogger, engine: t.engine });
    const wsUrl = second.url.replace(/^http/, 'ws');
    const own = new URL(second.url).origin;
    expect((await preflight(second.url, APP)).status).toBe(403);
    expect(header(await post(second.url, ops, APP), 'access-control-allow-origin')).toBeUndefined();
    expect(await upgrade(wsUrl, ops, APP)).toBe(403);
    expect(await upgrade(wsUrl, ops, own)).toBe('acked');
  });

  it('allows any origin with *', async () => {
    second = await startGateway({ ...t.config, cors: { origins: '*' } }, { log: silentLogger, engine: t.engine });
    const r = await preflight(second.url, OTHER);
    expect(r.status).toBe(204);
    expect(header(r, 'access-control-allow-origin')).toBe('*');
    expect(header(await post(second.url, ops, OTHER), 'access-control-allow-origin')).toBe('*');
    expect(await upgrade(second.url.replace(/^http/, 'ws'), ops, OTHER)).toBe('acked');
  });
});
