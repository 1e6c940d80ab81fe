/**
 * Binds a graphql-ws protocol server (`makeServer`) to the sockets of a `ws` WebSocketServer, in
 * place of graphql-ws's own `useServer` from 'graphql-ws/use/ws', for two reasons:
 * - quiet teardown: useServer rejects the send of a message to a socket that broke mid-write, so
 *   every open subscription of a dropped client ended in an error path (one logged error with a
 *   stack per subscription: 4,999 lines for one closed socket with 5,000 subscriptions). Here a
 *   failed send is dropped (the socket is closing; its subscriptions are ended by its close);
 * - no console: useServer writes socket and message-handling errors to console.error; here they go
 *   to the logger (debug for what clients cause, warn for the rest).
 * Keep-alive pings as useServer's (a socket that has not answered the previous ping with a pong
 * when the next one is due is terminated), but from ONE timer for every socket, not one per socket,
 * which visits one of {@link KEEPALIVE_SLOTS} slots of the sockets per tick (spread over the period).
 * The upgrade request is not kept (nothing reads it after the handshake).
 * An idle socket holds little here: the protocol server's socket is a {@link ProtocolSocket} (methods
 * on its prototype, no closures), the socket's listeners are shared functions, and the wait for
 * `connection_init` ({@link INIT_WAIT_MS}) is a timer nothing references once it has fired (graphql-ws's
 * own keeps its fired timer for the socket's life).
 * `intercept` sees each text message first: when it returns true the message was handled (the
 * shared fan-out of websocket.ts takes live subscriptions and their `complete`), else it goes to
 * the protocol server.
 */
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../log';

/** How long a socket may take to send `connection_init` before it is closed with 4408 (graphql-ws's default). @default 3_000 (ms) */
export const INIT_WAIT_MS = 3_000;

/** Slots the keep-alive sweep visits one per tick: each tick pings about 1/64 of the open sockets. */
export const KEEPALIVE_SLOTS = 64;

/** What the protocol server's hooks see in `ctx.extra`. */
export interface SocketExtra {
  readonly socket: WebSocket;
  /**
   * The connection under `socket` (the upgrade request's socket): the shared fan-out writes its
   * pre-framed frames here (websocket.ts), in order with ws's own writes.
   */
  readonly raw: Duplex;
  /** Set when `connection_init` came (before `onConnect` runs): the init wait then lets the socket be. */
  initReceived?: boolean;
}

/** Takes a message before the protocol server does: true = handled. */
export type MessageIntercept = (socket: WebSocket, data: string) => boolean;

/** The protocol server's view of one `ws` socket. */
class ProtocolSocket {
  constructor(readonly ws: WebSocket, private readonly log: Logger, private readonly intercept: MessageIntercept | undefined) {}

  get protocol(): string {
    return this.ws.protocol;
  }

  /** Never rejects: a socket that cannot take a message is closing, and its close ends its subscriptions. */
  send(data: string): Promise<void> {
    const { ws, log } = this;
    return new Promise<void>((resolve) => {
      if (ws.readyState !== ws.OPEN) return resolve();
      ws.send(data, (err) => {
        if (err !== undefined && err !== null) log.debug({ err: err.message }, 'websocket send failed: the socket is closing');
        resolve();
      });
    });
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  onMessage(cb: (data: string) => Promise<void>): void {
    const { ws, log, intercept } = this;
    ws.on('message', (data: Buffer) => {
      const text = String(data);
      if (intercept?.(ws, text) === true) return;
      cb(text).catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        // graphql-ws throws for a message type it does not know: the client's doing. Anything else is ours.
        if (message.startsWith('Unexpected message of type')) log.debug({ err: message }, 'websocket message refused; closing the socket');
        else log.warn({ err }, 'websocket message handling failed; closing the socket');
        ws.close(CloseCode.BadRequest, 'Invalid message received');
      });
    });
  }
}

/** Serves the graphql-ws protocol on every socket `wss` accepts. Returns its dispose (closes sockets with 1001). */
export function serveGraphqlWs(
  options: ServerOptions<Record<string, unknown>, SocketExtra>, wss: WebSocketServer, log: Logger, keepAliveMs: number, intercept?: MessageIntercept,
): () => Promise<void> {
  // The init wait is ours (INIT_WAIT_MS): graphql-ws's timer would stay referenced for the socket's life.
  const { onConnect } = options;
  const server = makeServer<Record<string, unknown>, SocketExtra>({
    ...options,
    connectionInitWaitTimeout: 0,
    onConnect: (ctx) => {
      ctx.extra.initReceived = true;
      return onConnect?.(ctx);
    },
  });
  /** The protocol server's close handler of each open socket. */
  const closers = new WeakMap<WebSocket, (code: number, reason: string) => Promise<void>>();
  const onError = function (this: WebSocket, err: Error): void {
    log.debug({ err: err.message }, 'websocket error; closing it');
    this.close(CloseCode.InternalServerError, 'Internal server error'); // a second close is a no-op
  };
  const onClose = function (this: WebSocket, code: number, reason: Buffer): void {
    slotOf.get(this)?.delete(this);
    const closed = closers.get(this);
    if (closed === undefined) return;
    closers.delete(this);
    closed(code, String(reason)).catch((err: unknown) => log.warn({ err }, 'websocket close handling failed'));
  };
  wss.options.handleProtocols = handleProtocols;
  wss.on('error', (err) => log.warn({ err }, 'websocket server error'));
  /** Sockets pinged and not answered yet. */
  const awaitingPong = new WeakSet<WebSocket>();
  const onPong = function (this: WebSocket): void {
    awaitingPong.delete(this);
  };
  // The sockets in KEEPALIVE_SLOTS slots, one slot visited per keepAliveMs / KEEPALIVE_SLOTS: each
  // socket is still pinged once per keepAliveMs (and terminated when the previous ping is unanswered),
  // but 10,000 sockets are pinged ~160 at a time instead of all in one tick, which stalled the event
  // loop (and every delivery behind it) for ~300 ms every keep-alive period.
  const slots: Array<Set<WebSocket>> = Array.from({ length: KEEPALIVE_SLOTS }, () => new Set());
  const slotOf = new WeakMap<WebSocket, Set<WebSocket>>();
  let nextSlot = 0;
  let visit = 0;
  const keepAlive = setInterval(() => {
    const slot = slots[visit]!;
    visit = (visit + 1) % KEEPALIVE_SLOTS;
    for (const socket of slot) {
      if (socket.readyState !== socket.OPEN) continue;
      if (awaitingPong.has(socket)) {
        socket.terminate();
        continue;
      }
      awaitingPong.add(socket);
      socket.ping();
    }
  }, Math.max(1, Math.floor(keepAliveMs / KEEPALIVE_SLOTS)));
  keepAlive.unref(); // open sockets keep the process alive, not the timer
  wss.on('connection', (socket, req) => {
    socket.on('error', onError);
    socket.on('pong', onPong);
    const extra: SocketExtra = { socket, raw: req.socket };
    closers.set(socket, server.opened(new ProtocolSocket(socket, log, intercept), extra));
    socket.on('close', onClose);
    const slot = slots[nextSlot]!;
    nextSlot = (nextSlot + 1) % KEEPALIVE_SLOTS;
    slot.add(socket);
    slotOf.set(socket, slot);
    setTimeout(() => {
      if (extra.initReceived !== true && socket.readyState === socket.OPEN) socket.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
    }, INIT_WAIT_MS).unref();
  });
  return async () => {
    clearInterval(keepAlive);
    for (const client of wss.clients) client.close(1001, 'Going away');
    wss.removeAllListeners();
    await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
  };
}
