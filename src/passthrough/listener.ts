import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { wholeOption } from '../config/env';
import { errors } from '../errors';
import type { Engine } from '../engine/types';
import type { Logger } from '../log';
import { Admission, addressKey, type Ticket } from './admission';
import { ResultDescriber } from './describe/describer';
import { StatementExecutor } from './executor';
import { loadSqlParser } from './guard/guard';
import { decodeInitial, encode, Framer, MAX_STARTUP_BYTES } from './protocol';
import type { CancelRegistry, SessionOptions, SessionTransport } from './session/context';
import { TotalMemory } from './session/memory';
import { Session } from './session/session';
import { SqlState } from './sqlstate';
import { LoginThrottle } from './throttle';
import type { SqlUser } from './users';

/**
 * The socket side of the SQL passthrough: a TCP listener, optional TLS upgrade after SSLRequest,
 * backend keys for CancelRequest, connection limits (admission.ts) and an orderly close. Everything
 * about the protocol is in session/; this file only adapts sockets.
 *
 * Every accepted socket is tracked until it has closed, refused ones too: a refusal writes the
 * ErrorResponse, ends the socket, keeps reading (and dropping) what the peer sends so its FIN is
 * seen, and destroys the socket after {@link LINGER_MS} if the peer never closes or never reads.
 * close() ends them all and resolves even when peers do neither.
 */

/** How long a refused or closed connection may wait for the peer to read and close, in ms. */
const LINGER_MS = 1_000;
/** How long a refused connection may take to send its startup packet (TLS handshake included), in ms. */
const REFUSAL_DEADLINE_MS = 2_000;
/** How long close() lets sessions say goodbye (57P01) before destroying what is left, in ms. */
const CLOSE_GRACE_MS = 2_000;

/** TLS material: file paths (as configured) or the PEM contents. */
export type SqlTlsOptions =
  | { readonly certPath: string; readonly keyPath: string }
  | { readonly cert: string | Buffer; readonly key: string | Buffer };

/** Options for {@link startSqlPassthrough}. */
export interface SqlPassthroughOptions {
  /** Address to bind (`WAVEGATE_SQL_HOST`). @default '127.0.0.1' */
  readonly host?: string;
  /** Port (`WAVEGATE_SQL_PORT`); 0 picks a free one. @default 5433 */
  readonly port?: number;
  /** The engine the statements run on, through Engine.query only. */
  readonly engine: Engine;
  /** Who may log in (see parseSqlUsers). */
  readonly users: readonly SqlUser[];
  readonly log: Logger;
  /** Longest a statement may run, in milliseconds (`WAVEGATE_SQL_STATEMENT_TIMEOUT_MS`). @default 30_000 */
  readonly statementTimeoutMs?: number;
  /** Most rows a result may have; more is error 54000 (`WAVEGATE_SQL_MAX_ROWS`). @default 10_000 */
  readonly maxRows?: number;
  /** Certificate and key: SSLRequest is answered 'S' and TLS negotiated. Without it, 'N'. */
  readonly tls?: SqlTlsOptions;
  /** Authenticated sessions at most (`WAVEGATE_SQL_MAX_CONNECTIONS`); more get FATAL 53300. @default 100 */
  readonly maxConnections?: number;
  /**
   * Connections not yet authenticated, all addresses (`WAVEGATE_SQL_MAX_PENDING`); beyond, the
   * oldest pending one is closed with FATAL 53300. @default 16
   */
  readonly maxPending?: number;
  /** Connections not yet authenticated from one address (`WAVEGATE_SQL_MAX_PENDING_PER_ADDRESS`). @default 8 */
  readonly maxPendingPerAddress?: number;
  /** Connections from one address, pending and authenticated (`WAVEGATE_SQL_MAX_CONNECTIONS_PER_ADDRESS`). @default 50 */
  readonly maxConnectionsPerAddress?: number;
  /** Largest frontend message, in bytes (`WAVEGATE_SQL_MAX_MESSAGE_BYTES`); larger is FATAL 08P01. @default 8_388_608 (8 MiB) */
  readonly maxMessageBytes?: number;
  /** Time from connect to authenticated, in milliseconds (`WAVEGATE_SQL_AUTH_TIMEOUT_MS`). @default 5_000 */
  readonly authTimeoutMs?: number;
  /** Login back-off after the first wrong password, in ms (`WAVEGATE_SQL_LOGIN_BACKOFF_MS`); 0 = off. @default 100 */
  readonly loginBackoffMs?: number;
  /** Longest login back-off, in ms (`WAVEGATE_SQL_LOGIN_BACKOFF_MAX_MS`); below authTimeoutMs. @default 3_000, or authTimeoutMs / 2 when less */
  readonly loginBackoffMaxMs?: number;
  /** Failed logins are forgotten this long after the last one, in ms (`WAVEGATE_SQL_LOGIN_BACKOFF_WINDOW_MS`). @default 300_000 (5 min) */
  readonly loginBackoffWindowMs?: number;
  /**
   * Estimated bytes one session's prepared statements and portals may hold
   * (`WAVEGATE_SQL_SESSION_MEMORY_BYTES`); beyond is ERROR 54000. @default 33_554_432 (32 MiB)
   */
  readonly sessionMemoryBytes?: number;
  /**
   * Estimated bytes all sessions' prepared statements and portals may hold together
   * (`WAVEGATE_SQL_TOTAL_MEMORY_BYTES`); beyond is ERROR 53200. @default 268_435_456 (256 MiB)
   */
  readonly totalMemoryBytes?: number;
  /**
   * Embedded engine only: largest planner cost a statement may have (`WAVEGATE_SQL_EMBEDDED_MAX_COST`);
   * the worker that runs statements (src/engine/embedded/isolated/) saves the work of plans over it. @default 1_000_000
   */
  readonly embeddedMaxPlanCost?: number;
}

/** What a listener holds right now (for tests, metrics and the abuse bench). */
export interface SqlPassthroughStats {
  /** Sockets open: pending, authenticated, and refused ones not closed yet. */
  readonly sockets: number;
  /** Connections not yet authenticated. */
  readonly pending: number;
  /** Authenticated sessions. */
  readonly authenticated: number;
  /** Connections refused or evicted with 53300 since the start. */
  readonly refused: number;
  /** Estimated bytes of prepared statements and portals, all sessions. */
  readonly preparedBytes: number;
  /** Bytes written to sockets and not yet taken by the kernel (output a slow reader makes us hold). */
  readonly bufferedBytes: number;
  /** Sessions waiting for a client to read before they answer more (output backpressure). */
  readonly waitingForDrain: number;
}

/** A running listener. */
export interface SqlPassthrough {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Counters of what the listener holds. */
  stats(): SqlPassthroughStats;
  /**
   * Stops accepting, tells connected clients (57P01) and closes them; every socket is destroyed
   * after a short grace, so it resolves even when peers never read or close. Idempotent.
   */
  close(): Promise<void>;
}

/** Backend keys: random pids and secrets, compared in constant time. */
class Registry implements CancelRegistry {
  private readonly sessions = new Map<number, { secret: number; session: Session }>();
  constructor(private readonly log: Logger) {}

  register(session: Session): { pid: number; secret: number } {
    let pid: number;
    do pid = randomInt(1, 2 ** 31 - 1);
    while (this.sessions.has(pid));
    const secret = randomInt(-(2 ** 31), 2 ** 31 - 1);
    this.sessions.set(pid, { secret, session });
    return { pid, secret };
  }

  unregister(pid: number): void {
    this.sessions.delete(pid);
  }

  cancel(pid: number, secret: number): void {
    const entry = this.sessions.get(pid);
    const a = Buffer.alloc(4);
    const b = Buffer.alloc(4);
    a.writeInt32BE(entry?.secret ?? 0);
    b.writeInt32BE(secret | 0);
    if (entry === undefined || !timingSafeEqual(a, b)) {
      this.log.debug({ pid }, 'cancel request with an unknown backend key ignored');
      return;
    }
    this.log.info({ pid }, 'cancel request');
    entry.session.cancelRunning();
  }
}

/**
 * Starts the Postgres wire-protocol listener (docs/SQL.md). Loads the SQL parser and reads the
 * engine's server_version and TimeZone (reported to clients, so psql and drivers pick catalog
 * queries that match the engine) before listening.
 */
export async function startSqlPassthrough(options: SqlPassthroughOptions): Promise<SqlPassthrough> {
  const log = options.log.child('passthrough');
  const audit = options.log.child('passthrough.audit');
  const statementTimeoutMs = wholeOption('statementTimeoutMs', options.statementTimeoutMs, 30_000, 1);
  const maxRows = wholeOption('maxRows', options.maxRows, 10_000, 1, 10_000_000);
  const maxConnections = wholeOption('maxConnections', options.maxConnections, 100, 1);
  const maxPending = wholeOption('maxPending', options.maxPending, 16, 1);
  const admission = new Admission({
    maxConnections,
    maxPending,
    maxPendingPerAddress: wholeOption('maxPendingPerAddress', options.maxPendingPerAddress, 8, 1),
    maxConnectionsPerAddress: wholeOption('maxConnectionsPerAddress', options.maxConnectionsPerAddress, 50, 1),
  });
  const authTimeoutMs = wholeOption('authTimeoutMs', options.authTimeoutMs, 5_000, 1);
  // Unset: 3 s, or half the auth timeout when that is shorter (a held-back login must not time out).
  const backoffMaxMs = wholeOption('loginBackoffMaxMs', options.loginBackoffMaxMs, Math.min(3_000, Math.floor(authTimeoutMs / 2)), 0);
  if (backoffMaxMs >= authTimeoutMs) {
    throw errors.badConfig(`loginBackoffMaxMs (${backoffMaxMs}) must be below authTimeoutMs (${authTimeoutMs}): a login held back longer would time out`);
  }
  const throttle = new LoginThrottle({
    baseMs: wholeOption('loginBackoffMs', options.loginBackoffMs, 100, 0),
    maxMs: backoffMaxMs,
    windowMs: wholeOption('loginBackoffWindowMs', options.loginBackoffWindowMs, 300_000, 1),
  });
  const memory = new TotalMemory(wholeOption('totalMemoryBytes', options.totalMemoryBytes, 256 * 1024 * 1024, 1024));
  const sessionMemoryBytes = wholeOption('sessionMemoryBytes', options.sessionMemoryBytes, Math.min(32 * 1024 * 1024, memory.limit), 1024);
  if (sessionMemoryBytes > memory.limit) {
    throw errors.badConfig(`sessionMemoryBytes (${sessionMemoryBytes}) must not exceed totalMemoryBytes (${memory.limit})`);
  }
  const port = wholeOption('port', options.port, 5433, 0, 65_535);
  const secureContext = options.tls === undefined ? undefined : tls.createSecureContext(
    'certPath' in options.tls
      ? { cert: readFileSync(options.tls.certPath), key: readFileSync(options.tls.keyPath) }
      : { cert: options.tls.cert, key: options.tls.key });

  await loadSqlParser();
  const serverParams = await readServerParams(options.engine, log);
  const registry = new Registry(log);
  const executor = new StatementExecutor({
    engine: options.engine,
    describer: new ResultDescriber(options.engine, log),
    log,
    maxRows,
    maxPlanCost: options.embeddedMaxPlanCost ?? 1_000_000,
  });
  const sessionOptions: SessionOptions = {
    users: new Map(options.users.map((u) => [u.name, u])),
    mockSecret: randomBytes(32),
    executor,
    registry,
    log,
    audit,
    statementTimeoutMs,
    maxRows,
    maxMessageBytes: wholeOption('maxMessageBytes', options.maxMessageBytes, 8 * 1024 * 1024, 1024),
    authTimeoutMs,
    throttle,
    memory,
    sessionMemoryBytes,
    serverParams,
  };

  /** Every socket not closed yet, refused ones included. */
  const sockets = new Set<net.Socket>();
  const sessions = new Set<Session>();
  let refused = 0;
  let stopping = false;
  const drains = { waiting: 0 };
  /** Refused sockets still waiting for their startup packet. */
  const refusing = { count: 0, max: 4 * maxPending };
  const refuse = (socket: net.Socket, code: string, message: string) => {
    refused++;
    log.debug({ remote: socket.remoteAddress, message }, 'sql connection refused');
    refuseAfterStartup(socket, encode.error({ severity: 'FATAL', code, message }), registry, refusing, secureContext);
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', (err) => log.debug({ err: err.message }, 'client socket error'));
    socket.setNoDelay(true);
    if (stopping) {
      refuse(socket, SqlState.CANNOT_CONNECT_NOW, 'the database system is shutting down');
      return;
    }
    let session: Session | undefined;
    const arrival = admission.arrive(socket.remoteAddress, () => {
      // Evicted to make room for a newer pending connection.
      refused++;
      void session?.refuse(SqlState.TOO_MANY_CONNECTIONS, 'too many connections awaiting authentication');
    });
    if (!arrival.ok) {
      refuse(socket, SqlState.TOO_MANY_CONNECTIONS, arrival.message);
      return;
    }
    const ticket = arrival.ticket;
    session = attach(socket, secureContext, sessionOptions, log, ticket, admission, drains);
    sessions.add(session);
    const current = session;
    socket.once('close', () => {
      admission.leave(ticket);
      sessions.delete(current);
      current.closed();
    });
  });
  server.on('error', (err) => log.error({ err: err.message }, 'sql passthrough listener error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as net.AddressInfo).port;
  log.info({ host: options.host ?? '127.0.0.1', port: bound, tls: secureContext !== undefined, users: options.users.length,
    engine: options.engine.kind, statementTimeoutMs, maxRows, maxConnections, maxPending, authTimeoutMs }, 'sql passthrough listening');

  let closing: Promise<void> | undefined;
  return {
    port: bound,
    stats: () => ({
      sockets: sockets.size, pending: admission.pending, authenticated: admission.authenticated, refused, preparedBytes: memory.used,
      bufferedBytes: [...sockets].reduce((n, s) => n + s.writableLength, 0), waitingForDrain: drains.waiting,
    }),
    close: () => {
      closing ??= (async () => {
        stopping = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        // Armed first: nothing below may wait on a peer that neither reads nor closes.
        const deadline = setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, CLOSE_GRACE_MS);
        try {
          await Promise.all([...sessions].map((s) => s.shutdown().catch(() => undefined)));
          await stopped;
          // A socket leaves the set on its 'close' event, so every one still in it will emit one.
          await Promise.all([...sockets].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve()))));
        } finally {
          clearTimeout(deadline);
        }
        log.info({}, 'sql passthrough stopped');
      })();
      return closing;
    },
  };
}

/**
 * Refuses a connection the way Postgres does, so that clients show the reason: an SSLRequest is
 * answered 'S' and TLS negotiated when a certificate is configured, else 'N' (libpq 17 does not show
 * an error sent in answer to SSLRequest, since it could come from a man in the middle); a
 * GSSENCRequest gets 'N'; a CancelRequest is still honoured (psql's Ctrl-C must work on a full
 * server); the StartupMessage gets `error` (FATAL), then the socket is ended. Anything malformed, or
 * no startup within {@link REFUSAL_DEADLINE_MS}, and the socket is destroyed without an answer. At most
 * `refusing.max` refused sockets wait for their startup packet at once; beyond that a refused
 * socket is destroyed at once, so refusals cannot pile up descriptors or handshakes.
 */
function refuseAfterStartup(socket: net.Socket, error: Buffer, registry: CancelRegistry, refusing: { count: number; max: number },
  secureContext: tls.SecureContext | undefined): void {
  if (refusing.count >= refusing.max) {
    socket.destroy();
    return;
  }
  refusing.count++;
  let stream: net.Socket = socket;
  let waiting = true;
  const finish = (last?: Buffer) => {
    if (!waiting) return;
    waiting = false;
    refusing.count--;
    clearTimeout(timer);
    stream.off('data', onData);
    if (last === undefined) stream.destroy();
    else endSocket(stream, last);
  };
  const timer = setTimeout(() => finish(), REFUSAL_DEADLINE_MS);
  timer.unref();
  socket.once('close', () => finish());
  const framer = new Framer(MAX_STARTUP_BYTES);
  const onData = (data: Buffer) => {
    try {
      const frames = framer.push(data);
      for (const [i, frame] of frames.entries()) {
        if (frame.phase !== 'initial') return finish();
        const m = decodeInitial(frame.body);
        if (m.kind === 'cancel') {
          registry.cancel(m.pid, m.secret);
          return finish(Buffer.alloc(0));
        }
        if (m.kind === 'startup') return finish(error);
        if (m.kind === 'ssl' && secureContext !== undefined && stream === socket) {
          // Bytes behind the SSLRequest could have been injected before TLS: no answer.
          if (i < frames.length - 1 || framer.pending() > 0) return finish();
          socket.off('data', onData);
          socket.write(encode.sslAnswer(true));
          const secure = new tls.TLSSocket(socket, { isServer: true, secureContext });
          secure.on('error', () => finish());
          secure.on('data', onData);
          stream = secure;
          return;
        }
        stream.write(encode.sslAnswer(false));
      }
    } catch {
      finish(); // not a Postgres client: no answer
    }
  };
  socket.on('data', onData);
}

/**
 * Ends `socket` after `last` (an ErrorResponse): the write is queued before the FIN, what the peer
 * still sends is read and dropped (so its FIN is noticed and the socket closes), and the socket is
 * destroyed after {@link LINGER_MS} if the peer has not closed by then. Closing with unread input
 * would reset the connection and could lose the error message, hence end and linger, not destroy.
 */
function endSocket(socket: net.Socket, last?: Buffer): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.resume();
  if (last !== undefined) socket.end(last);
  else socket.end();
}

/** Connects a socket to a new session; handles the TLS upgrade. */
function attach(socket: net.Socket, secureContext: tls.SecureContext | undefined, options: SessionOptions, log: Logger,
  ticket: Ticket, admission: Admission, drains: { waiting: number }): Session {
  let current: net.Socket = socket;
  let encrypted = false;
  let session: Session | undefined;
  const onData = (data: Buffer) => session?.receive(data);
  const write = (data: Buffer) => new Promise<void>((resolve) => {
    if (current.destroyed || !current.writable) return resolve();
    if (current.write(data)) return resolve();
    // The client is not reading: wait for it (or for the socket to go) before answering more.
    const stream = current;
    drains.waiting++;
    const done = () => {
      stream.off('close', done);
      stream.off('drain', done);
      drains.waiting--;
      resolve();
    };
    stream.once('close', done);
    stream.once('drain', done);
  });
  const transport: SessionTransport = {
    write,
    // On TLS this ends the TLS stream (close_notify), and destroying it destroys the TCP socket.
    close: () => endSocket(current),
    get encrypted() {
      return encrypted;
    },
    remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`,
    address: addressKey(socket.remoteAddress),
    admit: () => admission.promote(ticket),
    pause: () => current.pause(),
    resume: () => current.resume(),
    ...(secureContext === undefined ? {} : {
      startTls: async (answer: Buffer) => {
        socket.off('data', onData);
        await write(answer);
        const secure = new tls.TLSSocket(socket, { isServer: true, secureContext });
        secure.on('error', (err) => {
          log.debug({ err: err.message }, 'tls error');
          socket.destroy();
        });
        await new Promise<void>((resolve, reject) => {
          secure.once('secure', resolve);
          secure.once('error', reject);
          secure.once('close', () => reject(new Error('closed during TLS handshake')));
        }).catch(() => undefined);
        if (secure.destroyed) return;
        current = secure;
        encrypted = true;
        secure.on('data', onData);
      },
    }),
  };
  session = new Session(transport, options);
  socket.on('data', onData);
  return session;
}

async function readServerParams(engine: Engine, log: Logger): Promise<Record<string, string>> {
  try {
    const [row] = await engine.query<{ v: string; tz: string }>(
      "SELECT pg_catalog.current_setting('server_version') AS v, pg_catalog.current_setting('TimeZone') AS tz");
    return { server_version: String(row?.v ?? '15.0'), timezone: String(row?.tz ?? 'UTC') };
  } catch (err) {
    log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not read the engine version; reporting 15.0');
    return { server_version: '15.0', timezone: 'UTC' };
  }
}
