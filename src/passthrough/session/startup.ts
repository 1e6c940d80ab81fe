import { decodeInitial, encode, ProtocolError } from '../protocol';
import { ScramExchange, SCRAM_MECHANISM } from '../scram';
import { SqlRefusal, SqlState } from '../sqlstate';
import type { SqlUser } from '../users';
import { auditLoginRefused } from './audit';
import type { BackendKey, SessionOptions, SessionTransport } from './context';
import type { Output } from './output';
import type { SessionSettings } from './settings';
import type { TxStatus } from './transaction';

/**
 * Startup and authentication: the untyped first packets of a connection (SSLRequest,
 * GSSENCRequest, CancelRequest, StartupMessage), then the SCRAM-SHA-256 exchange (scram.ts) and the
 * messages that welcome an authenticated client. Cleartext and md5 passwords are never offered.
 *
 *   StartupMessage ──▶ SASL (mechanism list sent)
 *                        └─SASLInitialResponse──▶ continue (server-first sent)
 *                                                   └─SASLResponse──▶ ok (server-final) | refused 28P01
 *
 * An unknown user runs the same exchange with a mock salt and is refused at the end, so a wrong
 * user and a wrong password look the same.
 */

/** What the startup steps need from the session. */
export interface StartupContext {
  readonly options: SessionOptions;
  readonly transport: SessionTransport;
  readonly out: Output;
  readonly settings: SessionSettings;
  /** How much was received after this packet and not handled yet (0 = nothing). */
  pendingInput(): number;
}

/** What an untyped first packet leads to. */
export type StartupOutcome =
  /** SSLRequest / GSSENCRequest answered; another untyped packet follows. */
  | { readonly kind: 'answered' }
  /** CancelRequest: cancel that backend's statement and close this connection. */
  | { readonly kind: 'cancel'; readonly pid: number; readonly secret: number }
  /** StartupMessage refused: FATAL with this SQLSTATE. */
  | { readonly kind: 'refused'; readonly code: string; readonly message: string }
  /** StartupMessage accepted: AuthenticationSASL is buffered, the exchange runs next. */
  | { readonly kind: 'login'; readonly login: ScramLogin };

/** Handles one untyped packet (its length already removed). Throws {@link ProtocolError}. */
export async function startupPacket(body: Buffer, ctx: StartupContext): Promise<StartupOutcome> {
  const m = decodeInitial(body);
  switch (m.kind) {
    case 'ssl': {
      // Bytes sent before the TLS handshake could be spliced in by a man in the middle.
      if (ctx.pendingInput() > 0) throw new ProtocolError('received unencrypted data after SSL request');
      if (ctx.transport.startTls !== undefined && !ctx.transport.encrypted) await ctx.transport.startTls(encode.sslAnswer(true));
      else await ctx.transport.write(encode.sslAnswer(false));
      return { kind: 'answered' };
    }
    case 'gssenc':
      await ctx.transport.write(encode.sslAnswer(false));
      return { kind: 'answered' };
    case 'cancel':
      return { kind: 'cancel', pid: m.pid, secret: m.secret };
    case 'startup':
      return startup(m.minor, m.params, ctx);
  }
}

function startup(minor: number, params: Readonly<Record<string, string>>, ctx: StartupContext): StartupOutcome {
  const name = params['user'];
  if (name === undefined || name === '') {
    return { kind: 'refused', code: SqlState.INVALID_AUTHORIZATION, message: 'no PostgreSQL user name specified in startup packet' };
  }
  if (params['replication'] !== undefined && params['replication'] !== 'false' && params['replication'] !== 'off') {
    return { kind: 'refused', code: SqlState.FEATURE_NOT_SUPPORTED, message: 'replication connections are not supported by the SQL passthrough' };
  }
  const unknown = Object.keys(params).filter((k) => k.startsWith('_pq_.'));
  if (minor > 0 || unknown.length > 0) ctx.out.push(encode.negotiateProtocol(unknown));
  ctx.settings.initialise(ctx.options.serverParams);
  try {
    for (const [k, v] of Object.entries(params)) {
      if (['user', 'database', 'replication', 'options'].includes(k) || k.startsWith('_pq_.')) continue;
      ctx.settings.apply(k.toLowerCase(), v);
    }
    for (const [k, v] of parseOptions(params['options'] ?? '')) ctx.settings.apply(k, v);
  } catch (err) {
    if (err instanceof SqlRefusal) return { kind: 'refused', code: err.sqlState, message: err.message };
    throw err;
  }
  const user = ctx.options.users.get(name);
  ctx.settings.setSessionUser(name);
  const login = new ScramLogin(name, user, new ScramExchange(user?.verifier, name, ctx.options.mockSecret), ctx);
  ctx.out.push(encode.authSasl([SCRAM_MECHANISM]));
  return { kind: 'login', login };
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

/** What one SASL message of the client leads to. */
export type LoginStep =
  /** AuthenticationSASLContinue is buffered; the client's SASLResponse comes next. */
  | { readonly kind: 'continue' }
  /** Refused (already audited): FATAL with this SQLSTATE. */
  | { readonly kind: 'refused'; readonly code: string; readonly message: string }
  /** Authenticated as `user`; `serverFinal` goes into AuthenticationSASLFinal. */
  | { readonly kind: 'ok'; readonly user: SqlUser; readonly serverFinal: string };

/** One SCRAM-SHA-256 login: which of its two client messages comes next. */
export class ScramLogin {
  private expecting: 'initial-response' | 'response' = 'initial-response';

  constructor(
    /** The user name from the StartupMessage. */
    readonly name: string,
    private readonly user: SqlUser | undefined,
    private readonly scram: ScramExchange,
    private readonly ctx: StartupContext,
  ) {}

  /** True when the next message is the SASLResponse carrying the proof (the one the login back-off delays). */
  get awaitingProof(): boolean {
    return this.expecting === 'response';
  }

  /**
   * Handles a 'p' message body (SASLInitialResponse, then SASLResponse); `delayMs` is how long the
   * answer was held back (logged). Throws {@link ProtocolError}.
   */
  step(body: Buffer, delayMs = 0): LoginStep {
    let step;
    if (this.expecting === 'initial-response') {
      // SASLInitialResponse: mechanism, int32 length (-1 = none), client-first-message.
      const zero = body.indexOf(0);
      if (zero < 0 || body.length < zero + 5) throw new ProtocolError('invalid SASLInitialResponse message format');
      const mechanism = body.toString('utf8', 0, zero);
      const len = body.readInt32BE(zero + 1);
      if (len !== body.length - zero - 5 || len < 0) throw new ProtocolError('invalid SASLInitialResponse message format');
      this.expecting = 'response';
      step = this.scram.first(mechanism, body.toString('utf8', zero + 5));
    } else {
      step = this.scram.final(body.toString('utf8'));
    }
    if (step.kind === 'continue') {
      this.ctx.out.push(encode.authSaslContinue(step.serverFirst));
      return { kind: 'continue' };
    }
    if (step.kind === 'fail') {
      auditLoginRefused(this.ctx.options.audit, this.name, this.ctx.transport.remote, step.reason, delayMs);
      return { kind: 'refused', code: SqlState.INVALID_PASSWORD, message: `password authentication failed for user "${this.name}"` };
    }
    return { kind: 'ok', user: this.user!, serverFinal: step.serverFinal };
  }
}

/** ParameterStatus sent after authentication, in this order (Postgres' GUC_REPORT settings). */
const REPORTED_AT_LOGIN = ['server_version', 'server_encoding', 'client_encoding', 'datestyle', 'timezone', 'integer_datetimes',
  'standard_conforming_strings', 'intervalstyle', 'is_superuser', 'session_authorization', 'application_name',
  'default_transaction_read_only', 'in_hot_standby'];

/** How Postgres capitalises the reported names that are not all lower case. */
const DISPLAY_NAMES: Readonly<Record<string, string>> = { datestyle: 'DateStyle', timezone: 'TimeZone', intervalstyle: 'IntervalStyle' };

/** Buffers the answer to a successful login: SASLFinal, AuthenticationOk, ParameterStatus, BackendKeyData, ReadyForQuery. */
export function welcome(out: Output, settings: SessionSettings, serverFinal: string, key: BackendKey, tx: TxStatus): void {
  out.push(encode.authSaslFinal(serverFinal), encode.authOk());
  for (const k of REPORTED_AT_LOGIN) {
    const v = k === 'in_hot_standby' ? 'off' : k === 'client_encoding' ? 'UTF8' : settings.get(k);
    if (v !== undefined) out.push(encode.parameterStatus(DISPLAY_NAMES[k] ?? k, v));
  }
  out.push(encode.backendKeyData(key.pid, key.secret), encode.readyForQuery(tx));
}
