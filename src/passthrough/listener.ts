import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { wholeOption } from '../config/env';
import type { Engine } from '../engine/types';
import type { Logger } from '../log';
import { ResultDescriber } from './describe/describer';
import { StatementExecutor } from './executor';
import { loadSqlParser } from './guard/guard';
import { encode } from './protocol';
import type { CancelRegistry, SessionOptions, SessionTransport } from './session/context';
import { Session } from './session/session';
import { SqlState } from './sqlstate';
import type { SqlUser } from './users';

/**
 * The socket side of the SQL passthrough: a TCP listener, optional TLS upgrade after SSLRequest,
 * backend keys for CancelRequest, connection limits and an orderly close. Everything about the
 * protocol is in session/; this file only adapts sockets.
 */

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
  /** Open connections at most; more get FATAL 53300. @default 100 */
  readonly maxConnections?: number;
  /** Largest frontend message, in bytes; larger is FATAL 08P01. @default 8_388_608 (8 MiB) */
  readonly maxMessageBytes?: number;
  /** Time from connect to authenticated, in milliseconds. @default 30_000 */
  readonly authTimeoutMs?: number;
  /**
   * Embedded engine only: largest planner cost a statement may have (`WAVEGATE_SQL_EMBEDDED_MAX_COST`);
   * PGlite cannot be interrupted once a statement runs. @default 1_000_000
   */
  readonly embeddedMaxPlanCost?: number;
}

/** A running listener. */
export interface SqlPassthrough {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops accepting, tells connected clients (57P01) and closes them. Idempotent. */
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
    authTimeoutMs: wholeOption('authTimeoutMs', options.authTimeoutMs, 30_000, 1),
    serverParams,
  };

  const sockets = new Set<net.Socket>();
  const sessions = new Set<Session>();
  const server = net.createServer((socket) => {
    socket.on('error', (err) => log.debug({ err: err.message }, 'client socket error'));
    socket.setNoDelay(true);
    if (sockets.size >= maxConnections) {
      socket.end(encode.error({ severity: 'FATAL', code: SqlState.TOO_MANY_CONNECTIONS, message: 'sorry, too many clients already' }));
      return;
    }
    sockets.add(socket);
    const session = attach(socket, secureContext, sessionOptions, log);
    sessions.add(session);
    socket.once('close', () => {
      sockets.delete(socket);
      sessions.delete(session);
      session.closed();
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
    engine: options.engine.kind, statementTimeoutMs, maxRows }, 'sql passthrough listening');

  let closing: Promise<void> | undefined;
  return {
    port: bound,
    close: () => {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...sessions].map((s) => s.shutdown().catch(() => undefined)));
        const deadline = setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, 2_000);
        await stopped;
        clearTimeout(deadline);
        log.info({}, 'sql passthrough stopped');
      })();
      return closing;
    },
  };
}

/** Connects a socket to a new session; handles the TLS upgrade. */
function attach(socket: net.Socket, secureContext: tls.SecureContext | undefined, options: SessionOptions, log: Logger): Session {
  let current: net.Socket = socket;
  let encrypted = false;
  let session: Session | undefined;
  const onData = (data: Buffer) => session?.receive(data);
  const write = (data: Buffer) => new Promise<void>((resolve) => {
    if (current.destroyed || !current.writable) return resolve();
    const done = () => {
      current.off('close', done);
      resolve();
    };
    current.once('close', done);
    if (current.write(data)) done();
    else current.once('drain', done);
  });
  const transport: SessionTransport = {
    write,
    close: () => {
      current.end();
      setTimeout(() => current.destroy(), 1_000).unref();
    },
    get encrypted() {
      return encrypted;
    },
    remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`,
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
