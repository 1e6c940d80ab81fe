import type { Logger } from '../../log';
import { decodeFrontend, encode, Framer, type FrontendMessage, MAX_AUTH_MESSAGE_BYTES, ProtocolError } from '../protocol';
import { SqlRefusal, SqlState } from '../sqlstate';
import type { SqlUser } from '../users';
import { auditLogin, StatementAudit } from './audit';
import type { BackendKey, QueryContext, SessionOptions, SessionTransport } from './context';
import { ExtendedQuery } from './extendedQuery';
import { LocalStatements } from './localStatements';
import { SessionMemory } from './memory';
import { Output } from './output';
import { PreparedStore } from './portals';
import { StatementRunner } from './runner';
import { SessionSettings } from './settings';
import { SimpleQuery } from './simpleQuery';
import { type ScramLogin, startupPacket, welcome } from './startup';
import { TransactionState } from './transaction';

/**
 * One client connection, as a state machine over bytes (no sockets: the listener adapts a socket to
 * {@link SessionTransport}; tests drive it with buffers). This file owns the message pump (framing,
 * strict in-order handling, backpressure), the connection's lifecycle and the dispatch of each
 * message to its handler:
 *
 *   initial ──SSLRequest──▶ initial (after 'S' + TLS, or 'N')
 *      │  └─CancelRequest──▶ closed (cancels the statement of that backend key)
 *      └─StartupMessage──▶ auth (SCRAM-SHA-256, startup.ts) ──ok──▶ ready ──Terminate / FATAL──▶ closed
 *                                 ├──fail──▶ closed (28P01)
 *                                 └──ok, but the session limit is reached──▶ closed (53300)
 *
 * Before `ready` the connection is on the listener's pending budget: the auth timeout runs, typed
 * messages are limited to {@link MAX_AUTH_MESSAGE_BYTES}, and the answer to a SCRAM proof waits
 * for the login back-off (throttle.ts) of that user and address.
 *
 * In `ready`, messages are handled strictly in order (one at a time, like a Postgres backend) by
 * simpleQuery.ts and extendedQuery.ts, which share settings.ts, transaction.ts, localStatements.ts,
 * runner.ts, output.ts and audit.ts. A protocol violation is answered with FATAL 08P01 and the
 * connection closed; a refused or failed statement is an ErrorResponse and the connection stays
 * usable. In the extended protocol an error skips messages until Sync.
 */

/** The handlers of an authenticated session. */
interface Ready {
  readonly simple: SimpleQuery;
  readonly extended: ExtendedQuery;
}

/** Where the connection is. */
type SessionState =
  | { readonly phase: 'initial' }
  | { readonly phase: 'auth'; readonly login: ScramLogin }
  | { readonly phase: 'ready'; readonly key: BackendKey; readonly handlers: Ready }
  | { readonly phase: 'closed'; readonly key: BackendKey | undefined };

/** Frames queued before the transport is paused. */
const MAX_BACKLOG = 256;
/**
 * Bytes of queued frames before the transport is paused: without it, 256 pipelined messages of
 * the maximum size (8 MiB each) could be held at once. One message of any allowed size still goes
 * through (it is queued, handled, then reading resumes).
 */
const MAX_BACKLOG_BYTES = 1024 * 1024;

/** One client connection of the SQL passthrough. */
export class Session {
  private state: SessionState = { phase: 'initial' };
  private readonly framer: Framer;
  private queue: Promise<void> = Promise.resolve();
  /** Frames received and not handled yet. */
  private backlog = 0;
  /** Bytes of the frames in {@link backlog}. */
  private backlogBytes = 0;
  /** True while reading is paused because of the backlog. */
  private paused = false;
  private readonly out: Output;
  private readonly settings: SessionSettings;
  private readonly runner: StatementRunner;
  private readonly tx = new TransactionState();
  private readonly authTimer: NodeJS.Timeout;
  private readonly log: Logger;
  /** Prepared statements and portals, once authenticated (released when the session ends). */
  private store: PreparedStore | undefined;
  /** The byte stream could not be framed: everything after is ignored. */
  private broken = false;
  /** Ends the login back-off wait early (the connection closed meanwhile). */
  private wake: (() => void) | undefined;

  constructor(private readonly t: SessionTransport, private readonly o: SessionOptions) {
    this.framer = new Framer(Math.min(o.maxMessageBytes, MAX_AUTH_MESSAGE_BYTES));
    this.log = o.log;
    this.out = new Output(t, () => this.state.phase === 'closed');
    this.settings = new SessionSettings(o.statementTimeoutMs);
    this.runner = new StatementRunner(o.executor, this.settings);
    this.authTimer = setTimeout(() => {
      if (this.state.phase === 'initial' || this.state.phase === 'auth') void this.fatal(SqlState.PROTOCOL_VIOLATION, 'authentication timeout');
    }, o.authTimeoutMs);
    this.authTimer.unref();
  }

  /** Backend pid of this session (after authentication). */
  get pid(): number | undefined {
    return this.state.phase === 'ready' || this.state.phase === 'closed' ? this.state.key?.pid : undefined;
  }

  /** Bytes from the client. Never throws: failures end this connection only. */
  receive(data: Buffer): void {
    if (this.state.phase === 'closed' || this.broken) return;
    let frames;
    try {
      frames = this.framer.push(data);
    } catch (err) {
      // Nothing after a bad frame is read (or buffered): the messages before it are answered, then FATAL.
      this.broken = true;
      this.t.pause();
      this.queue = this.queue.then(() => this.fatal(SqlState.PROTOCOL_VIOLATION, err instanceof Error ? err.message : 'invalid message'));
      return;
    }
    // A client that pipelines faster than statements run is paused, so queued work stays bounded.
    this.backlog += frames.length;
    for (const f of frames) this.backlogBytes += f.body.length;
    if (!this.paused && (this.backlog > MAX_BACKLOG || this.backlogBytes > MAX_BACKLOG_BYTES)) {
      this.paused = true;
      this.t.pause();
    }
    for (const f of frames) {
      this.queue = this.queue.then(async () => {
        if (this.state.phase === 'closed') return;
        try {
          if (f.phase === 'initial') await this.initial(f.body);
          else await this.message(decodeFrontend(f.type, f.body));
        } catch (err) {
          if (err instanceof ProtocolError) await this.fatal(SqlState.PROTOCOL_VIOLATION, err.message);
          else {
            this.log.error({ err: err instanceof Error ? err.stack ?? err.message : String(err), pid: this.pid }, 'passthrough session failed');
            await this.fatal(SqlState.INTERNAL_ERROR, 'internal error');
          }
        } finally {
          this.backlog--;
          this.backlogBytes -= f.body.length;
          if (this.paused && this.backlog <= MAX_BACKLOG / 8 && this.backlogBytes <= MAX_BACKLOG_BYTES / 8) {
            this.paused = false;
            this.t.resume();
          }
        }
      });
    }
  }

  /** Cancels the running statement, if any (CancelRequest from another connection). */
  cancelRunning(): void {
    this.runner.abort('cancel');
  }

  /** The connection went away (or the listener is shutting down): stop and release everything. */
  closed(): void {
    if (this.state.phase === 'closed') return;
    const key = this.state.phase === 'ready' ? this.state.key : undefined;
    this.state = { phase: 'closed', key };
    clearTimeout(this.authTimer);
    this.wake?.();
    this.runner.abort('closed');
    this.store?.clearAll();
    if (key !== undefined) this.o.registry.unregister(key.pid);
  }

  /** The listener turns this connection away (evicted from the pending budget): FATAL `code`, then close. */
  refuse(code: string, message: string): Promise<void> {
    return this.fatal(code, message);
  }

  /** Listener shutdown: tell the client, then close. */
  async shutdown(): Promise<void> {
    await this.fatal(SqlState.ADMIN_SHUTDOWN, 'terminating connection due to administrator command');
  }

  private async initial(body: Buffer): Promise<void> {
    const outcome = await startupPacket(body, {
      options: this.o, transport: this.t, out: this.out, settings: this.settings,
      // Unframed bytes, and frames already split off behind this one (the backlog counts this one).
      pendingInput: () => this.framer.pending() + this.backlog - 1,
    });
    switch (outcome.kind) {
      case 'answered':
        return;
      case 'cancel':
        this.o.registry.cancel(outcome.pid, outcome.secret);
        this.close();
        return;
      case 'refused':
        return this.fatal(outcome.code, outcome.message);
      case 'login':
        this.state = { phase: 'auth', login: outcome.login };
        return this.out.flush();
    }
  }

  private async message(m: FrontendMessage): Promise<void> {
    const state = this.state;
    if (state.phase === 'auth') {
      if (m.type !== 'Password') throw new ProtocolError(`expected SASL response, got ${m.type}`);
      return this.password(state.login, m.body);
    }
    if (state.phase !== 'ready') return;
    const { simple, extended } = state.handlers;
    if (m.type === 'Terminate') return this.close();
    if (m.type === 'Sync') return extended.sync();
    if (extended.skippingUntilSync) return;
    switch (m.type) {
      case 'Query':
        return simple.run(m.sql);
      case 'Parse':
      case 'Bind':
      case 'Describe':
      case 'Execute':
        return extended.handle(m);
      case 'Close':
        extended.close(m.target, m.name);
        return;
      case 'Flush':
        return this.out.flush();
      case 'FunctionCall':
        this.out.error(new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, 'the function call protocol is not supported by the SQL passthrough'));
        this.out.push(encode.readyForQuery(this.tx.status));
        return this.out.flush();
      case 'CopyData':
      case 'CopyDone':
      case 'CopyFail':
        return; // Ignored outside COPY, as Postgres does.
      case 'Password':
        throw new ProtocolError('unexpected password message');
    }
  }

  private async password(login: ScramLogin, body: Buffer): Promise<void> {
    const proof = login.awaitingProof;
    // The back-off comes before the proof is checked and does not depend on it (throttle.ts).
    const delayMs = proof ? this.o.throttle.delayMs(login.name, this.t.address) : 0;
    if (delayMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
      if (this.state.phase === 'closed') return;
    }
    const step = login.step(body, delayMs);
    switch (step.kind) {
      case 'continue':
        return this.out.flush();
      case 'refused':
        if (proof) this.o.throttle.failed(login.name, this.t.address);
        return this.fatal(step.code, step.message);
      case 'ok': {
        this.o.throttle.succeeded(login.name);
        const full = this.t.admit();
        if (full !== undefined) return this.fatal(SqlState.TOO_MANY_CONNECTIONS, full);
        clearTimeout(this.authTimer);
        this.framer.maxMessageBytes = this.o.maxMessageBytes;
        const key = this.o.registry.register(this);
        this.state = { phase: 'ready', key, handlers: this.handlers(step.user, key) };
        welcome(this.out, this.settings, step.serverFinal, key, this.tx.status);
        auditLogin(this.o.audit, step.user, key.pid, this.t.remote, this.t.encrypted, delayMs);
        return this.out.flush();
      }
    }
  }

  /** The query handlers of the authenticated `user`. */
  private handlers(user: SqlUser, key: BackendKey): Ready {
    const store = new PreparedStore(new SessionMemory(this.o.memory, this.o.sessionMemoryBytes));
    this.store = store;
    const ctx: QueryContext = {
      user, maxRows: this.o.maxRows, executor: this.o.executor, log: this.log, out: this.out, tx: this.tx, runner: this.runner,
      audit: new StatementAudit(this.o.audit, user, key.pid),
      local: new LocalStatements(this.settings, this.tx, store, this.out),
    };
    return { simple: new SimpleQuery(ctx), extended: new ExtendedQuery(ctx, store) };
  }

  /**
   * Sends FATAL `code` and closes. Does not wait for the client to read it: the write is queued
   * before the transport's close (end, then destroy after a short linger), so a client that never
   * reads cannot keep a refused or shut-down connection open.
   */
  private fatal(code: string, message: string): Promise<void> {
    if (this.state.phase === 'closed') return Promise.resolve();
    this.out.push(encode.error({ severity: 'FATAL', code, message }));
    // flush() hands the bytes to the transport synchronously; its promise waits for a drain we do not need.
    void this.out.flush().catch(() => undefined);
    this.close();
    return Promise.resolve();
  }

  private close(): void {
    if (this.state.phase === 'closed') return;
    this.closed();
    this.t.close();
  }
}
