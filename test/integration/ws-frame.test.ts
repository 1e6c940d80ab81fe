/**
 * The shared fan-out's pre-framed text frames (websocket.ts `textFrames`), written straight to the
 * connection under a `ws` server socket, reach a real `ws` client as the messages they encode: at
 * every payload-length boundary of RFC 6455 (7-bit, 16-bit, 64-bit lengths), with multi-byte UTF-8
 * in the head and the body, and in order with frames that ws itself sends on the same socket.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { textFrames } from '../../src/graphql/websocket';
import { waitFor } from '../helpers/waitFor';

describe('pre-framed websocket text frames', () => {
  let server: WebSocketServer;
  let client: WebSocket;
  let serverSide: { ws: WebSocket; raw: Duplex };
  const received: string[] = [];

  beforeAll(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    await once(server, 'listening');
    const connected = new Promise<{ ws: WebSocket; raw: Duplex }>((resolve) => server.once('connection', (ws, req) => resolve({ ws, raw: req.socket })));
    client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { maxPayload: 1 << 20 });
    client.on('message', (data, isBinary) => {
      expect(isBinary).toBe(false);
      received.push(String(data));
    });
    serverSide = await connected;
    await once(client, 'open');
  });

  afterAll(async () => {
    client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('encodes every length class and multi-byte text, interleaved in order with ws.send', async () => {
    const head = '{"id":"ü-1","type":"next","payload":';
    const headBytes = Buffer.byteLength(head);
    const bodyLengths = [0, 1, 125 - headBytes, 126 - headBytes, 127 - headBytes, 65_535 - headBytes, 65_536 - headBytes, 70_000];
    const expected: string[] = [];
    for (const [i, n] of bodyLengths.entries()) {
      const body = `${'€'.repeat(i)}${'x'.repeat(Math.max(0, n - 3 * i - 1))}}`; // '€' is 3 bytes in UTF-8
      const frame = textFrames(head, headBytes, [Buffer.from(body)]);
      const total = headBytes + Buffer.byteLength(body);
      expect(frame.length).toBe(total + (total < 126 ? 2 : total < 65_536 ? 4 : 10));
      serverSide.raw.write(frame);
      expected.push(head + body);
      const own = `ws-own-${i}`;
      serverSide.ws.send(own);
      expected.push(own);
    }
    await waitFor(() => received.length >= expected.length);
    expect(received).toEqual(expected);
  });

  it('writes a run of frames in one buffer that the client reads as separate messages, in order', async () => {
    received.length = 0;
    const head = '{"id":"7","type":"next","payload":';
    const bodies = [10, 200, 70_000, 0].map((n, i) => Buffer.from(`{"n":${i},"pad":"${'y'.repeat(n)}"}}`));
    serverSide.raw.write(textFrames(head, Buffer.byteLength(head), bodies));
    await waitFor(() => received.length >= bodies.length);
    expect(received).toEqual(bodies.map((b) => head + b.toString()));
  });
});
