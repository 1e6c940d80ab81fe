/**
 * The Postgres wire protocol (v3.0) as the SQL passthrough speaks it: message codes, a typed union
 * of the frontend messages, a validating decoder, an incremental framer with hard size limits, and
 * the backend message encoders. Bytes in, bytes out: no sockets here, so the session and the tests
 * drive it with byte buffers (test/fixtures/pgwire holds bytes captured from real clients).
 *
 * References: https://www.postgresql.org/docs/current/protocol-message-formats.html and
 * pg-protocol's `src/messages.ts` (node-postgres). Every decode failure is a {@link ProtocolError}:
 * the session answers it with a FATAL 08P01 and closes, as a Postgres backend does.
 */

/** Request codes carried in the int32 after the length of an untyped first message. */
export const RequestCode = {
  /** StartupMessage protocol 3.0 (196608). */
  Startup: 3 << 16,
  SSLRequest: 80877103,
  CancelRequest: 80877102,
  GSSENCRequest: 80877104,
} as const;

/** Frontend (client → server) message type bytes, after startup. */
export const FrontendCode = {
  Query: 0x51, // Q
  Parse: 0x50, // P
  Bind: 0x42, // B
  Describe: 0x44, // D
  Execute: 0x45, // E
  Sync: 0x53, // S
  Flush: 0x48, // H
  Close: 0x43, // C
  Terminate: 0x58, // X
  FunctionCall: 0x46, // F
  CopyData: 0x64, // d
  CopyDone: 0x63, // c
  CopyFail: 0x66, // f
  /** PasswordMessage, SASLInitialResponse and SASLResponse all use 'p'. */
  Password: 0x70, // p
} as const;

/** Backend (server → client) message type bytes. */
export const BackendCode = {
  Authentication: 0x52, // R
  BackendKeyData: 0x4b, // K
  BindComplete: 0x32, // 2
  CloseComplete: 0x33, // 3
  CommandComplete: 0x43, // C
  DataRow: 0x44, // D
  EmptyQueryResponse: 0x49, // I
  ErrorResponse: 0x45, // E
  NoData: 0x6e, // n
  NoticeResponse: 0x4e, // N
  ParameterDescription: 0x74, // t
  ParameterStatus: 0x53, // S
  ParseComplete: 0x31, // 1
  PortalSuspended: 0x73, // s
  ReadyForQuery: 0x5a, // Z
  RowDescription: 0x54, // T
} as const;

/** Authentication request sub-codes (the int32 after 'R'). */
export const AuthCode = { Ok: 0, SASL: 10, SASLContinue: 11, SASLFinal: 12 } as const;

/** Postgres' limit for the first (untyped) packet: MAX_STARTUP_PACKET_LENGTH. */
export const MAX_STARTUP_BYTES = 10_000;

/**
 * Largest typed message before authentication (SASL messages are a few hundred bytes): Postgres'
 * PG_MAX_AUTH_TOKEN_LENGTH, so an unauthenticated client cannot make the server buffer megabytes.
 */
export const MAX_AUTH_MESSAGE_BYTES = 65_535;

/** The first message of a connection. */
export type InitialMessage =
  | { readonly kind: 'startup'; readonly minor: number; readonly params: Readonly<Record<string, string>> }
  | { readonly kind: 'ssl' }
  | { readonly kind: 'gssenc' }
  | { readonly kind: 'cancel'; readonly pid: number; readonly secret: number };

/** Format code of a parameter or result column: 0 text, 1 binary. */
export type FormatCode = 0 | 1;

/** A frontend message after startup, decoded and validated. */
export type FrontendMessage =
  | { readonly type: 'Query'; readonly sql: string }
  | { readonly type: 'Parse'; readonly name: string; readonly sql: string; readonly paramTypes: readonly number[] }
  | {
      readonly type: 'Bind'; readonly portal: string; readonly statement: string;
      readonly paramFormats: readonly FormatCode[]; readonly params: ReadonlyArray<Buffer | null>;
      readonly resultFormats: readonly FormatCode[];
    }
  | { readonly type: 'Describe'; readonly target: 'S' | 'P'; readonly name: string }
  | { readonly type: 'Execute'; readonly portal: string; readonly maxRows: number }
  | { readonly type: 'Close'; readonly target: 'S' | 'P'; readonly name: string }
  | { readonly type: 'Sync' }
  | { readonly type: 'Flush' }
  | { readonly type: 'Terminate' }
  | { readonly type: 'FunctionCall' }
  | { readonly type: 'CopyData' | 'CopyDone' | 'CopyFail' }
  | { readonly type: 'Password'; readonly body: Buffer };

/** A violation of the protocol: answered with FATAL 08P01 and the connection closed. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

/** Reads fields from one message body; every read is bounds-checked. */
class Reader {
  private offset = 0;
  constructor(private readonly buf: Buffer, private readonly what: string) {}

  private need(n: number): void {
    if (n < 0 || this.offset + n > this.buf.length) throw new ProtocolError(`invalid ${this.what} message format`);
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  byte(): number {
    this.need(1);
    return this.buf[this.offset++]!;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.offset);
    if (end < 0) throw new ProtocolError(`invalid ${this.what} message format`);
    const s = this.buf.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return s;
  }
  /** A count field: non-negative and small enough to be plausible for the remaining bytes. */
  count(perItem: number): number {
    const n = this.int16();
    if (n < 0 || n * perItem > this.buf.length - this.offset) throw new ProtocolError(`invalid ${this.what} message format`);
    return n;
  }
  end(): void {
    if (this.offset !== this.buf.length) throw new ProtocolError(`invalid ${this.what} message format`);
  }
}

function format(code: number, what: string): FormatCode {
  if (code !== 0 && code !== 1) throw new ProtocolError(`invalid format code in ${what} message: ${code}`);
  return code;
}

/** Decodes the first, untyped message (its 4-byte length already removed). */
export function decodeInitial(body: Buffer): InitialMessage {
  const r = new Reader(body, 'startup');
  const code = r.int32();
  switch (code) {
    case RequestCode.SSLRequest:
      r.end();
      return { kind: 'ssl' };
    case RequestCode.GSSENCRequest:
      r.end();
      return { kind: 'gssenc' };
    case RequestCode.CancelRequest: {
      const pid = r.int32();
      const secret = r.int32();
      r.end();
      return { kind: 'cancel', pid, secret };
    }
    default: {
      if (code >>> 16 !== 3) throw new ProtocolError(`unsupported frontend protocol ${code >>> 16}.${code & 0xffff}: server supports 3.0`);
      const params: Record<string, string> = {};
      for (;;) {
        const key = r.cstring();
        if (key === '') break;
        if (Object.prototype.hasOwnProperty.call(params, key)) throw new ProtocolError(`duplicate startup parameter "${key}"`);
        params[key] = r.cstring();
      }
      r.end();
      return { kind: 'startup', minor: code & 0xffff, params };
    }
  }
}

/** Decodes one typed frontend message body. Throws {@link ProtocolError} on anything malformed. */
export function decodeFrontend(type: number, body: Buffer): FrontendMessage {
  switch (type) {
    case FrontendCode.Query: {
      const r = new Reader(body, 'Query');
      const sql = r.cstring();
      r.end();
      return { type: 'Query', sql };
    }
    case FrontendCode.Parse: {
      const r = new Reader(body, 'Parse');
      const name = r.cstring();
      const sql = r.cstring();
      const n = r.count(4);
      const paramTypes: number[] = [];
      for (let i = 0; i < n; i++) paramTypes.push(r.int32() >>> 0);
      r.end();
      return { type: 'Parse', name, sql, paramTypes };
    }
    case FrontendCode.Bind: {
      const r = new Reader(body, 'Bind');
      const portal = r.cstring();
      const statement = r.cstring();
      const nf = r.count(2);
      const paramFormats: FormatCode[] = [];
      for (let i = 0; i < nf; i++) paramFormats.push(format(r.int16(), 'Bind'));
      const np = r.count(4);
      const params: Array<Buffer | null> = [];
      for (let i = 0; i < np; i++) {
        const len = r.int32();
        if (len < -1) throw new ProtocolError('invalid Bind message format');
        params.push(len === -1 ? null : Buffer.from(r.bytes(len)));
      }
      const nr = r.count(2);
      const resultFormats: FormatCode[] = [];
      for (let i = 0; i < nr; i++) resultFormats.push(format(r.int16(), 'Bind'));
      r.end();
      if (nf > 1 && nf !== np) throw new ProtocolError(`bind message has ${nf} parameter formats but ${np} parameters`);
      return { type: 'Bind', portal, statement, paramFormats, params, resultFormats };
    }
    case FrontendCode.Describe:
    case FrontendCode.Close: {
      const what = type === FrontendCode.Describe ? 'Describe' : 'Close';
      const r = new Reader(body, what);
      const t = r.byte();
      const name = r.cstring();
      r.end();
      if (t !== 0x53 && t !== 0x50) throw new ProtocolError(`invalid ${what.toUpperCase()} message subtype ${t}`);
      return { type: what, target: t === 0x53 ? 'S' : 'P', name };
    }
    case FrontendCode.Execute: {
      const r = new Reader(body, 'Execute');
      const portal = r.cstring();
      const maxRows = r.int32();
      r.end();
      return { type: 'Execute', portal, maxRows: maxRows > 0 ? maxRows : 0 };
    }
    case FrontendCode.Sync:
    case FrontendCode.Flush:
    case FrontendCode.Terminate: {
      const kind = type === FrontendCode.Sync ? 'Sync' : type === FrontendCode.Flush ? 'Flush' : 'Terminate';
      new Reader(body, kind).end();
      return { type: kind };
    }
    case FrontendCode.FunctionCall:
      return { type: 'FunctionCall' };
    case FrontendCode.CopyData:
      return { type: 'CopyData' };
    case FrontendCode.CopyDone:
      return { type: 'CopyDone' };
    case FrontendCode.CopyFail:
      return { type: 'CopyFail' };
    case FrontendCode.Password:
      return { type: 'Password', body };
    default:
      throw new ProtocolError(`invalid frontend message type ${type}`);
  }
}

/** What the framer hands out. */
export type Frame =
  | { readonly phase: 'initial'; readonly body: Buffer }
  | { readonly phase: 'typed'; readonly type: number; readonly body: Buffer };

/**
 * Splits a byte stream into messages. Lengths are checked as soon as the header arrives, before
 * anything is buffered: an untyped first packet must be 8..{@link MAX_STARTUP_BYTES} bytes, a typed
 * message at most `maxMessageBytes`; a bad length throws {@link ProtocolError} (a 1 GB length
 * prefix costs 5 bytes of memory, not 1 GB).
 */
export class Framer {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** True while the next message is untyped (startup, SSLRequest, CancelRequest). */
  untyped = true;

  /** `maxMessageBytes`: largest typed message; the session lowers it until the client is authenticated. */
  constructor(public maxMessageBytes: number) {}

  /** Adds bytes and returns every complete message they finish. */
  push(data: Buffer): Frame[] {
    if (data.length > 0) {
      this.chunks.push(data);
      this.buffered += data.length;
    }
    const out: Frame[] = [];
    for (;;) {
      const headerLen = this.untyped ? 4 : 5;
      if (this.buffered < headerLen) break;
      const head = this.peek(headerLen);
      if (this.untyped) {
        const len = head.readInt32BE(0);
        if (len < 8 || len > MAX_STARTUP_BYTES) throw new ProtocolError('invalid length of startup packet');
        if (this.buffered < len) break;
        const msg = this.take(len);
        out.push({ phase: 'initial', body: msg.subarray(4) });
        // Only a StartupMessage ends the untyped phase; SSL/GSS requests are followed by another
        // untyped packet. The session flips this flag once it has seen the startup.
        this.untyped = !isStartupPacket(msg);
      } else {
        const type = head[0]!;
        const len = head.readInt32BE(1);
        if (len < 4 || len > this.maxMessageBytes) {
          throw new ProtocolError(len < 4 ? 'invalid message length' : `message of ${len} bytes exceeds the ${this.maxMessageBytes}-byte limit`);
        }
        if (this.buffered < len + 1) break;
        const msg = this.take(len + 1);
        out.push({ phase: 'typed', type, body: msg.subarray(5) });
      }
    }
    return out;
  }

  /** Bytes received but not yet part of a complete message. */
  pending(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!.subarray(0, n);
    return Buffer.concat(this.chunks).subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const msg = Buffer.from(all.subarray(0, n));
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return msg;
  }
}

function isStartupPacket(msg: Buffer): boolean {
  return msg.length >= 8 && msg.readUInt16BE(4) === 3;
}

// ---------------------------------------------------------------------------------------------
// Backend messages

/** Builds one typed message: type byte, int32 length, body. */
function message(type: number, body: Buffer): Buffer {
  const head = Buffer.allocUnsafe(5);
  head[0] = type;
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');
const i16 = (n: number) => {
  const b = Buffer.allocUnsafe(2);
  b.writeInt16BE(n, 0);
  return b;
};
const i32 = (n: number) => {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n | 0, 0);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
};

/** Fields of an ErrorResponse / NoticeResponse. */
export interface ErrorFields {
  readonly severity: 'ERROR' | 'FATAL' | 'NOTICE' | 'WARNING';
  /** SQLSTATE, five characters. */
  readonly code: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
  /** 1-based character position in the statement text. */
  readonly position?: number;
}

/** One column of a RowDescription. */
export interface FieldDescription {
  readonly name: string;
  readonly typeOid: number;
  /** pg_type.typlen, -1 for variable length. */
  readonly typeSize: number;
  readonly format: FormatCode;
}

export const encode = {
  authOk: () => message(BackendCode.Authentication, i32(AuthCode.Ok)),
  authSasl: (mechanisms: readonly string[]) =>
    message(BackendCode.Authentication, Buffer.concat([i32(AuthCode.SASL), ...mechanisms.map(cstr), Buffer.from([0])])),
  authSaslContinue: (data: string) =>
    message(BackendCode.Authentication, Buffer.concat([i32(AuthCode.SASLContinue), Buffer.from(data, 'utf8')])),
  authSaslFinal: (data: string) =>
    message(BackendCode.Authentication, Buffer.concat([i32(AuthCode.SASLFinal), Buffer.from(data, 'utf8')])),
  parameterStatus: (name: string, value: string) => message(BackendCode.ParameterStatus, Buffer.concat([cstr(name), cstr(value)])),
  backendKeyData: (pid: number, secret: number) => message(BackendCode.BackendKeyData, Buffer.concat([i32(pid), i32(secret)])),
  readyForQuery: (status: 'I' | 'T' | 'E') => message(BackendCode.ReadyForQuery, Buffer.from(status, 'latin1')),
  parseComplete: () => message(BackendCode.ParseComplete, Buffer.alloc(0)),
  bindComplete: () => message(BackendCode.BindComplete, Buffer.alloc(0)),
  closeComplete: () => message(BackendCode.CloseComplete, Buffer.alloc(0)),
  noData: () => message(BackendCode.NoData, Buffer.alloc(0)),
  portalSuspended: () => message(BackendCode.PortalSuspended, Buffer.alloc(0)),
  emptyQuery: () => message(BackendCode.EmptyQueryResponse, Buffer.alloc(0)),
  commandComplete: (tag: string) => message(BackendCode.CommandComplete, cstr(tag)),
  parameterDescription: (oids: readonly number[]) =>
    message(BackendCode.ParameterDescription, Buffer.concat([i16(oids.length), ...oids.map(u32)])),
  rowDescription: (fields: readonly FieldDescription[]) =>
    message(BackendCode.RowDescription, Buffer.concat([i16(fields.length), ...fields.flatMap((f) => [
      cstr(f.name), i32(0), i16(0), u32(f.typeOid), i16(f.typeSize), i32(-1), i16(f.format),
    ])])),
  dataRow: (values: ReadonlyArray<Buffer | null>) => {
    const parts: Buffer[] = [i16(values.length)];
    for (const v of values) {
      if (v === null) parts.push(i32(-1));
      else parts.push(i32(v.length), v);
    }
    return message(BackendCode.DataRow, Buffer.concat(parts));
  },
  error: (f: ErrorFields) => message(f.severity === 'NOTICE' || f.severity === 'WARNING' ? BackendCode.NoticeResponse : BackendCode.ErrorResponse, errorBody(f)),
  /** NegotiateProtocolVersion: we speak 3.0 and none of the `_pq_.` options the client asked for. */
  negotiateProtocol: (options: readonly string[]) =>
    message(0x76, Buffer.concat([i32(0), i32(options.length), ...options.map(cstr)])),
  /** The single byte answering an SSLRequest / GSSENCRequest: 'S' (go ahead with TLS) or 'N'. */
  sslAnswer: (accept: boolean) => Buffer.from(accept ? 'S' : 'N', 'latin1'),
};

function errorBody(f: ErrorFields): Buffer {
  const parts: Buffer[] = [];
  const field = (code: string, value: string | undefined) => {
    if (value !== undefined) parts.push(Buffer.from(code, 'latin1'), cstr(value));
  };
  field('S', f.severity);
  field('V', f.severity);
  field('C', f.code);
  field('M', f.message);
  field('D', f.detail);
  field('H', f.hint);
  field('P', f.position !== undefined ? String(f.position) : undefined);
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}
