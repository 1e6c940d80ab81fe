/**
 * Slow or idle HTTP clients from one address hold at most WAVEGATE_HTTP_MAX_CONNECTIONS_PER_ADDRESS
 * connections (issue 11, found by bench/abuse.ts: 1,000 connections sending their headers slowly
 * held 1,000 descriptors). One more from that address is closed on arrival; other addresses and
 * the connections already open are unaffected, and a closed connection frees its place.
 */
import net from 'node:net';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitFor } from '../helpers/waitFor';

const CAP = 5;
let gw: TestGateway;
const sockets: net.Socket[] = [];

beforeAll(async () => {
  gw = await startTestGateway({ limits: { maxConnectionsPerAddress: CAP } });
}, 120_000);
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await gw?.dispose();
}, 60_000);

/** A connection from `localAddress` that sends half a request line and then nothing (slowloris). */
async function slow(localAddress: string): Promise<{ socket: net.Socket; closed: () => boolean }> {
  const url = new URL(gw.url);
  const socket = net.connect({ host: '127.0.0.1', port: Number(url.port), localAddress });
  sockets.push(socket);
  let closed = false;
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  return { socket, closed: () => closed };
}

async function healthz(): Promise<number> {
  return (await fetch(new URL('/healthz', gw.url))).status;
}

describe('HTTP connections per client address', () => {
  it('closes one more slow connection from the same address at once, and serves other addresses', async () => {
    const held: Array<{ socket: net.Socket; closed: () => boolean }> = [];
    for (let i = 0; i < CAP; i++) held.push(await slow('127.0.0.2'));
    const extra = await slow('127.0.0.2');
    await waitFor(() => extra.closed(), 60_000);
    expect(held.every((h) => !h.closed())).toBe(true);
    // Another address (fetch connects from 127.0.0.1) is served meanwhile.
    expect(await healthz()).toBe(200);
    const metrics = await (await fetch(new URL('/metrics', gw.url))).text();
    expect(metrics).toMatch(/^wavegate_http_connections_refused_total [1-9]/m);

    // A closed connection frees its place.
    held[0]!.socket.destroy();
    await waitFor(() => held[0]!.closed(), 60_000);
    const again = await slow('127.0.0.2');
    // The server answers the completed request: the connection was admitted, not closed.
    again.socket.write('\r\n');
    const answer = await new Promise<string>((resolve) => again.socket.once('data', (d: Buffer) => resolve(d.toString())));
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
  }, 120_000);
});
