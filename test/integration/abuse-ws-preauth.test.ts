/**
 * Websockets before authentication (issue 11: what an anonymous client can do with the upgrade). A
 * socket that never sends `connection_init` is closed by the server (4408), and so are sockets that
 * send something else first, send garbage, initialise twice or with a bad token, each with
 * graphql-ws's code for it; another subprotocol is not accepted at the upgrade; the server still
 * serves a real client afterwards. bench/abuse.ts holds
 * 1,000 such sockets against a started gateway (docs/SECURITY.md); this pins the refusals.
 */
import WebSocket from 'ws';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { connectWs, disposeWsClients } from '../helpers/wsClient';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
}, 180_000);
afterAll(async () => {
  await disposeWsClients();
  await t?.dispose();
});

/** A raw socket and the close the server sent it (code and reason), once it came. */
function rawSocket(protocol: string | undefined = 'graphql-transport-ws'): { ws: WebSocket; opened: Promise<void>; closed: Promise<{ code: number; reason: string }> } {
  const ws = protocol === undefined ? new WebSocket(t.wsUrl) : new WebSocket(t.wsUrl, protocol);
  ws.on('error', () => undefined); // a refused socket errors, then closes: the close is what we assert
  const opened = new Promise<void>((resolve) => ws.once('open', () => resolve()));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return { ws, opened, closed };
}

describe('websockets that do not authenticate', () => {
  it('closes every socket that never sends connection_init with 4408, from the server side', async () => {
    const sockets = Array.from({ length: 20 }, () => rawSocket());
    await Promise.all(sockets.map((s) => s.opened));
    // The client sends nothing and never closes: only the server can end these (the test's timeout bounds the wait).
    const closes = await Promise.all(sockets.map((s) => s.closed));
    expect(closes.map((c) => c.code)).toEqual(Array(20).fill(4408));
    expect(closes[0]!.reason).toBe('Connection initialisation timeout');
  });

  it('closes a socket that subscribes before connection_init with 4401, and one that sends garbage with 4400', async () => {
    const early = rawSocket();
    await early.opened;
    early.ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ trips(first: 100) { edges { cursor } } }' } }));
    expect((await early.closed).code).toBe(4401);

    const garbage = rawSocket();
    await garbage.opened;
    garbage.ws.send('{"type": 7, "not": "a message"');
    expect((await garbage.closed).code).toBe(4400);
  });

  it('closes a socket that sends connection_init twice with 4429, and one with a bad token with 4401', async () => {
    const twice = rawSocket();
    await twice.opened;
    const init = JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${await t.token('rider-twice', 'rider')}` } });
    twice.ws.send(init);
    twice.ws.send(init);
    expect(await twice.closed).toEqual({ code: 4429, reason: 'Too many initialisation requests' });

    const bad = rawSocket();
    await bad.opened;
    bad.ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer not-a-token' } }));
    expect(await bad.closed).toEqual({ code: 4401, reason: 'Unauthorized' });
  });

  it('does not open a socket for another subprotocol, and closes one without a subprotocol like a silent one (4408)', async () => {
    // The legacy subscriptions-transport-ws protocol: the upgrade answers without it, so the client gives up (1006, never open).
    const legacy = rawSocket('graphql-ws');
    let opened = false;
    void legacy.opened.then(() => (opened = true));
    expect((await legacy.closed).code).toBe(1006);
    expect(opened).toBe(false);
    // No subprotocol asked for: served, so it gets the same deadline for connection_init as any other socket.
    const none = rawSocket(undefined);
    await none.opened;
    expect((await none.closed).code).toBe(4408);
  });

  it('still serves an authenticated client after all of it', async () => {
    const c = connectWs(t.wsUrl, { authorization: `Bearer ${await t.token('ops-after', 'ops')}` });
    await c.connected;
    expect((await c.subscribe<{ trip: null }>('{ trip(id: "none") { id } }').next()).data).toEqual({ trip: null });
    await c.dispose();
  });
});
