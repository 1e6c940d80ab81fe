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
 * when the next one is due is terminated), but from ONE timer for every socket, not one per socket.
 * The upgrade request is not kept (nothing reads it after the handshake).
 * `intercept` sees each text message first: when it returns true the message was handled (the
 * shared fan-out of websocket.ts takes live subscriptions and their `complete`), else it goes to
 * the protocol server.
 */
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../log';

/** What the protocol server's hooks see in `ctx.extra`. */
export interface SocketExtra {
  readonly socket: WebSocket;
}

/** Takes a message before the protocol server does: true = handled. */
export type MessageIntercept = (socket: WebSocket, data: string) => boolean;

/** Serves the graphql-ws protocol on every socket `wss` accepts. Returns its dispose (closes sockets with 1001). */
export function serveGraphqlWs(
  options: ServerOptions<Record<string, unknown>, SocketExtra>, wss: WebSocketServer, log: Logger, keepAliveMs: number, intercept?: MessageIntercept,
): () => Promise<void> {
  const server = makeServer<Record<string, unknown>, SocketExtra>(options);
  wss.options.handleProtocols = handleProtocols;
  wss.on('error', (err) => log.warn({ err }, 'websocket server error'));
  /** Sockets pinged and not answered yet. */
  const awaitingPong = new WeakSet<WebSocket>();
  const onPong = function (this: WebSocket): void {
    awaitingPong.delete(this);
  };
  const keepAlive = setInterval(() => {
    for (const socket of wss.clients) {
      if (socket.readyState !== socket.OPEN) continue;
      if (awaitingPong.has(socket)) {
        socket.terminate();
        continue;
      }
      awaitingPong.add(socket);
      socket.ping();
    }
  }, keepAliveMs);
  keepAlive.unref(); // open sockets keep the process alive, not the timer
  wss.on('connection', (socket) => {
    socket.once('error', (err) => {
      log.debug({ err: err.message }, 'websocket error; closing it');
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
    socket.on('pong', onPong);
    const closed = server.opened({
      protocol: socket.protocol,
      // Never rejects: a socket that cannot take a message is closing, and its close ends its subscriptions.
      send: (data) => new Promise<void>((resolve) => {
        if (socket.readyState !== socket.OPEN) return resolve();
        socket.send(data, (err) => {
          if (err !== undefined && err !== null) log.debug({ err: err.message }, 'websocket send failed: the socket is closing');
          resolve();
        });
      }),
      close: (code, reason) => socket.close(code, reason),
      onMessage: (cb) => socket.on('message', (data: Buffer) => {
        const text = String(data);
        if (intercept?.(socket, text) === true) return;
        cb(text).catch((err: unknown) => {
          const message = err instanceof Error ? err.message : String(err);
          // graphql-ws throws for a message type it does not know: the client's doing. Anything else is ours.
          if (message.startsWith('Unexpected message of type')) log.debug({ err: message }, 'websocket message refused; closing the socket');
          else log.warn({ err }, 'websocket message handling failed; closing the socket');
          socket.close(CloseCode.BadRequest, 'Invalid message received');
        });
      }),
    }, { socket });
    socket.once('close', (code, reason) => {
      closed(code, String(reason)).catch((err: unknown) => log.warn({ err }, 'websocket close handling failed'));
    });
  });
  return async () => {
    clearInterval(keepAlive);
    for (const client of wss.clients) client.close(1001, 'Going away');
    wss.removeAllListeners();
    await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
  };
}
