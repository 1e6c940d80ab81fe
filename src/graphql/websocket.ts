/**
 * GraphQL over websockets (graphql-ws protocol, same /graphql path as HTTP). The only module that
 * imports the graphql-ws server.
 *
 * - Auth in connection_init: `{ authorization: 'Bearer …' }` (any key case, as GraphiQL sends its
 *   headers) or `{ token }`. A bad or missing token closes the socket with 4401 Unauthorized; an
 *   accepted token's expiry closes it with 4401 at that moment (one timer for all sockets: {@link Expiries}).
 * - Every operation is parsed, validated (graphql's rules + depth/cost limits) and has its variables
 *   coerced here, so errors come back as graphql-ws `error` messages with Apollo's codes.
 * - A subscription that fails to start (FORBIDDEN, BAD_USER_INPUT, CURSOR_EXPIRED) is turned into an
 *   `error` message too, instead of a `next` carrying errors.
 * - Errors are masked by the same formatter as HTTP.
 * - Caps: a token subject may hold at most `maxSocketsPerSubject` sockets (more are closed with
 *   4429), a socket at most `maxPerSocket` operations (more get TOO_MANY_REQUESTS); documents stop
 *   parsing at `maxTokens`. Each operation has the request deadline; a subscription's start has
 *   one, and each of its events gets a fresh one for the reads it makes (nested fields).
 * - Live subscriptions (no `after`) that parse, validate and have their variables coerced here are
 *   served by the shared fan-out (fanout.ts): grouped by document, variables and permission scope
 *   (subscriptions/scope.ts), executed once per change and group, serialised once, the same payload
 *   written to every socket of the group (the frame's prefix carries each subscription's id). The
 *   protocol seen by clients is graphql-ws's, unchanged. Everything else (connection_init, ping,
 *   queries, resumes, operations that fail before starting) goes through graphql-ws's makeServer.
 * - Sockets are served by wsTransport.ts (quiet teardown: a client dropping mid-send causes no
 *   error per subscription, and nothing goes to the console).
 * - Browsers send the page's `Origin` on the upgrade (and no CORS applies to websockets): an origin
 *   HTTP would not allow (config/cors.ts) is refused with 403 before the handshake, so another
 *   site's page cannot open a socket here. Clients that send no Origin (not browsers) are not limited.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  GraphQLError, Kind, createSourceEventStream, execute, getOperationAST, getVariableValues, parse, specifiedRules, validate,
  type DocumentNode, type ExecutionArgs, type ExecutionResult, type OperationDefinitionNode,
} from 'graphql';
import { CloseCode, type Context as ProtocolContext } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { authenticate, type TokenVerifier } from '../auth/verify';
import type { Viewer } from '../auth/viewer';
import { originAllowed } from '../config/cors';
import type { Config } from '../config/types';
import type { Logger } from '../log';
import { errors } from '../errors';
import { mapAsyncIterator } from './changes';
import { createContext, createSocketContext, subjectKey, type ContextDeps, type GraphQLContext } from './context';
import type { ErrorFormatter } from './errors';
import { getSchema, limitRules } from './executableSchema';
import { compileSubscription } from './compiled/subscriptions';
import { Fanout, INTERPRETED, SocketFanout, type FanoutSocket, type GroupExecution } from './fanout';
import { serveGraphqlWs, type SocketExtra } from './wsTransport';
import { permissionScope } from '../subscriptions/scope';

/** Longest timer Node accepts (~24.8 days); longer expiries are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How long a client may take to answer our close frame on shutdown before it is terminated. @default 3_000 (ms) */
const CLOSE_WAIT_MS = 3_000;
/** Close code for a subject over its socket cap: graphql-ws's "too many" code, which its client does not retry. */
const TOO_MANY_SOCKETS = 4429;

/** What {@link attachWebSocketServer} needs. */
export interface WebSocketOptions {
  readonly httpServer: Server;
  readonly config: Config;
  readonly verifier: TokenVerifier;
  readonly contextDeps: ContextDeps;
  readonly formatError: ErrorFormatter;
  /** Counts errors sent outside GraphQL responses (refused connections), for metrics. */
  readonly countError: (code: string) => void;
  readonly log: Logger;
  /** False once the gateway drains: new upgrades are refused with 503 (then bad origins with 403). */
  readonly accepting: () => boolean;
  /** Shared subscriptions execute events with graphql-jit (fanout.ts GroupExecution). @default true */
  readonly compiled?: boolean;
  /** Each compiled event result is checked against graphql-js (tests). @default false */
  readonly verifyCompiled?: boolean;
}

/** The running websocket server. */
export interface WebSocketHandle {
  /** Open sockets. */
  readonly connections: number;
  /** Groups of the shared fan-out (live subscriptions that share one execution). */
  readonly sharedGroups: number;
  /** Closes every socket with 1001 Going Away (waits for them), then stops the server. */
  close(): Promise<void>;
}

interface SocketState {
  /** Distinguishes sockets in the per-socket replay cap. */
  readonly id: string;
  viewer?: Viewer;
  /** When its token expires (ms since the epoch), while the socket is open and in {@link Expiries}. */
  expiresAt?: number;
  /** The subject this socket is counted under (set once accepted). */
  subject?: string;
  /** graphql-ws's state of this socket (acknowledged, its operations). */
  protocol?: ProtocolContext<Record<string, unknown>, SocketExtra>;
  /** Its shared subscriptions (from the first one). */
  fan?: SocketFanout;
}

/**
 * Token expiries of every open socket under ONE timer, armed for the earliest: a binary min-heap by
 * expiry. A socket that closes first is only marked (its `expiresAt` cleared) and skipped when it
 * reaches the top; the heap is rebuilt without such entries when they outnumber the live ones.
 */
class Expiries {
  private heap: { readonly at: number; readonly socket: WebSocket; readonly state: SocketState }[] = [];
  private live = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  constructor(private readonly expired: (socket: WebSocket) => void) {}

  /** Closes `socket` (via `expired`) at `at`. */
  add(socket: WebSocket, state: SocketState, at: number): void {
    state.expiresAt = at;
    this.live++;
    this.heap.push({ at, socket, state });
    this.up(this.heap.length - 1);
    this.arm();
  }

  /** The socket closed: its expiry no longer matters. */
  remove(state: SocketState): void {
    if (state.expiresAt === undefined) return;
    state.expiresAt = undefined;
    this.live--;
    if (this.heap.length > 2 * this.live + 64) {
      this.heap = this.heap.filter((e) => e.state.expiresAt === e.at);
      for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private arm(): void {
    const top = this.heap[0];
    if (top === undefined || top.at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = top.at;
    this.timer = setTimeout(this.fire, Math.min(Math.max(0, top.at - Date.now()), MAX_TIMER_MS));
    this.timer.unref(); // the sockets keep the process alive, not their expiry timer
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    for (let top = this.heap[0]; top !== undefined && (top.state.expiresAt !== top.at || top.at <= now); top = this.heap[0]) {
      this.pop();
      if (top.state.expiresAt !== top.at) continue;
      top.state.expiresAt = undefined;
      this.live--;
      this.expired(top.socket);
    }
    this.arm();
  };

  private pop(): void {
    const last = this.heap.pop();
    if (last !== undefined && this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.at <= h[i]!.at) return;
      [h[parent], h[i]] = [h[i]!, h[parent]!];
      i = parent;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < h.length && h[l]!.at < h[min]!.at) min = l;
      if (r < h.length && h[r]!.at < h[min]!.at) min = r;
      if (min === i) return;
      [h[min], h[i]] = [h[i]!, h[min]!];
      i = min;
    }
  }
}

/** Header bytes of a frame whose payload is `n` bytes. */
const headerBytes = (n: number) => (n < 126 ? 2 : n < 65_536 ? 4 : 10);

/**
 * One unmasked, unfragmented text frame per body, back to back in one Buffer (one write for all of
 * them). RFC 6455's base framing: FIN + opcode 1, then the payload length in 7, 7+16 or 7+64 bits;
 * a server never masks. Each frame's text is `head` (`headBytes` UTF-8 bytes) followed by the body.
 * https://www.rfc-editor.org/rfc/rfc6455#section-5.2
 */
export function textFrames(head: string, headBytes: number, bodies: readonly Buffer[]): Buffer {
  let size = 0;
  for (const body of bodies) {
    const n = headBytes + body.length;
    size += headerBytes(n) + n;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const body of bodies) {
    const n = headBytes + body.length;
    const h = headerBytes(n);
    out[at] = 0x81;
    if (h === 2) {
      out[at + 1] = n;
    } else if (h === 4) {
      out[at + 1] = 126;
      out.writeUInt16BE(n, at + 2);
    } else {
      out[at + 1] = 127;
      out.writeUInt32BE(Math.floor(n / 2 ** 32), at + 2);
      out.writeUInt32BE(n >>> 0, at + 6);
    }
    out.write(head, at + h, 'utf8');
    body.copy(out, at + h + headBytes);
    at += h + n;
  }
  return out;
}

/**
 * A `ws` socket as the shared fan-out writes to it. A shared frame is framed here once per socket
 * (one Buffer: header, the member's prefix, the group's payload bytes encoded once) and written
 * straight to the connection: one write per delivery instead of ws's string encoding, frame
 * header and corked pair of writes. Safe because ws writes its own frames synchronously and in
 * order on the same connection whenever it compresses nothing (the server is created with
 * `perMessageDeflate: false`) and sends no Blob (graphql-ws sends strings): both writers append to
 * the one stream in call order.
 */
class WsFanoutSocket implements FanoutSocket {
  constructor(private readonly socket: WebSocket, private readonly raw: Duplex) {}

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  get isOpen(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  sendShared(head: string, headBytes: number, bodies: readonly Buffer[]): void {
    if (this.socket.readyState !== this.socket.OPEN || !this.raw.writable) return; // closing: its close ends its subscriptions
    this.raw.write(textFrames(head, headBytes, bodies));
  }

  sendText(frame: string): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(frame, () => undefined); // a failed send: the socket is closing
  }

  onceDrained(cb: () => void): void {
    this.raw.once('drain', cb);
  }
}

/**
 * What the shared fan-out needs of a document: its one root field and the variable its `after`
 * argument takes (shared only when that variable is unset or null), or that it is not shared.
 */
type Prepared =
  | {
    readonly shared: true;
    /** Stands for the operation (name and text) in group keys, so a group does not hold a copy of the text. */
    readonly id: number;
    readonly document: DocumentNode;
    readonly field: string;
    readonly afterVariable: string | undefined;
    /** How its groups execute events: graphql-jit's compiled operation when it compiled. */
    readonly execution: GroupExecution;
  }
  | { readonly shared: false };

/** Documents prepared for the shared fan-out, by operation name and text. @default 1000 entries, then cleared */
const PREPARED_LIMIT = 1000;

/**
 * A subscription the fan-out may share: one root field without directives, whose `after` (a resume,
 * which replays alone) is absent or a variable (checked per subscribe).
 */
function sharedField(op: OperationDefinitionNode): { field: string; afterVariable: string | undefined } | undefined {
  if (op.operation !== 'subscription' || op.selectionSet.selections.length !== 1) return undefined;
  const root = op.selectionSet.selections[0]!;
  if (root.kind !== Kind.FIELD || (root.directives?.length ?? 0) > 0) return undefined;
  const after = root.arguments?.find((a) => a.name.value === 'after');
  if (after === undefined) return { field: root.name.value, afterVariable: undefined };
  if (after.value.kind !== Kind.VARIABLE) return undefined;
  return { field: root.name.value, afterVariable: after.value.name.value };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The Authorization value from a connection_init payload. */
function authorizationFrom(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (params === undefined) return undefined;
  for (const [k, v] of Object.entries(params)) if (k.toLowerCase() === 'authorization' && typeof v === 'string') return v;
  const token = params['token'];
  return typeof token === 'string' ? `Bearer ${token}` : undefined;
}

function withCode(e: GraphQLError, code: string): GraphQLError {
  if (e.extensions['code'] !== undefined) return e;
  return new GraphQLError(e.message, {
    ...(e.nodes !== undefined ? { nodes: e.nodes } : {}),
    ...(e.source !== undefined ? { source: e.source } : {}),
    ...(e.positions !== undefined ? { positions: e.positions } : {}),
    ...(e.originalError !== undefined ? { originalError: e.originalError } : {}),
    extensions: { ...e.extensions, code },
  });
}

/** A GraphQL error carrying a GatewayError, so the formatter sends its code and details. */
function gatewayGraphQLError(err: Error & { code: string }): GraphQLError {
  return new GraphQLError(err.message, { originalError: err, extensions: { code: err.code } });
}

/** An iterable whose first step fails with `error`: graphql-ws then sends an `error` message. */
function failing(error: unknown): AsyncIterable<ExecutionResult> {
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => Promise.reject(error),
      return: () => Promise.resolve({ done: true as const, value: undefined }),
    }),
  };
}

/**
 * A subscription's events, each executed under a fresh deadline (graphql-js `subscribe`, with the
 * deadline restarted between the source event and the execution of its fields).
 */
async function subscribeWithDeadlines(args: ExecutionArgs, ctx: GraphQLContext): Promise<AsyncIterable<ExecutionResult>> {
  const stream = await createSourceEventStream(args);
  ctx.deadline.dispose(); // the start is done
  if (!(Symbol.asyncIterator in stream)) return failing(stream.errors?.[0] ?? new GraphQLError('The subscription could not start'));
  return mapAsyncIterator(stream[Symbol.asyncIterator](), async (payload: unknown): Promise<ExecutionResult> => {
    ctx.deadline.restart();
    try {
      return await execute({ ...args, rootValue: payload });
    } finally {
      ctx.deadline.dispose();
    }
  });
}

/** Starts graphql-ws on `/graphql` of the HTTP server. */
export function attachWebSocketServer(o: WebSocketOptions): WebSocketHandle {
  const log = o.log.child('ws');
  const schema = getSchema(o.contextDeps.registry);
  const rules = [...specifiedRules, ...limitRules(o.config.limits)];
  const { maxPerSocket, maxSocketsPerSubject } = o.config.subscriptions;
  const states = new WeakMap<WebSocket, SocketState>();
  const socketsPerSubject = new Map<string, number>();
  let lastSocketId = 0;
  const fanout = new Fanout(
    {
      queueLimit: o.config.subscriptions.queueLimit,
      conflateLimit: o.config.subscriptions.conflateLimit,
      countShared: (delta) => o.contextDeps.hub.countShared(delta),
    },
    log,
    (errs) => errs.map((e) => o.formatError(e.toJSON(), e)),
  );
  const stopBuffered = o.contextDeps.hub.addBufferedSource(() => fanout.buffered);
  const prepared = new Map<string, Prepared>();
  let lastPreparedId = 0;
  const verify = o.verifyCompiled === true;
  /** graphql-jit's compiled subscription (same resolvers), or graphql-js when it does not compile or `compiled` is off. */
  const execution = (document: DocumentNode, operationName: string | undefined): GroupExecution => {
    if (o.compiled === false) return INTERPRETED;
    try {
      const compiled = compileSubscription(schema, document, operationName);
      return compiled === undefined ? INTERPRETED : { compiled, verify };
    } catch (err) {
      log.warn({ err }, 'subscription did not compile; graphql-js executes it');
      return INTERPRETED;
    }
  };
  const prepare = (query: string, operationName: string | undefined): Prepared => {
    const cacheKey = `${operationName ?? ''}\u0000${query}`;
    let p = prepared.get(cacheKey);
    if (p !== undefined) return p;
    p = { shared: false };
    try {
      const document = parse(query, { maxTokens: o.config.limits.maxTokens });
      const op = validate(schema, document, rules).length === 0 ? getOperationAST(document, operationName) : null;
      const shared = op === null || op === undefined ? undefined : sharedField(op);
      if (shared !== undefined) p = { shared: true, id: ++lastPreparedId, document, ...shared, execution: execution(document, operationName) };
    } catch {
      // not shared: graphql-ws's path reports the parse error
    }
    if (prepared.size >= PREPARED_LIMIT) prepared.clear();
    prepared.set(cacheKey, p);
    return p;
  };
  /** Takes live subscriptions (and their `complete`) for the shared fan-out; false: graphql-ws handles the message. */
  const intercept = (socket: WebSocket, text: string): boolean => {
    const isSubscribe = text.includes('"subscribe"');
    if (!isSubscribe && !text.includes('"complete"')) return false;
    const s = states.get(socket);
    const viewer = s?.viewer;
    const protocol = s?.protocol;
    if (s === undefined || viewer === undefined || protocol?.acknowledged !== true) return false;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return false;
    }
    if (!isRecord(msg) || typeof msg['id'] !== 'string' || msg['id'] === '') return false;
    const id = msg['id'];
    if (msg['type'] === 'complete') return s.fan?.complete(id) ?? false;
    if (msg['type'] !== 'subscribe' || !isRecord(msg['payload'])) return false;
    const payload = msg['payload'];
    const query = payload['query'];
    const operationName = payload['operationName'] ?? undefined;
    const variables = payload['variables'] ?? {};
    if (typeof query !== 'string' || (operationName !== undefined && typeof operationName !== 'string') || !isRecord(variables)) return false;
    if (id in protocol.subscriptions || s.fan?.members.has(id) === true) {
      socket.close(CloseCode.SubscriberAlreadyExists, `Subscriber for ${id} already exists`);
      return true;
    }
    // At the cap: graphql-ws's path sends the TOO_MANY_REQUESTS error.
    if (Object.keys(protocol.subscriptions).length + (s.fan?.members.size ?? 0) >= maxPerSocket) return false;
    const p = prepare(query, operationName);
    if (!p.shared) return false;
    if (p.afterVariable !== undefined && variables[p.afterVariable] !== undefined && variables[p.afterVariable] !== null) return false;
    const op = getOperationAST(p.document, operationName);
    if (op === null || op === undefined) return false;
    if (getVariableValues(schema, op.variableDefinitions ?? [], variables).errors !== undefined) return false;
    // The prepared id stands for name + text (ids are never reused, also after the cache is cleared).
    const key = `${p.id}\u0000${JSON.stringify(variables)}\u0000${permissionScope(o.contextDeps.registry, viewer)}`;
    s.fan ??= new SocketFanout(new WsFanoutSocket(socket, protocol.extra.raw), fanout);
    fanout.join(s.fan, id, key, p.field, () => ({
      schema,
      document: p.document,
      operationName: operationName ?? null,
      variableValues: variables,
      contextValue: createSocketContext(o.contextDeps, viewer, s.id),
    }), p.execution);
    return true;
  };
  const wss = new WebSocketServer({
    server: o.httpServer,
    path: '/graphql',
    maxPayload: o.config.limits.maxBodyBytes,
    // The shared fan-out writes frames next to ws's own (WsFanoutSocket): never compressed.
    perMessageDeflate: false,
    verifyClient: (info: { origin: string | undefined; req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) => {
      if (!o.accepting()) return done(false, 503);
      // ws fills `origin` from the Origin header (Sec-WebSocket-Origin for protocol version 8).
      if (info.origin !== undefined && !originAllowed(o.config.cors, info.origin, info.req.headers.host)) {
        log.debug({}, 'websocket upgrade refused: origin not allowed');
        o.countError('FORBIDDEN');
        return done(false, 403, 'Origin not allowed');
      }
      done(true);
    },
  });
  const state = (socket: WebSocket): SocketState => {
    let s = states.get(socket);
    if (s === undefined) states.set(socket, (s = { id: String(++lastSocketId) }));
    return s;
  };
  const expiries = new Expiries((socket) => {
    log.debug({}, 'token expired: closing websocket');
    socket.close(CloseCode.Unauthorized, 'Token expired');
  });
  /** Counts the socket under its subject; false when the subject is at its cap. */
  const admit = (s: SocketState, viewer: Viewer): boolean => {
    const subject = subjectKey(viewer);
    const n = socketsPerSubject.get(subject) ?? 0;
    if (n >= maxSocketsPerSubject) return false;
    socketsPerSubject.set(subject, n + 1);
    s.subject = subject;
    return true;
  };
  const leave = (s: SocketState | undefined) => {
    if (s?.subject === undefined) return;
    const n = (socketsPerSubject.get(s.subject) ?? 1) - 1;
    if (n <= 0) socketsPerSubject.delete(s.subject);
    else socketsPerSubject.set(s.subject, n);
    s.subject = undefined;
  };

  const dispose = serveGraphqlWs({
    schema,
    async onConnect(ctx) {
      const socket = ctx.extra.socket;
      let viewer: Viewer;
      try {
        viewer = await authenticate(o.config.auth, o.verifier, authorizationFrom(ctx.connectionParams));
      } catch (err) {
        log.debug({ reason: err instanceof Error ? err.message : 'rejected' }, 'websocket connection refused');
        o.countError('UNAUTHENTICATED');
        // graphql-ws would close with 4403 on `false`; 4401 says "bad credentials". A second close is a no-op.
        socket.close(CloseCode.Unauthorized, 'Unauthorized');
        return false;
      }
      // The client may have gone while the key was fetched: arm no timer for a closed socket.
      if (socket.readyState !== socket.OPEN) return false;
      const s = state(socket);
      if (!admit(s, viewer)) {
        log.debug({ max: maxSocketsPerSubject }, 'websocket refused: too many sockets for this subject');
        o.countError('TOO_MANY_REQUESTS');
        socket.close(TOO_MANY_SOCKETS, `Too many connections for this user (at most ${maxSocketsPerSubject})`);
        return false;
      }
      s.viewer = viewer;
      s.protocol = ctx;
      // Nothing reads the connection_init payload after this (graphql-ws only stores it): drop it,
      // so an open socket does not hold its token string for its life.
      (ctx as { connectionParams?: unknown }).connectionParams = undefined;
      if (viewer.expiresAt !== undefined) expiries.add(socket, s, viewer.expiresAt);
      return true;
    },
    onClose(ctx) {
      const s = states.get(ctx.extra.socket);
      if (s !== undefined) expiries.remove(s);
      s?.fan?.closed();
      leave(s);
    },
    onSubscribe(ctx, id, payload) {
      const s = states.get(ctx.extra.socket);
      const viewer = s?.viewer;
      if (s === undefined || viewer === undefined) return [new GraphQLError('Unauthorized', { extensions: { code: 'UNAUTHENTICATED' } })];
      if (s.fan?.members.has(id) === true) {
        ctx.extra.socket.close(CloseCode.SubscriberAlreadyExists, `Subscriber for ${id} already exists`);
        return [new GraphQLError(`Subscriber for ${id} already exists`)];
      }
      // graphql-ws has registered this operation already: more than the cap means one too many.
      if (Object.keys(ctx.subscriptions).length + (s.fan?.members.size ?? 0) > maxPerSocket) {
        o.countError('TOO_MANY_REQUESTS');
        return [gatewayGraphQLError(errors.tooMany(`At most ${maxPerSocket} operations may be active on one connection`, 'maxPerSocket', maxPerSocket))];
      }
      let document: DocumentNode;
      try {
        document = parse(payload.query, { maxTokens: o.config.limits.maxTokens });
      } catch (err) {
        return [withCode(err instanceof GraphQLError ? err : new GraphQLError(String(err)), 'GRAPHQL_PARSE_FAILED')];
      }
      const invalid = validate(schema, document, rules);
      if (invalid.length > 0) return invalid.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED'));
      const op = getOperationAST(document, payload.operationName);
      if (op === null || op === undefined) {
        return [new GraphQLError('Unable to identify the operation to run', { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })];
      }
      const vars = getVariableValues(schema, op.variableDefinitions ?? [], payload.variables ?? {});
      if (vars.errors !== undefined) return vars.errors.map((e) => withCode(e, 'BAD_USER_INPUT'));
      const args: ExecutionArgs = {
        schema,
        document,
        operationName: payload.operationName ?? null,
        variableValues: payload.variables ?? null,
        contextValue: createContext(o.contextDeps, viewer, 'ws', { socketId: s.id }),
      };
      return args;
    },
    async execute(args) {
      const ctx = args.contextValue as GraphQLContext;
      try {
        return await execute(args);
      } finally {
        ctx.deadline.dispose();
      }
    },
    subscribe: (args) => subscribeWithDeadlines(args, args.contextValue as GraphQLContext),
    onNext(_ctx, _id, _payload, _args, result) {
      if (result.errors === undefined) return undefined;
      return { ...result, errors: result.errors.map((e) => o.formatError(e.toJSON(), e)) };
    },
    onError(_ctx, _id, _payload, errs) {
      return errs.map((e) => o.formatError(e.toJSON(), e));
    },
  }, wss, log, o.config.subscriptions.keepAliveMs, intercept);

  return {
    get connections() {
      return wss.clients.size;
    },
    get sharedGroups() {
      return fanout.size;
    },
    async close() {
      await Promise.all([...wss.clients].map((socket) => new Promise<void>((resolve) => {
        if (socket.readyState === socket.CLOSED) return resolve();
        const kill = setTimeout(() => socket.terminate(), CLOSE_WAIT_MS);
        socket.once('close', () => {
          clearTimeout(kill);
          resolve();
        });
        socket.close(1001, 'Going away');
      })));
      await dispose();
      expiries.stop();
      stopBuffered();
    },
  };
}
