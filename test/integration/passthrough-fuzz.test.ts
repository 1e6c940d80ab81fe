import net from 'node:net';
import type pg from 'pg';
import { EmbeddedEngine } from '../../src/engine/embedded/engine';
import { silentLogger } from '../../src/log';
import { writeEvents } from '../../src/outbox/writer';
import { parseSqlUsers, startSqlPassthrough, type SqlPassthrough } from '../../src/passthrough';
import { FIXTURE_RIDES } from '../conformance/fixture';
import { client } from '../fixtures/pgwire/harness';
import { backendFrames, cstr, errorCodes as codesIn, i16, i32, type RawFrame, ScramClient, startupPacket as startup, typed } from '../fixtures/pgwire/wire';
import { waitFor } from '../helpers/waitFor';
import { bundledRegistry } from '../../src/views/load';
import { prng } from '../helpers/prng';

// Malformed protocol over raw sockets: truncated and oversized messages, messages in the wrong
// order, random bytes before and after authentication. The process must not crash, the listener
// must keep serving, a parallel ops session must keep getting its rows, and the fuzzed session
// (a rider with no trips) must never receive a DataRow.

const USERS = parseSqlUsers('olga:ops-pw:ops,fuzz:fuzz-pw:rider:rider-404', bundledRegistry());


/** A raw connection that records what the server sends. */
class Raw {
  readonly received: Buffer[] = [];
  readonly closed: Promise<void>;
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => this.received.push(d));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
  }
  static connect(port: number): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new Raw(s)));
      s.once('error', reject);
    });
  }
  send(b: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }
  get bytes(): Buffer {
    return Buffer.concat(this.received);
  }
  /** Backend messages received so far, from `offset`. */
  messages(offset = 0): RawFrame[] {
    return backendFrames(this.bytes.subarray(offset));
  }
  async waitFor(type: string, offset = 0): Promise<void> {
    await waitFor(() => this.messages(offset).some((m) => m.type === type), 5_000);
  }
  /** Startup and SCRAM as `fuzz`; resolves at the first ReadyForQuery. */
  static async authenticated(port: number): Promise<Raw> {
    const r = await Raw.connect(port);
    r.send(startup({ user: 'fuzz', database: 'x' }));
    await r.waitFor('R');
    const scram = new ScramClient('fuzz-pw');
    r.send(scram.initialResponse());
    await waitFor(() => r.messages().filter((m) => m.type === 'R').length >= 2, 5_000);
    const cont = r.messages().filter((m) => m.type === 'R')[1]!;
    r.send(await scram.response(cont.bytes.subarray(9).toString()));
    await r.waitFor('Z');
    return r;
  }
  async end(): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }
}

/** Waits until the server closed `r` (after a FATAL, typically). */
async function closedByServer(r: Raw): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([r.closed, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('server did not close the connection')), 5_000)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits up to `ms` for the server to close `r`. */
async function settle(r: Raw, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([r.closed, new Promise<void>((res) => (timer = setTimeout(res, ms)))]);
  clearTimeout(timer);
}

const errorCodes = (r: Raw, offset = 0) => codesIn(r.bytes.subarray(offset));

describe('SQL passthrough under malformed protocol input', () => {
  let engine: EmbeddedEngine;
  let server: SqlPassthrough;
  let ops: pg.Client;
  const raws: Raw[] = [];
  const track = (r: Raw) => {
    raws.push(r);
    return r;
  };

  beforeAll(async () => {
    engine = await EmbeddedEngine.create({ log: silentLogger });
    for (const ride of FIXTURE_RIDES) await engine.transaction((tx) => writeEvents(tx, ride));
    server = await startSqlPassthrough({ port: 0, engine, users: USERS, log: silentLogger, maxMessageBytes: 64 * 1024, authTimeoutMs: 1_000 });
    ops = await client(server.port, 'olga', 'ops-pw');
  }, 60_000);

  afterEach(async () => {
    // After every case the other session still reads its rows, and nobody fuzzed got any.
    expect((await ops.query('SELECT count(*)::int AS n FROM trip_history')).rows).toEqual([{ n: 4 }]);
    for (const r of raws) expect(r.messages().filter((m) => m.type === 'D')).toEqual([]);
  });

  afterAll(async () => {
    for (const r of raws) await r.end();
    await ops?.end();
    await server?.close();
    await engine?.close();
  });

  it('closes on a 1 GB length prefix, before or after authentication, without buffering it', async () => {
    const pre = track(await Raw.connect(server.port));
    pre.send(Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0]));
    await closedByServer(pre);
    expect(errorCodes(pre)).toEqual(['08P01']);
    const post = track(await Raw.authenticated(server.port));
    const at = post.bytes.length;
    post.send(Buffer.from([0x51, 0x40, 0, 0, 0]));
    await closedByServer(post);
    expect(errorCodes(post, at)).toEqual(['08P01']);
  });

  it('survives truncated messages and connections dropped mid-message', async () => {
    const full = startup({ user: 'fuzz', database: 'x' });
    for (const cut of [1, 3, 4, 7, full.length - 1]) {
      const r = track(await Raw.connect(server.port));
      r.send(full.subarray(0, cut));
      await r.end();
    }
    const r = track(await Raw.authenticated(server.port));
    r.send(typed('Q', cstr('SELECT trip_id FROM trip_history')).subarray(0, 9));
    await r.end();
  });

  it('answers messages in the wrong order with errors, not crashes, and stays usable after Sync', async () => {
    const r = track(await Raw.authenticated(server.port));
    const at = r.bytes.length;
    r.send(Buffer.concat([
      typed('B', Buffer.concat([cstr(''), cstr('nope'), i16(0), i16(0), i16(0)])), typed('S'), // Bind before Parse
      typed('E', Buffer.concat([cstr('no_portal'), i32(0)])), typed('S'), // Execute without Bind
      typed('D', Buffer.concat([Buffer.from('P'), cstr('ghost')])), typed('S'),
      typed('C', Buffer.concat([Buffer.from('S'), cstr('ghost')])), typed('S'),
      typed('P', Buffer.concat([cstr('s1'), cstr('SELECT trip_id FROM trip_history WHERE status = $1'), i16(0)])),
      typed('B', Buffer.concat([cstr(''), cstr('s1'), i16(0), i16(0), i16(0)])), typed('S'), // wrong parameter count
      typed('F', Buffer.concat([i32(764), i16(0), i16(0), i16(0)])), // FunctionCall (lo_import's OID)
      typed('d', Buffer.from('copy data')), typed('c'),
      typed('Q', cstr('SELECT trip_id FROM trip_history')),
    ]));
    await waitFor(() => r.messages(at).filter((m) => m.type === 'Z').length >= 7, 5_000);
    expect(errorCodes(r, at)).toEqual(['26000', '34000', '34000', '08P01', '0A000']);
    const last = r.messages(at).slice(-3).map((m) => m.type);
    expect(last).toEqual(['T', 'C', 'Z']); // the rider's own (empty) result: no rows
  });

  it('closes on a password message after authentication and on an unknown message type', async () => {
    for (const bad of [typed('p', Buffer.from('again')), typed('!', Buffer.from('x')), typed('S', Buffer.from('extra'))]) {
      const r = track(await Raw.authenticated(server.port));
      const at = r.bytes.length;
      r.send(bad);
      await closedByServer(r);
      expect(errorCodes(r, at)).toEqual(['08P01']);
    }
  });

  it('refuses bad startups: no user, protocol 2.0, replication, garbage SASL, silence past the auth timeout', async () => {
    const cases: Array<[Buffer[], string | undefined]> = [
      [[startup({ database: 'x' })], '28000'],
      [[startup({ user: 'fuzz' }, 2 << 16)], '08P01'],
      [[startup({ user: 'fuzz', replication: 'database' })], '0A000'],
      [[startup({ user: 'fuzz' }), typed('p', Buffer.from('garbage'))], '08P01'],
      [[startup({ user: 'fuzz' }), typed('p', Buffer.concat([cstr('SCRAM-SHA-256'), i32(5), Buffer.from('xxxxx')]))], '28P01'],
      [[startup({ user: 'fuzz' }), typed('p', Buffer.concat([cstr('PLAIN'), i32(3), Buffer.from('a,b')]))], '28P01'],
      [[startup({ user: 'fuzz' })], '08P01'], // then silence: the 1 s auth timeout closes it
    ];
    for (const [msgs, code] of cases) {
      const r = track(await Raw.connect(server.port));
      for (const m of msgs) r.send(m);
      await closedByServer(r);
      expect([msgs.length, errorCodes(r)]).toEqual([msgs.length, [code]]);
    }
  });

  it('handles SSLRequest, GSSENCRequest and CancelRequests with made-up keys', async () => {
    const r = track(await Raw.connect(server.port));
    r.send(Buffer.concat([i32(8), i32(80877104)]));
    await waitFor(() => r.bytes.length === 1);
    r.send(Buffer.concat([i32(8), i32(80877103)]));
    await waitFor(() => r.bytes.length === 2);
    expect(r.bytes.toString('latin1')).toBe('NN');
    // SSLRequest with bytes piggybacked behind it: refused (they could be injected before TLS).
    const inj = track(await Raw.connect(server.port));
    inj.send(Buffer.concat([i32(8), i32(80877103), startup({ user: 'fuzz' })]));
    await closedByServer(inj);
    const rand = prng(7);
    for (let i = 0; i < 20; i++) {
      const c = track(await Raw.connect(server.port));
      c.send(Buffer.concat([i32(16), i32(80877102), i32(Math.floor(rand() * 2 ** 31)), i32(Math.floor(rand() * 2 ** 31))]));
      await closedByServer(c);
      expect(c.bytes.length).toBe(0);
    }
  });

  it('survives random bytes before startup and random messages after authentication', async () => {
    const rand = prng(20261005);
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
    for (let i = 0; i < 40; i++) {
      const r = track(await Raw.connect(server.port));
      r.send(bytes(1 + Math.floor(rand() * 64)));
      await settle(r, 50);
      await r.end();
    }
    const types = 'QPBDESHCXFdcfp!Z\0\xff';
    for (let i = 0; i < 20; i++) {
      const r = track(await Raw.authenticated(server.port));
      for (let k = 0; k < 10; k++) {
        const t = types[Math.floor(rand() * types.length)]!;
        r.send(rand() < 0.8 ? typed(t, bytes(Math.floor(rand() * 40))) : bytes(1 + Math.floor(rand() * 30)));
      }
      r.send(typed('S'));
      await settle(r, 100);
      await r.end();
    }
  });

  it('answers a flood of pipelined messages in order (the socket is paused, not buffered without bound)', async () => {
    const r = track(await Raw.authenticated(server.port));
    const at = r.bytes.length;
    const n = 20_000;
    r.send(Buffer.concat(Array.from({ length: n }, () => typed('S'))));
    await waitFor(() => r.messages(at).length === n, 20_000, 50);
    expect(r.messages(at).every((m) => m.type === 'Z')).toBe(true);
  });

  it('still accepts and serves new connections after all of it', async () => {
    const c = await client(server.port, 'olga', 'ops-pw');
    expect((await c.query('SELECT count(*)::int AS n FROM rider_stats')).rows).toEqual([{ n: 3 }]);
    await c.end();
  });
});
