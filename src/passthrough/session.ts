import { createHash } from 'node:crypto';
import type { Logger } from '../log';
import { engineError, type QueryResult, type ResultColumn, StatementCancel, type StatementExecutor } from './executor';
import { checkSql, type LocalStatement, type SelectStatement, SqlRefusal, type Statement } from './guard';
import {
  decodeFrontend, decodeInitial, encode, type ErrorFields, type FieldDescription, type FormatCode, Framer,
  type FrontendMessage, ProtocolError,
} from './protocol';
import { ScramExchange, SCRAM_MECHANISM } from './scram';
import { SqlState } from './sqlstate';
import { Oid, typeSize } from './types';
import type { SqlUser } from './users';
import { binaryToText, hasBinary, textToBinary } from './values';

/**
 * One client connection, as a state machine over bytes (no sockets: the server adapts a socket to
 * {@link SessionTransport}; tests can drive it with buffers).
 *
 *   initial ──SSLRequest──▶ initial (after 'S' + TLS, or 'N')
 *      │  └─CancelRequest──▶ closed (cancels the statement of that backend key)
 *      └─StartupMessage──▶ auth (SCRAM-SHA-256) ──ok──▶ ready ──Terminate / FATAL──▶ closed
 *                                 └──fail──▶ closed (28P01)
 *
 * In `ready`, messages are handled strictly in order (one at a time, like a Postgres backend).
 * A protocol violation is answered with FATAL 08P01 and the connection closed; a refused or failed
 * statement is an ErrorResponse and the connection stays usable. In the extended protocol an error
 * skips messages until Sync.
 */

/** What the session needs from the connection. */
export interface SessionTransport {
  /** Sends bytes; resolves when the socket can take more. */
  write(data: Buffer): Promise<void>;
  /** Ends the connection (after flushing what was written). */
  close(): void;
  /**
   * Sends `answer` ('S') and switches the connection to TLS (server side of the handshake);
   * undefined when no certificate is configured.
   */
  startTls?: (answer: Buffer) => Promise<void>;
  /** Whether the connection is already encrypted. */
  readonly encrypted: boolean;
  /** Peer address, for logs. */
  readonly remote: string;
  /** Stop / resume reading from the client (backpressure when it sends faster than we answer). */
  pause(): void;
  resume(): void;
}

/** Backend keys and cancellation across sessions (owned by the server). */
export interface CancelRegistry {
  /** Issues a backend key for a session. */
  register(session: Session): { pid: number; secret: number };
  unregister(pid: number): void;
  /** Cancels the running statement of the session with this key, if the key matches. */
  cancel(pid: number, secret: number): void;
}

/** Settings shared by all sessions of one listener. */
export interface SessionOptions {
  readonly users: ReadonlyMap<string, SqlUser>;
  /** Secret for mock SCRAM salts of unknown users. */
  readonly mockSecret: Buffer;
  readonly executor: StatementExecutor;
  readonly registry: CancelRegistry;
  readonly log: Logger;
  readonly audit: Logger;
  /** Upper bound of a statement's run time, in milliseconds. */
  readonly statementTimeoutMs: number;
  readonly maxRows: number;
  /** Largest frontend message accepted, in bytes. */
  readonly maxMessageBytes: number;
  /** Time allowed from connect to authenticated, in milliseconds. */
  readonly authTimeoutMs: number;
  /** ParameterStatus values reported at startup (server_version, TimeZone, ...). */
  readonly serverParams: Readonly<Record<string, string>>;
}

type Phase = 'initial' | 'auth' | 'ready' | 'closed';
type TxStatus = 'I' | 'T' | 'E';

interface Prepared {
  readonly statement: Statement;
  /** Parameter types: from Parse where given, else inferred (25 text when nothing is known). */
  paramTypes: number[];
  /** Set once described, so Execute encodes with the types the client was told. */
  described?: readonly ResultColumn[];
}

interface Portal {
  readonly prepared: Prepared;
  readonly params: ReadonlyArray<string | null>;
  readonly resultFormats: readonly FormatCode[];
  result?: QueryResult;
  /** Rows already sent by earlier Executes (portal suspension). */
  sent: number;
  /** Local statements (SET/SHOW/BEGIN) run once. */
  done: boolean;
  /** Text of the local result (SHOW), when there is one. */
  localRows?: QueryResult;
}

/** Session-level settings answered by SHOW and current state. */
const BASE_SETTINGS: Readonly<Record<string, string>> = {
  server_encoding: 'UTF8', client_encoding: 'UTF8', datestyle: 'ISO, MDY', integer_datetimes: 'on',
  standard_conforming_strings: 'on', intervalstyle: 'postgres', is_superuser: 'off', search_path: '"$user", public',
  transaction_isolation: 'read committed', default_transaction_isolation: 'read committed', transaction_read_only: 'on',
  default_transaction_read_only: 'on', extra_float_digits: '1', max_identifier_length: '63', block_size: '8192',
  max_index_keys: '32', bytea_output: 'hex', lc_collate: 'C.UTF-8', lc_ctype: 'C.UTF-8', application_name: '',
};

/** Names reported with ParameterStatus when they change. */
const REPORTED: Readonly<Record<string, string>> = { application_name: 'application_name' };

const CLIENT_ENCODINGS = new Set(['utf8', 'utf-8', 'unicode', 'sql_ascii', 'auto']);

/** Frames queued before the socket is paused. */
const MAX_BACKLOG = 256;
/** Per-session caps on what a client can make the session remember. */
const MAX_SETTINGS = 200;
const MAX_PREPARED = 1_000;
const MAX_PORTALS = 1_000;

function tooMany(what: string, max: number): SqlRefusal {
  return new SqlRefusal(SqlState.PROGRAM_LIMIT_EXCEEDED, `too many ${what} in this session (at most ${max})`);
}

export class Session {
  private phase: Phase = 'initial';
  private readonly framer: Framer;
  private queue: Promise<void> = Promise.resolve();
  private user: SqlUser | undefined;
  private scram: ScramExchange | undefined;
  private key: { pid: number; secret: number } | undefined;
  private tx: TxStatus = 'I';
  /** Extended protocol: an error happened, skip until Sync. */
  private skipping = false;
  private readonly statements = new Map<string, Prepared>();
  private readonly portals = new Map<string, Portal>();
  private readonly settings = new Map<string, string>();
  private running: StatementCancel | undefined;
  private authTimer: NodeJS.Timeout | undefined;
  private pendingOut: Buffer[] = [];
  private readonly log: Logger;

  constructor(private readonly t: SessionTransport, private readonly o: SessionOptions) {
    this.framer = new Framer(o.maxMessageBytes);
    this.log = o.log;
    this.authTimer = setTimeout(() => {
      if (this.phase === 'initial' || this.phase === 'auth') void this.fatal(SqlState.PROTOCOL_VIOLATION, 'authentication timeout');
    }, o.authTimeoutMs);
    this.authTimer.unref();
  }

  /** Backend pid of this session (after authentication). */
  get pid(): number | undefined {
    return this.key?.pid;
  }

  /** Bytes from the client. Never throws: failures end this connection only. */
  receive(data: Buffer): void {
    if (this.phase === 'closed') return;
    let frames;
    try {
      frames = this.framer.push(data);
    } catch (err) {
      this.queue = this.queue.then(() => this.fatal(SqlState.PROTOCOL_VIOLATION, err instanceof Error ? err.message : 'invalid message'));
      return;
    }
    // A client that pipelines faster than statements run is paused, so queued work stays bounded.
    this.backlog += frames.length;
    if (this.backlog > MAX_BACKLOG) this.t.pause();
    for (const f of frames) {
      this.queue = this.queue.then(async () => {
        if (this.phase === 'closed') return;
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
          if (--this.backlog === MAX_BACKLOG / 8) this.t.resume();
        }
      });
    }
  }

  private backlog = 0;

  /** Cancels the running statement, if any (CancelRequest from another connection). */
  cancelRunning(): void {
    this.running?.abort('cancel');
  }

  /** The connection went away (or the server is shutting down): stop and release everything. */
  closed(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    clearTimeout(this.authTimer);
    this.running?.abort('closed');
    if (this.key !== undefined) this.o.registry.unregister(this.key.pid);
  }

  /** Server shutdown: tell the client, then close. */
  async shutdown(): Promise<void> {
    await this.fatal(SqlState.ADMIN_SHUTDOWN, 'terminating connection due to administrator command');
  }

  // -------------------------------------------------------------------------------------------
  // Startup and authentication

  private async initial(body: Buffer): Promise<void> {
    const m = decodeInitial(body);
    switch (m.kind) {
      case 'ssl': {
        // Bytes sent before the TLS handshake could be spliced in by a man in the middle.
        if (this.framer.pending() > 0) throw new ProtocolError('received unencrypted data after SSL request');
        if (this.t.startTls !== undefined && !this.t.encrypted) await this.t.startTls(encode.sslAnswer(true));
        else await this.t.write(encode.sslAnswer(false));
        return;
      }
      case 'gssenc':
        await this.t.write(encode.sslAnswer(false));
        return;
      case 'cancel':
        this.o.registry.cancel(m.pid, m.secret);
        this.close();
        return;
      case 'startup':
        await this.startup(m.minor, m.params);
    }
  }

  private async startup(minor: number, params: Readonly<Record<string, string>>): Promise<void> {
    const name = params['user'];
    if (name === undefined || name === '') return this.fatal(SqlState.INVALID_AUTHORIZATION, 'no PostgreSQL user name specified in startup packet');
    if (params['replication'] !== undefined && params['replication'] !== 'false' && params['replication'] !== 'off') {
      return this.fatal(SqlState.FEATURE_NOT_SUPPORTED, 'replication connections are not supported by the SQL passthrough');
    }
    const unknown = Object.keys(params).filter((k) => k.startsWith('_pq_.'));
    if (minor > 0 || unknown.length > 0) this.out(encode.negotiateProtocol(unknown));
    for (const [k, v] of Object.entries(BASE_SETTINGS)) this.settings.set(k, v);
    for (const [k, v] of Object.entries(this.o.serverParams)) this.settings.set(k.toLowerCase(), v);
    this.settings.set('statement_timeout', formatMs(this.o.statementTimeoutMs));
    try {
      for (const [k, v] of Object.entries(params)) {
        if (['user', 'database', 'replication', 'options'].includes(k) || k.startsWith('_pq_.')) continue;
        this.applySet(k.toLowerCase(), v);
      }
      for (const [k, v] of parseOptions(params['options'] ?? '')) this.applySet(k, v);
    } catch (err) {
      if (err instanceof SqlRefusal) return this.fatal(err.sqlState, err.message);
      throw err;
    }
    this.phase = 'auth';
    const user = this.o.users.get(name);
    this.user = user;
    this.settings.set('session_authorization', name);
    this.scram = new ScramExchange(user?.verifier, name, this.o.mockSecret);
    this.out(encode.authSasl([SCRAM_MECHANISM]));
    await this.flush();
  }

  private async password(body: Buffer): Promise<void> {
    const scram = this.scram!;
    const name = this.settings.get('session_authorization') ?? '';
    let step;
    if (this.phase === 'auth' && this.scramStarted === false) {
      // SASLInitialResponse: mechanism, int32 length (-1 = none), client-first-message.
      const zero = body.indexOf(0);
      if (zero < 0 || body.length < zero + 5) throw new ProtocolError('invalid SASLInitialResponse message format');
      const mechanism = body.toString('utf8', 0, zero);
      const len = body.readInt32BE(zero + 1);
      if (len !== body.length - zero - 5 || len < 0) throw new ProtocolError('invalid SASLInitialResponse message format');
      this.scramStarted = true;
      step = scram.first(mechanism, body.toString('utf8', zero + 5));
    } else {
      step = scram.final(body.toString('utf8'));
    }
    if (step.kind === 'continue') {
      this.out(encode.authSaslContinue(step.serverFirst));
      return this.flush();
    }
    if (step.kind === 'fail') {
      this.o.audit.warn({ user: name, remote: this.t.remote, reason: step.reason, outcome: 'auth_failed' }, 'sql login refused');
      return this.fatal(SqlState.INVALID_PASSWORD, `password authentication failed for user "${name}"`);
    }
    // Authenticated.
    clearTimeout(this.authTimer);
    const user = this.user!;
    this.phase = 'ready';
    this.key = this.o.registry.register(this);
    this.out(encode.authSaslFinal(step.serverFinal), encode.authOk());
    const report = ['server_version', 'server_encoding', 'client_encoding', 'datestyle', 'timezone', 'integer_datetimes',
      'standard_conforming_strings', 'intervalstyle', 'is_superuser', 'session_authorization', 'application_name',
      'default_transaction_read_only', 'in_hot_standby'];
    const display: Record<string, string> = { datestyle: 'DateStyle', timezone: 'TimeZone', intervalstyle: 'IntervalStyle' };
    for (const k of report) {
      const v = k === 'in_hot_standby' ? 'off' : k === 'client_encoding' ? 'UTF8' : this.settings.get(k);
      if (v !== undefined) this.out(encode.parameterStatus(display[k] ?? k, v));
    }
    this.out(encode.backendKeyData(this.key.pid, this.key.secret), encode.readyForQuery(this.tx));
    this.o.audit.info({ user: user.name, role: user.role, pid: this.key.pid, remote: this.t.remote, tls: this.t.encrypted, outcome: 'ok' }, 'sql login');
    return this.flush();
  }

  private scramStarted = false;

  // -------------------------------------------------------------------------------------------
  // Messages after startup

  private async message(m: FrontendMessage): Promise<void> {
    if (this.phase === 'auth') {
      if (m.type !== 'Password') throw new ProtocolError(`expected SASL response, got ${m.type}`);
      return this.password(m.body);
    }
    if (this.phase !== 'ready') return;
    if (m.type === 'Terminate') return this.close();
    if (m.type === 'Sync') {
      this.skipping = false;
      if (this.tx === 'I') this.portals.clear();
      this.out(encode.readyForQuery(this.tx));
      return this.flush();
    }
    if (this.skipping) return;
    switch (m.type) {
      case 'Query':
        return this.simpleQuery(m.sql);
      case 'Parse':
        return this.extended(() => this.parse(m.name, m.sql, m.paramTypes));
      case 'Bind':
        return this.extended(() => this.bind(m));
      case 'Describe':
        return this.extended(() => this.describe(m.target, m.name));
      case 'Execute':
        return this.extended(() => this.execute(m.portal, m.maxRows));
      case 'Close':
        if (m.target === 'S') this.statements.delete(m.name);
        else this.portals.delete(m.name);
        this.out(encode.closeComplete());
        return;
      case 'Flush':
        return this.flush();
      case 'FunctionCall':
        this.error(new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, 'the function call protocol is not supported by the SQL passthrough'));
        this.out(encode.readyForQuery(this.tx));
        return this.flush();
      case 'CopyData':
      case 'CopyDone':
      case 'CopyFail':
        return; // Ignored outside COPY, as Postgres does.
      case 'Password':
        throw new ProtocolError('unexpected password message');
    }
  }

  private async extended(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (!(err instanceof SqlRefusal)) throw err;
      this.error(err);
      this.skipping = true;
      if (this.tx === 'T') this.tx = 'E';
    }
    if (this.pendingBytes() > 65_536) await this.flush();
  }

  // -------------------------------------------------------------------------------------------
  // Simple query protocol

  private async simpleQuery(sql: string): Promise<void> {
    const started = Date.now();
    let statements: Statement[];
    try {
      statements = checkSql(sql, { user: this.user!, maxRows: this.o.maxRows });
    } catch (err) {
      if (!(err instanceof SqlRefusal)) throw err;
      this.auditLine(sql, 0, started, err.sqlState, 'simple');
      this.error(err);
      if (this.tx === 'T') this.tx = 'E';
      this.out(encode.readyForQuery(this.tx));
      return this.flush();
    }
    for (const s of statements) {
      const text = s.text;
      const t0 = Date.now();
      try {
        if (s.kind === 'empty') {
          this.out(encode.emptyQuery());
          continue;
        }
        this.assertNotAborted(s);
        if (s.kind === 'select') {
          const result = await this.run(s, []);
          this.out(encode.rowDescription(fields(result.columns, [])));
          await this.sendRows(result, 0, result.rows.length, []);
          this.out(encode.commandComplete(`SELECT ${result.rows.length}`));
          this.auditLine(text, result.rows.length, t0, undefined, 'simple');
        } else {
          const local = this.local(s);
          if (local.rows !== undefined) {
            this.out(encode.rowDescription(fields(local.rows.columns, [])));
            await this.sendRows(local.rows, 0, local.rows.rows.length, []);
          }
          this.out(encode.commandComplete(local.tag));
          this.auditLine(text, local.rows?.rows.length ?? 0, t0, undefined, 'simple');
        }
      } catch (err) {
        const refusal = err instanceof SqlRefusal ? err : engineError(err, this.log);
        this.auditLine(text, 0, t0, refusal.sqlState, 'simple');
        this.error(refusal);
        if (this.tx === 'T') this.tx = 'E';
        break;
      }
    }
    this.out(encode.readyForQuery(this.tx));
    return this.flush();
  }

  /** In a failed transaction only ROLLBACK / COMMIT / ROLLBACK TO run (25P02 otherwise). */
  private assertNotAborted(s: Statement): void {
    if (this.tx !== 'E') return;
    if (s.kind === 'transaction' && (s.op === 'rollback' || s.op === 'commit' || s.op === 'rollback_to')) return;
    throw new SqlRefusal(SqlState.IN_FAILED_TRANSACTION, 'current transaction is aborted, commands ignored until end of transaction block');
  }

  /** Runs a SELECT under the statement timeout; the client's CancelRequest reaches it through `running`. */
  private async run(s: SelectStatement, params: ReadonlyArray<string | null>, described?: readonly ResultColumn[]): Promise<QueryResult> {
    const cancel = new StatementCancel();
    this.running = cancel;
    const timer = setTimeout(() => cancel.abort('timeout'), this.timeoutMs());
    try {
      return await this.o.executor.execute(s, params, cancel, described);
    } finally {
      clearTimeout(timer);
      if (this.running === cancel) this.running = undefined;
    }
  }

  private timeoutMs(): number {
    const requested = parseDurationMs(this.settings.get('statement_timeout') ?? '0') ?? 0;
    return requested > 0 ? Math.min(requested, this.o.statementTimeoutMs) : this.o.statementTimeoutMs;
  }

  private async sendRows(result: QueryResult, from: number, to: number, formats: readonly FormatCode[]): Promise<void> {
    for (let i = from; i < to; i++) {
      const row = result.rows[i]!;
      this.out(encode.dataRow(row.map((v, c) => {
        if (v === null) return null;
        return formatOf(formats, c) === 1 ? binaryValue(result.columns[c]!.typeOid, v) : Buffer.from(v, 'utf8');
      })));
      if (this.pendingBytes() > 65_536) await this.flush();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Local statements: SET, SHOW, transaction control, DISCARD, DEALLOCATE

  private local(s: LocalStatement): { tag: string; rows?: QueryResult } {
    switch (s.kind) {
      case 'set':
        if (s.value === undefined) {
          const base = BASE_SETTINGS[s.name] ?? (s.name === 'statement_timeout' ? formatMs(this.o.statementTimeoutMs) : undefined);
          if (base !== undefined) this.settings.set(s.name, base);
          else this.settings.delete(s.name);
        } else this.applySet(s.name, s.value);
        return { tag: s.reset ? 'RESET' : 'SET' };
      case 'reset-all':
        for (const [k, v] of Object.entries(BASE_SETTINGS)) this.settings.set(k, v);
        this.settings.set('statement_timeout', formatMs(this.o.statementTimeoutMs));
        return { tag: 'RESET' };
      case 'set-transaction':
        return { tag: 'SET' };
      case 'show':
        return { tag: 'SHOW', rows: this.show(s.name) };
      case 'transaction':
        return { tag: this.transaction(s.op, s.chain) };
      case 'discard':
        if (s.what === 'DISCARD_ALL') {
          this.statements.clear();
          this.portals.clear();
          for (const [k, v] of Object.entries(BASE_SETTINGS)) this.settings.set(k, v);
          this.settings.set('statement_timeout', formatMs(this.o.statementTimeoutMs));
          return { tag: 'DISCARD ALL' };
        }
        return { tag: `DISCARD ${s.what.replace('DISCARD_', '')}` };
      case 'deallocate':
        if (s.name === undefined) {
          this.statements.clear();
          return { tag: 'DEALLOCATE ALL' };
        }
        if (!this.statements.delete(s.name)) throw new SqlRefusal(SqlState.INVALID_SQL_STATEMENT_NAME, `prepared statement "${s.name}" does not exist`);
        return { tag: 'DEALLOCATE' };
    }
  }

  private transaction(op: string, chain: boolean): string {
    switch (op) {
      case 'begin':
      case 'start':
        if (this.tx !== 'I') this.notice(SqlState.ACTIVE_TRANSACTION, 'there is already a transaction in progress');
        else this.tx = 'T';
        return op === 'begin' ? 'BEGIN' : 'START TRANSACTION';
      case 'commit': {
        const failed = this.tx === 'E';
        if (this.tx === 'I') this.notice(SqlState.NO_ACTIVE_TRANSACTION, 'there is no transaction in progress');
        this.tx = chain && this.tx !== 'I' ? 'T' : 'I';
        if (this.tx === 'I') this.portals.clear();
        return failed ? 'ROLLBACK' : 'COMMIT';
      }
      case 'rollback':
        if (this.tx === 'I') this.notice(SqlState.NO_ACTIVE_TRANSACTION, 'there is no transaction in progress');
        this.tx = chain && this.tx !== 'I' ? 'T' : 'I';
        if (this.tx === 'I') this.portals.clear();
        return 'ROLLBACK';
      case 'rollback_to':
        if (this.tx === 'I') throw new SqlRefusal(SqlState.NO_ACTIVE_TRANSACTION, 'ROLLBACK TO SAVEPOINT can only be used in transaction blocks');
        this.tx = 'T';
        return 'ROLLBACK';
      default:
        if (this.tx === 'I') throw new SqlRefusal(SqlState.NO_ACTIVE_TRANSACTION, `${op.toUpperCase()} can only be used in transaction blocks`);
        return op === 'savepoint' ? 'SAVEPOINT' : 'RELEASE';
    }
  }

  private applySet(name: string, value: string): void {
    const v = value.trim();
    switch (name) {
      case 'client_encoding':
        if (!CLIENT_ENCODINGS.has(v.toLowerCase().replace(/^'|'$/g, ''))) {
          throw new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, `client encoding "${v}" is not supported: the SQL passthrough speaks UTF8`);
        }
        return;
      case 'standard_conforming_strings':
        if (!/^(on|true|1|yes)$/i.test(v)) throw new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, 'standard_conforming_strings must stay on');
        return;
      case 'statement_timeout': {
        const ms = parseDurationMs(v);
        if (ms === undefined || ms < 0) throw new SqlRefusal(SqlState.INVALID_PARAMETER_VALUE, `invalid value for parameter "statement_timeout": "${v}"`);
        this.settings.set(name, formatMs(ms > 0 ? Math.min(ms, this.o.statementTimeoutMs) : this.o.statementTimeoutMs));
        return;
      }
      default:
        if (!this.settings.has(name) && this.settings.size >= MAX_SETTINGS) throw tooMany('settings', MAX_SETTINGS);
        this.settings.set(name, v);
        if (REPORTED[name] !== undefined && this.phase === 'ready') this.out(encode.parameterStatus(REPORTED[name], v));
    }
  }

  private show(name: string): QueryResult {
    if (name === 'all') {
      const rows = [...this.settings.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v, null]);
      return { columns: [{ name: 'name', typeOid: Oid.text }, { name: 'setting', typeOid: Oid.text }, { name: 'description', typeOid: Oid.text }], rows };
    }
    const value = this.settings.get(name);
    if (value === undefined) throw new SqlRefusal(SqlState.UNDEFINED_OBJECT, `unrecognized configuration parameter "${name}"`);
    return { columns: [{ name, typeOid: Oid.text }], rows: [[value]] };
  }

  // -------------------------------------------------------------------------------------------
  // Extended query protocol

  private async parse(name: string, sql: string, types: readonly number[]): Promise<void> {
    if (name !== '' && this.statements.has(name)) {
      throw new SqlRefusal(SqlState.DUPLICATE_PREPARED_STATEMENT, `prepared statement "${name}" already exists`);
    }
    const started = Date.now();
    let statements: Statement[];
    try {
      statements = checkSql(sql, { user: this.user!, maxRows: this.o.maxRows });
    } catch (err) {
      if (err instanceof SqlRefusal) this.auditLine(sql, 0, started, err.sqlState, 'extended');
      throw err;
    }
    if (statements.length > 1) {
      this.auditLine(sql, 0, started, SqlState.SYNTAX_ERROR, 'extended');
      throw new SqlRefusal(SqlState.SYNTAX_ERROR, 'cannot insert multiple commands into a prepared statement');
    }
    const statement = statements[0]!;
    if (!this.statements.has(name) && this.statements.size >= MAX_PREPARED) throw tooMany('prepared statements', MAX_PREPARED);
    const count = Math.max(types.length, statement.kind === 'select' ? statement.paramCount : 0);
    const paramTypes = Array.from({ length: count }, (_, i) => types[i] ?? 0);
    this.statements.set(name, { statement, paramTypes });
    this.out(encode.parseComplete());
  }

  private async bind(m: Extract<FrontendMessage, { type: 'Bind' }>): Promise<void> {
    const prepared = this.statements.get(m.statement);
    if (prepared === undefined) {
      throw new SqlRefusal(SqlState.INVALID_SQL_STATEMENT_NAME, m.statement === '' ? 'unnamed prepared statement does not exist' : `prepared statement "${m.statement}" does not exist`);
    }
    if (m.portal !== '' && this.portals.has(m.portal)) throw new SqlRefusal(SqlState.DUPLICATE_CURSOR, `portal "${m.portal}" already exists`);
    if (!this.portals.has(m.portal) && this.portals.size >= MAX_PORTALS) throw tooMany('portals', MAX_PORTALS);
    if (m.params.length !== prepared.paramTypes.length) {
      throw new SqlRefusal(SqlState.PROTOCOL_VIOLATION,
        `bind message supplies ${m.params.length} parameters, but prepared statement "${m.statement}" requires ${prepared.paramTypes.length}`);
    }
    if (prepared.statement.kind === 'select') this.assertNotAborted(prepared.statement);
    const needTypes = m.paramFormats.some((f) => f === 1);
    if (needTypes) await this.inferParamTypes(prepared);
    const params = m.params.map((p, i) => {
      if (p === null) return null;
      if (formatOf(m.paramFormats, i) === 0) {
        const text = p.toString('utf8');
        if (text.includes('\0')) throw new SqlRefusal(SqlState.INVALID_TEXT_REPRESENTATION, 'invalid byte sequence: parameter contains a NUL byte');
        return text;
      }
      const oid = prepared.paramTypes[i] ?? 0;
      if (!hasBinary(oid)) throw new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, `binary format for parameter $${i + 1} (type ${oid}) is not supported`);
      try {
        return binaryToText(oid, p);
      } catch (err) {
        throw new SqlRefusal(SqlState.INVALID_TEXT_REPRESENTATION, `invalid binary value for parameter $${i + 1}: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    this.portals.set(m.portal, { prepared, params, resultFormats: m.resultFormats, sent: 0, done: false });
    this.out(encode.bindComplete());
  }

  /** Fills unknown (0) parameter types: inferred from the statement, else text. */
  private async inferParamTypes(prepared: Prepared): Promise<void> {
    if (!prepared.paramTypes.some((t) => t === 0)) return;
    const inferred = prepared.statement.kind === 'select'
      ? (await this.o.executor.describe(prepared.statement, prepared.paramTypes.length)).paramTypes
      : new Map<number, number>();
    prepared.paramTypes = prepared.paramTypes.map((t, i) => (t !== 0 ? t : inferred.get(i + 1) ?? Oid.text));
  }

  private async describe(target: 'S' | 'P', name: string): Promise<void> {
    if (target === 'S') {
      const prepared = this.statements.get(name);
      if (prepared === undefined) throw new SqlRefusal(SqlState.INVALID_SQL_STATEMENT_NAME, `prepared statement "${name}" does not exist`);
      await this.inferParamTypes(prepared);
      this.out(encode.parameterDescription(prepared.paramTypes));
      const s = prepared.statement;
      if (s.kind === 'select') {
        const { columns } = await this.o.executor.describe(s, prepared.paramTypes.length);
        prepared.described = columns;
        this.out(encode.rowDescription(fields(columns, [])));
      } else if (s.kind === 'show') {
        this.out(encode.rowDescription(fields(this.showColumns(s.name), [])));
      } else {
        this.out(encode.noData());
      }
      return;
    }
    const portal = this.portals.get(name);
    if (portal === undefined) throw new SqlRefusal(SqlState.INVALID_CURSOR_NAME, `portal "${name}" does not exist`);
    const s = portal.prepared.statement;
    if (s.kind === 'select') {
      // Run now: the RowDescription then reflects the real result, and Execute streams it.
      portal.result ??= await this.runPortal(portal, s);
      this.out(encode.rowDescription(fields(portal.result.columns, portal.resultFormats)));
    } else if (s.kind === 'show') {
      this.out(encode.rowDescription(fields(this.showColumns(s.name), portal.resultFormats)));
    } else {
      this.out(encode.noData());
    }
  }

  private showColumns(name: string): ResultColumn[] {
    return name === 'all' ? ['name', 'setting', 'description'].map((n) => ({ name: n, typeOid: Oid.text })) : [{ name, typeOid: Oid.text }];
  }

  private async runPortal(portal: Portal, s: SelectStatement): Promise<QueryResult> {
    const t0 = Date.now();
    try {
      const result = await this.run(s, portal.params, portal.prepared.described);
      for (const [i, c] of result.columns.entries()) {
        if (formatOf(portal.resultFormats, i) === 1 && !hasBinary(c.typeOid)) {
          throw new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, `binary format for column "${c.name}" (type ${c.typeOid}) is not supported`,
            { hint: 'Request text format (JDBC: binaryTransfer=false).' });
        }
      }
      this.auditLine(s.text, result.rows.length, t0, undefined, 'extended');
      return result;
    } catch (err) {
      const refusal = err instanceof SqlRefusal ? err : engineError(err, this.log);
      this.auditLine(s.text, 0, t0, refusal.sqlState, 'extended');
      throw refusal;
    }
  }

  private async execute(name: string, maxRows: number): Promise<void> {
    const portal = this.portals.get(name);
    if (portal === undefined) throw new SqlRefusal(SqlState.INVALID_CURSOR_NAME, `portal "${name}" does not exist`);
    const s = portal.prepared.statement;
    if (s.kind === 'empty') {
      this.out(encode.emptyQuery());
      return;
    }
    if (s.kind === 'select') {
      portal.result ??= await this.runPortal(portal, s);
      const total = portal.result.rows.length;
      const end = maxRows > 0 ? Math.min(total, portal.sent + maxRows) : total;
      await this.sendRows(portal.result, portal.sent, end, portal.resultFormats);
      const count = end - portal.sent;
      portal.sent = end;
      this.out(end < total ? encode.portalSuspended() : encode.commandComplete(`SELECT ${count}`));
      return;
    }
    if (portal.done) {
      this.out(encode.commandComplete(portal.localRows !== undefined ? 'SHOW' : 'SET'));
      return;
    }
    const t0 = Date.now();
    try {
      this.assertNotAborted(s);
      const local = this.local(s);
      portal.done = true;
      if (local.rows !== undefined) {
        portal.localRows = local.rows;
        await this.sendRows(local.rows, 0, local.rows.rows.length, portal.resultFormats);
      }
      this.out(encode.commandComplete(local.tag));
      this.auditLine(s.text, local.rows?.rows.length ?? 0, t0, undefined, 'extended');
    } catch (err) {
      if (err instanceof SqlRefusal) this.auditLine(s.text, 0, t0, err.sqlState, 'extended');
      throw err;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Output

  private out(...msgs: Buffer[]): void {
    this.pendingOut.push(...msgs);
  }

  private pendingBytes(): number {
    return this.pendingOut.reduce((n, b) => n + b.length, 0);
  }

  private async flush(): Promise<void> {
    if (this.pendingOut.length === 0 || this.phase === 'closed') {
      this.pendingOut = [];
      return;
    }
    const data = Buffer.concat(this.pendingOut);
    this.pendingOut = [];
    await this.t.write(data);
  }

  private error(err: SqlRefusal): void {
    this.out(encode.error(errorFields('ERROR', err)));
  }

  private notice(code: string, message: string): void {
    this.out(encode.error({ severity: 'WARNING', code, message }));
  }

  private async fatal(code: string, message: string): Promise<void> {
    if (this.phase === 'closed') return;
    this.out(encode.error({ severity: 'FATAL', code, message }));
    await this.flush().catch(() => undefined);
    this.close();
  }

  private close(): void {
    if (this.phase === 'closed') return;
    this.closed();
    this.t.close();
  }

  private auditLine(text: string, rows: number, started: number, sqlstate: string | undefined, protocol: 'simple' | 'extended'): void {
    this.o.audit.info({
      user: this.user?.name, role: this.user?.role, pid: this.pid, protocol,
      stmt: createHash('sha256').update(text).digest('hex'), rows, ms: Date.now() - started,
      outcome: sqlstate === undefined ? 'ok' : 'error', ...(sqlstate !== undefined ? { sqlstate } : {}),
    }, 'sql statement');
  }
}

function errorFields(severity: ErrorFields['severity'], e: SqlRefusal): ErrorFields {
  return {
    severity, code: e.sqlState, message: e.message,
    ...(e.extra.detail !== undefined ? { detail: e.extra.detail } : {}),
    ...(e.extra.hint !== undefined ? { hint: e.extra.hint } : {}),
    ...(e.extra.position !== undefined ? { position: e.extra.position } : {}),
  };
}

function formatOf(formats: readonly FormatCode[], i: number): FormatCode {
  if (formats.length === 0) return 0;
  return formats.length === 1 ? formats[0]! : formats[i] ?? 0;
}

function fields(columns: readonly ResultColumn[], formats: readonly FormatCode[]): FieldDescription[] {
  return columns.map((c, i) => ({ name: c.name, typeOid: c.typeOid, typeSize: typeSize(c.typeOid), format: formatOf(formats, i) }));
}

function binaryValue(oid: number, text: string): Buffer {
  try {
    return textToBinary(oid, text);
  } catch (err) {
    throw new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, `cannot send a value of type ${oid} in binary: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** `-c name=value` pairs of the startup `options` parameter (backslash escapes spaces). */
function parseOptions(options: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const words = options.match(/(?:\\.|[^\s\\])+/g)?.map((w) => w.replace(/\\(.)/g, '$1')) ?? [];
  for (let i = 0; i < words.length; i++) {
    let w = words[i]!;
    if (w === '-c') w = words[++i] ?? '';
    else if (w.startsWith('-c')) w = w.slice(2);
    else if (w.startsWith('--')) w = w.slice(2);
    else continue;
    const eq = w.indexOf('=');
    if (eq > 0) out.push([w.slice(0, eq).toLowerCase().replace(/-/g, '_'), w.slice(eq + 1)]);
  }
  return out;
}

/** Milliseconds of a duration setting: `5000`, `'5s'`, `1min`, `250ms`. */
export function parseDurationMs(v: string): number | undefined {
  const m = /^'?\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h|d)?\s*'?$/i.exec(v.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? 'ms').toLowerCase();
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'min' ? 60_000 : unit === 'h' ? 3_600_000 : 86_400_000;
  return Math.round(Number(m[1]) * factor);
}

function formatMs(ms: number): string {
  if (ms === 0) return '0';
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
