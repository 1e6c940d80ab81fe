/**
 * The hostile clients of bench/abuse.ts: GraphQL over HTTP in loops, graphql-transport-ws sockets
 * spoken by hand (so a client can do what graphql-ws' own client never would), raw TCP for slow or
 * silent clients, and the Postgres wire protocol's startup packet, read far enough to see whether
 * the server asked for a password or refused with a SQLSTATE. Each returns outcome labels that the
 * bench counts ("HTTP 400 GRAPHQL_PARSE_FAILED", "E 53300", "closed 4429", ...).
 */
import net from 'node:net';
import pg from 'pg';
import WebSocket from 'ws';
import { nowMs, sleep } from './harness';

/** Counts of outcome labels. */
export type Outcomes = Record<string, number>;

export function count(into: Outcomes, label: string, n = 1): void {
  into[label] = (into[label] ?? 0) + n;
}

/** A GraphQL POST's outcome: `HTTP <status>` plus the distinct error codes of its body. */
export async function gqlOutcome(url: string, token: string, body: string | Buffer, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<string> {
  try {
    const res = await fetch(url, {
      method: 'POST', signal: AbortSignal.timeout(timeoutMs),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers }, body,
    });
    const text = await res.text();
    let codes: string[] = [];
    try {
      const parsed = JSON.parse(text) as { errors?: Array<{ extensions?: { code?: string; details?: { limit?: string } } }> };
      codes = [...new Set((parsed.errors ?? []).map((e) => [e.extensions?.code ?? 'error', e.extensions?.details?.limit].filter((x) => x !== undefined).join(':')))];
    } catch { /* not JSON: the status says enough */ }
    return `HTTP ${res.status}${codes.length > 0 ? ` ${codes.join(',')}` : ''}`;
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return e.name === 'TimeoutError' ? `no answer in ${timeoutMs} ms` : `client error ${e.cause?.code ?? e.name}`;
  }
}

/** Runs `fn` in `concurrency` loops until `durationMs` has passed; counts what it returned. */
export async function loopFor(concurrency: number, durationMs: number, fn: (i: number) => Promise<string>): Promise<{ outcomes: Outcomes; requests: number }> {
  const end = nowMs() + durationMs;
  const outcomes: Outcomes = {};
  let requests = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (nowMs() < end) {
      count(outcomes, await fn(requests++));
    }
  }));
  return { outcomes, requests };
}

/** A graphql-transport-ws socket spoken by hand. */
export class RawGqlSocket {
  readonly ws: WebSocket;
  /** True on connection_ack; false when the socket closed first. */
  readonly acked: Promise<boolean>;
  readonly closed: Promise<{ code: number; reason: string; byServer: boolean }>;
  /** error messages by code (`TOO_MANY_REQUESTS:maxPerSocket`), next/complete by count. */
  readonly outcomes: Outcomes = {};
  nexts = 0;
  private closing = false;

  constructor(url: string, token: string | undefined) {
    this.ws = new WebSocket(url, 'graphql-transport-ws');
    this.ws.on('error', () => undefined); // 'close' follows
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), byServer: !this.closing })));
    this.acked = new Promise((resolve) => {
      this.ws.once('open', () => {
        if (token !== undefined) this.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
      });
      this.ws.on('message', (data: Buffer) => {
        let m: { type?: string; id?: string; payload?: unknown };
        try { m = JSON.parse(data.toString('utf8')) as typeof m; } catch { return; }
        if (m.type === 'connection_ack') resolve(true);
        else if (m.type === 'ping') this.send({ type: 'pong' });
        else if (m.type === 'next') this.nexts++;
        else if (m.type === 'complete') count(this.outcomes, 'complete');
        else if (m.type === 'error') {
          const errs = Array.isArray(m.payload) ? m.payload as Array<{ extensions?: { code?: string; details?: { limit?: string } } }> : [];
          for (const e of errs) count(this.outcomes, [e.extensions?.code ?? 'error', e.extensions?.details?.limit].filter((x) => x !== undefined).join(':'));
        }
      });
      void this.closed.then(() => resolve(false));
    });
  }

  send(message: Record<string, unknown>): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  subscribe(id: string, query: string, variables?: Record<string, unknown>): void {
    this.send({ id, type: 'subscribe', payload: { query, ...(variables !== undefined ? { variables } : {}) } });
  }

  /** Closes from our side (not counted as a server close) and waits, at most 5 s. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.terminate();
    await within(this.closed.then(() => undefined), 5_000, () => undefined);
  }
}

/** Opens `n` sockets with `open(i)`, `batch` at a time (a burst of thousands of SYNs overflows the accept queue and measures that instead). */
export async function openInBatches<T>(n: number, batch: number, open: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += batch) out.push(...await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, k) => open(i + k))));
  return out;
}

/** A raw TCP client: connected, whether (and when) the server closed it, and the first bytes it sent. */
export class RawTcp {
  readonly socket: net.Socket;
  readonly connected: Promise<boolean>;
  /** The server closed (or half-closed: EOF) the connection; its own descriptor may still be open. */
  closedByServer = false;
  received = Buffer.alloc(0);
  private closing = false;

  /** `from`: the local address to connect from (another host on loopback, 127.0.0.0/8). */
  constructor(port: number, from?: string, host = '127.0.0.1') {
    this.socket = net.connect({ port, host, ...(from !== undefined ? { localAddress: from } : {}) });
    this.socket.on('error', () => undefined);
    this.connected = new Promise((resolve) => {
      this.socket.once('connect', () => resolve(true));
      this.socket.once('close', () => resolve(false));
    });
    this.socket.on('data', (d: Buffer) => {
      if (this.received.length < 4_096) this.received = Buffer.concat([this.received, d]);
    });
    this.socket.once('close', () => {
      if (!this.closing) this.closedByServer = true;
    });
    // A half-close from the server ('end') counts as a close: the client would see EOF.
    this.socket.once('end', () => {
      if (!this.closing) this.closedByServer = true;
    });
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  close(): void {
    this.closing = true;
    this.socket.destroy();
  }
}

/** The Postgres v3 StartupMessage for `user`. */
export function startupPacket(user: string): Buffer {
  const body = Buffer.from(`user\0${user}\0database\0wavegate\0\0`, 'utf8');
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(196_608, 4);
  return Buffer.concat([head, body]);
}

/** What the first backend message in `bytes` says: `E <SQLSTATE>`, `R auth <n>` (password asked), or undefined while incomplete. */
export function firstBackendMessage(bytes: Buffer): string | undefined {
  if (bytes.length < 5) return undefined;
  const type = String.fromCharCode(bytes[0]!);
  const len = bytes.readInt32BE(1);
  if (bytes.length < 1 + len) return undefined;
  if (type === 'R') return `R auth ${bytes.readInt32BE(5)}`;
  if (type === 'E') {
    const fields = bytes.subarray(5, 1 + len).toString('utf8').split('\0');
    const code = fields.find((f) => f.startsWith('C'))?.slice(1);
    return `E ${code ?? '?'}`;
  }
  return `message ${type}`;
}

/** Waits until a raw socket's first backend message is complete, it closes, or `timeoutMs` passes. */
export async function awaitFirstMessage(c: RawTcp, timeoutMs: number): Promise<string> {
  const end = nowMs() + timeoutMs;
  for (;;) {
    const m = firstBackendMessage(c.received);
    if (m !== undefined) return m;
    if (c.closedByServer) return 'closed without a message';
    if (nowMs() >= end) return `no answer in ${timeoutMs} ms`;
    await sleep(25);
  }
}

/** An error's SQLSTATE (`pg` puts it in `code`), else its message's first words. */
export function sqlOutcome(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  if (typeof e.code === 'string') return e.code;
  return String(e.message ?? err).slice(0, 60);
}

/**
 * A socket whose `connect(port, host)` (what `pg` calls) binds `localAddress` first: on loopback,
 * 127.0.0.2 and 127.0.0.1 are different hosts to the server, as an attacker and a real user are.
 */
function boundSocket(localAddress: string): net.Socket {
  const socket = new net.Socket();
  const connect = socket.connect.bind(socket);
  (socket as unknown as { connect: (port: number, host: string) => net.Socket }).connect = (port, host) => connect({ port, host, localAddress });
  return socket;
}

/**
 * Logs in with `pg`, from `from` (a loopback address; default 127.0.0.1); resolves with 'ok' or the
 * refusal, and how long it took. The client is returned open on success.
 */
export async function sqlLogin(port: number, user: string, password: string, timeoutMs = 15_000, from?: string): Promise<{ outcome: string; ms: number; client?: pg.Client }> {
  const client = new pg.Client({
    host: '127.0.0.1', port, user, password, database: 'wavegate', connectionTimeoutMillis: timeoutMs,
    ...(from !== undefined ? { stream: () => boundSocket(from) } : {}),
  });
  client.on('error', () => undefined);
  const t0 = nowMs();
  try {
    await client.connect();
    return { outcome: 'ok', ms: Math.round(nowMs() - t0), client };
  } catch (err) {
    await client.end().catch(() => undefined);
    return { outcome: sqlOutcome(err), ms: Math.round(nowMs() - t0) };
  }
}

/**
 * `p`, or `onTimeout()` once `ms` have passed, whichever comes first; the timer is cleared either
 * way, so a bench that is done does not wait for the timers of its races before exiting.
 */
export async function within<T>(p: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(onTimeout()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
