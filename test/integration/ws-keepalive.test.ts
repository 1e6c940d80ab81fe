/**
 * Websocket keep-alive (src/graphql/wsTransport.ts): one timer visits the sockets in slots, so each
 * socket is pinged once per keep-alive period without every socket being pinged in the same tick; a
 * socket that leaves a ping unanswered until its next turn is terminated, one that answers stays.
 */
import WebSocket from 'ws';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitFor } from '../helpers/waitFor';

let t: TestGateway;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  t = await startTestGateway({ subscriptions: { keepAliveMs: 3_000 } });
}, 180_000);
afterAll(async () => {
  for (const s of sockets) s.terminate();
  await t?.dispose();
});

/** A socket past connection_ack; `autoPong: false` makes it leave pings unanswered. */
async function acked(autoPong: boolean): Promise<{ socket: WebSocket; pings: () => number; closed: Promise<number> }> {
  const token = await t.token('rider-keepalive', 'rider');
  const socket = new WebSocket(t.wsUrl, 'graphql-transport-ws', { autoPong });
  sockets.push(socket);
  let pings = 0;
  socket.on('ping', () => pings++);
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    socket.on('message', (data: Buffer) => {
      if ((JSON.parse(String(data)) as { type: string }).type === 'connection_ack') resolve();
    });
    socket.once('error', reject);
  });
  return { socket, pings: () => pings, closed };
}

it('terminates a socket that does not answer its ping by the next one (1006 on the client)', async () => {
  const silent = await acked(false);
  expect(await silent.closed).toBe(1006); // terminated: no close frame
  expect(silent.pings()).toBeGreaterThanOrEqual(1);
}, 60_000);

it('keeps pinging a socket that answers, and keeps it open', async () => {
  const answering = await acked(true);
  await waitFor(() => answering.pings() >= 2, 30_000);
  expect(answering.socket.readyState).toBe(WebSocket.OPEN);
}, 60_000);
