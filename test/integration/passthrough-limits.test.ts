import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { main } from '../../src/cli/index';
import { EmbeddedEngine } from '../../src/engine/embedded/engine';
import { recordingLogger, type RecordingLogger, silentLogger } from '../../src/log';
import { writeEvents } from '../../src/outbox/writer';
import { parseSqlUsers, startSqlPassthrough, type SqlPassthrough, type SqlPassthroughOptions } from '../../src/passthrough';
import { bundledRegistry } from '../../src/views/load';
import { FIXTURE_RIDES } from '../conformance/fixture';
import { psql, sqlState } from '../fixtures/pgwire/harness';
import { backendFrames, cstr, errorCodes, i16, i32, ScramClient, startupPacket as startup, typed } from '../fixtures/pgwire/wire';
import { captureIo } from '../helpers/cliIo';
import { waitFor } from '../helpers/waitFor';

// Issue 11 items 1, 2, 8 and 9, and the sweep around them: the SQL listener under connection
// floods, idle and slow pre-auth sockets, password guessing, prepared-statement memory and clients
// that never read. Each case asserts the refusal (SQLSTATE) or the bound (the listener's own
// counters, /proc/self/fd), never how fast something happened. Clients connect from several
// loopback addresses (127.0.0.0/8 all reach the listener) to stand for different hosts.

jest.setTimeout(120_000);

const USERS = parseSqlUsers('olga:ops-pw:ops,ana:analyst-pw', bundledRegistry());
const PASSWORDS: Record<string, string> = { olga: 'ops-pw', ana: 'analyst-pw' };

/** Open descriptors of this process (server and client sockets alike). */
const fdCount = () => readdirSync('/proc/self/fd').length;

/** A raw client connection that records what the server sends. */
class Raw {
  private readonly received: Buffer[] = [];
  readonly closed: Promise<void>;
  isClosed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => this.received.push(d));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.isClosed = true;
      resolve();
    }));
  }

  /** Connects from `localAddress` (a loopback address standing for another host). */
  static connect(port: number, localAddress = '127.0.0.1'): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(new Raw(s)));
      s.once('error', reject);
    });
  }

  /** Startup and SCRAM; resolves at the first ReadyForQuery (or with the FATAL that refused it). */
  static async login(port: number, user: string, localAddress = '127.0.0.1', password = PASSWORDS[user]!): Promise<Raw> {
    const r = await Raw.connect(port, localAddress);
    r.send(startup({ user, database: 'x' }));
    await waitFor(() => r.isClosed || r.types().includes('R'), 30_000);
    if (r.isClosed) return r;
    const scram = new ScramClient(password);
    r.send(scram.initialResponse());
    await waitFor(() => r.isClosed || r.frames().filter((m) => m.type === 'R').length >= 2, 30_000);
    if (r.isClosed) return r;
    const cont = r.frames().filter((m) => m.type === 'R')[1]!;
    r.send(await scram.response(cont.bytes.subarray(9).toString()));
    await waitFor(() => r.isClosed || r.types().includes('Z'), 30_000);
    return r;
  }

  send(b: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  get bytes(): Buffer {
    return Buffer.concat(this.received);
  }

  frames() {
    return backendFrames(this.bytes);
  }

  types(): string {
    return this.frames().map((f) => f.type).join('');
  }

  codes(): string[] {
    return errorCodes(this.bytes);
  }

  async destroy(): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }
}

/** node-postgres from 127.0.0.1. */
async function connect(port: number, user: string, password = PASSWORDS[user]!): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'x' });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

const simple = (sql: string) => typed('Q', cstr(sql));
const parse = (name: string, sql: string) => typed('P', Buffer.concat([cstr(name), cstr(sql), i16(0)]));
const bind = (portal: string, statement: string, params: readonly string[]) => typed('B', Buffer.concat([
  cstr(portal), cstr(statement), i16(0), i16(params.length),
  ...params.flatMap((p) => [i32(Buffer.byteLength(p)), Buffer.from(p)]), i16(0),
]));
const closeStatement = (name: string) => typed('C', Buffer.concat([Buffer.from('S'), cstr(name)]));
const sync = () => typed('S');

describe('SQL passthrough limits', () => {
  let engine: EmbeddedEngine;
  const servers: SqlPassthrough[] = [];
  const raws: Raw[] = [];
  const clients: pg.Client[] = [];

  const start = async (options: Partial<SqlPassthroughOptions> = {}) => {
    const server = await startSqlPassthrough({ port: 0, engine, users: USERS, log: silentLogger, ...options });
    servers.push(server);
    return server;
  };
  const track = (r: Raw) => {
    raws.push(r);
    return r;
  };
  const pgClient = async (port: number, user: string, password?: string) => {
    const c = await connect(port, user, password);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    engine = await EmbeddedEngine.create({ log: silentLogger });
    for (const ride of FIXTURE_RIDES) await engine.transaction((tx) => writeEvents(tx, ride));
  }, 60_000);

  afterEach(async () => {
    for (const r of raws.splice(0)) await r.destroy();
    for (const c of clients.splice(0)) await c.end().catch(() => undefined);
    for (const s of servers.splice(0)) await s.close();
  });

  afterAll(async () => {
    await engine?.close();
  });

  describe('refused connections (item 1)', () => {
    it('ends and destroys every socket refused at the connection limit: 300 refusals leave no descriptor open', async () => {
      const server = await start({ maxConnections: 1 });
      const olga = await pgClient(server.port, 'olga');
      await waitFor(() => server.stats().sockets === 1);
      const fdsBefore = fdCount();
      for (let done = 0; done < 300; done += 30) {
        const batch = await Promise.all(Array.from({ length: 30 }, () => Raw.connect(server.port)));
        for (const r of batch) r.send(startup({ user: 'ana', database: 'x' }));
        await Promise.all(batch.map((r) => r.closed)); // closed by the server: this test hangs if not
        for (const r of batch) expect(r.codes()).toEqual(['53300']);
      }
      await waitFor(() => server.stats().sockets === 1 && fdCount() <= fdsBefore, 30_000);
      expect(server.stats()).toMatchObject({ sockets: 1, pending: 0, authenticated: 1, refused: 300 });
      expect((await olga.query('SELECT count(*)::int AS n FROM trip_history')).rows).toEqual([{ n: 4 }]);
    });

    it('destroys refused sockets whose peer never reads nor closes, and close() resolves with such peers and a stuck session', async () => {
      const server = await start({ maxConnections: 1 });
      const holder = track(await Raw.login(server.port, 'olga'));
      expect(holder.types()).toContain('Z');
      holder.socket.pause(); // the authenticated client stops reading
      const silent: Raw[] = [];
      for (let i = 0; i < 20; i++) {
        const r = track(await Raw.connect(server.port));
        r.socket.pause();
        r.send(startup({ user: 'ana', database: 'x' }));
        silent.push(r);
      }
      await waitFor(() => server.stats().refused === 20);
      // The peers never read and never close, yet the server lets go of every one of them.
      await waitFor(() => server.stats().sockets === 1, 30_000);
      expect(silent.every((r) => !r.isClosed)).toBe(true); // paused peers have not even noticed
      // One more refused peer that never reads, still lingering when the listener closes.
      const late = track(await Raw.connect(server.port));
      late.socket.pause();
      late.send(startup({ user: 'ana', database: 'x' }));
      await waitFor(() => server.stats().refused === 21);
      await server.close();
      expect(server.stats().sockets).toBe(0);
    });

    it('honours a CancelRequest on a full server (psql Ctrl-C) while refusing the login', async () => {
      const log = recordingLogger();
      const server = await start({ maxConnections: 1, log });
      const holder = track(await Raw.login(server.port, 'olga'));
      const key = holder.frames().find((f) => f.type === 'K')!.bytes;
      const [pid, secret] = [key.readInt32BE(5), key.readInt32BE(9)];
      const cancel = track(await Raw.connect(server.port));
      cancel.send(Buffer.concat([i32(16), i32(80877102), i32(pid), i32(secret)]));
      await cancel.closed;
      expect(cancel.bytes.length).toBe(0);
      expect(log.lines.filter((l) => l.msg === 'cancel request').map((l) => l.fields['pid'])).toEqual([pid]);
      const login = track(await Raw.login(server.port, 'ana'));
      await login.closed;
      expect(login.codes()).toEqual(['53300']);
    });

    it('over TLS too: sessions that end, stall in the handshake or are refused are all let go, and close() resolves', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'wavegate-sql-limits-tls-'));
      try {
        execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
          '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
        const server = await start({ tls: { certPath: join(dir, 'cert.pem'), keyPath: join(dir, 'key.pem') }, authTimeoutMs: 2_000, maxConnections: 1 });
        const tlsClient = async () => {
          const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'olga', password: 'ops-pw', database: 'x', ssl: { rejectUnauthorized: false } });
          c.on('error', () => undefined);
          await c.connect();
          return c;
        };
        const ended = await tlsClient();
        expect((await ended.query('SELECT count(*)::int AS n FROM rider_stats')).rows).toEqual([{ n: 3 }]);
        await ended.end();
        await waitFor(() => server.stats().sockets === 0);
        // A client that asks for TLS and then never starts the handshake: the auth timeout ends it.
        const stalled = track(await Raw.connect(server.port));
        stalled.send(Buffer.concat([i32(8), i32(80877103)]));
        await waitFor(() => stalled.bytes.toString('latin1') === 'S');
        await stalled.closed;
        await waitFor(() => server.stats().sockets === 0);
        // An open TLS session at close(): told 57P01 and let go.
        const open = await tlsClient();
        clients.push(open);
        expect(server.stats()).toMatchObject({ sockets: 1, authenticated: 1 });
        // The server is full: psql requiring TLS is refused over TLS, with the reason.
        const refused = await psql(server.port, 'olga', 'ops-pw', ['-c', 'SELECT 1'], { PGSSLMODE: 'require' });
        expect(refused.stderr).toContain('sorry, too many clients already');
        await waitFor(() => server.stats().sockets === 1);
        await server.close();
        expect(server.stats().sockets).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('wavegate serve stops on SIGTERM after a refusal, with the refused peer and a session still open', async () => {
      const cli = captureIo({
        WAVEGATE_PORT: '0', WAVEGATE_SQL_PORT: '0', WAVEGATE_SQL_USERS: 'olga:ops-pw:ops', WAVEGATE_SQL_MAX_CONNECTIONS: '1',
        WAVEGATE_JWT_SECRET: 'sql-listener-sigterm-secret-0123456789', WAVEGATE_SIMULATE: 'off',
      });
      const exit = main(['serve'], cli.io);
      const serving = await waitFor(() => cli.log.lines.find((l) => l.msg === 'wavegate is serving'), 60_000);
      const port = Number(cli.log.lines.find((l) => l.msg === 'SQL passthrough listening')?.fields['port']);
      const url = String(serving?.fields['url']);
      const holder = track(await Raw.login(port, 'olga'));
      expect(holder.types()).toContain('Z');
      holder.socket.pause();
      const refused = track(await Raw.connect(port));
      refused.socket.pause();
      refused.send(startup({ user: 'olga', database: 'x' }));
      await waitFor(() => cli.log.lines.some((l) => l.msg === 'sql connection refused'));
      cli.signal('SIGTERM');
      expect(await exit).toBe(0);
      await expect(fetch(new URL('/healthz', url))).rejects.toThrow();
      expect(cli.log.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['sql passthrough stopped', 'wavegate stopped']));
    });
  });

  describe('connections that do not log in (item 2)', () => {
    it('100 idle sockets from one address take at most its pending share: users log in and sessions keep working', async () => {
      const server = await start({ maxPending: 16, maxPendingPerAddress: 8, authTimeoutMs: 600_000 });
      const ana = await pgClient(server.port, 'ana');
      const idle = await Promise.all(Array.from({ length: 100 }, () => Raw.connect(server.port, '127.0.0.2').then(track)));
      await waitFor(() => idle.filter((r) => r.isClosed).length === 92, 30_000);
      // They never sent a startup packet, so they get no answer: the server just lets go of them.
      expect(idle.filter((r) => r.isClosed).map((r) => r.bytes.length)).toEqual(Array(92).fill(0));
      expect(server.stats()).toMatchObject({ pending: 8, authenticated: 1 });
      const olga = await pgClient(server.port, 'olga');
      expect((await olga.query('SELECT count(*)::int AS n FROM trip_history')).rows).toEqual([{ n: 4 }]);
      const viaPsql = await psql(server.port, 'olga', 'ops-pw', ['-c', 'SELECT count(*) FROM rider_stats']);
      expect([viaPsql.stderr, viaPsql.stdout.trim()]).toEqual(['', '3']);
      expect((await ana.query('SELECT count(*)::int AS n FROM rider_stats')).rows).toEqual([{ n: 3 }]);
      expect(server.stats()).toMatchObject({ pending: 8, authenticated: 2 });
    });

    it('100 idle sockets from 100 addresses fill the pending budget, and a real login evicts the oldest of them', async () => {
      const server = await start({ maxPending: 16, maxPendingPerAddress: 8, authTimeoutMs: 600_000 });
      const ana = await pgClient(server.port, 'ana');
      const idle: Raw[] = [];
      for (let i = 1; i <= 100; i++) idle.push(track(await Raw.connect(server.port, `127.0.1.${i}`)));
      await waitFor(() => idle.filter((r) => r.isClosed).length === 84, 30_000);
      // The oldest 84 were evicted as newer ones came: the budget holds the newest 16.
      expect(idle.slice(0, 84).every((r) => r.isClosed)).toBe(true);
      expect(idle.slice(0, 84).map((r) => r.codes())).toEqual(Array(84).fill(['53300']));
      expect(server.stats()).toMatchObject({ pending: 16, authenticated: 1 });
      const olga = await pgClient(server.port, 'olga');
      expect((await olga.query('SELECT count(*)::int AS n FROM trip_history')).rows).toEqual([{ n: 4 }]);
      expect(idle[84]!.isClosed || (await idle[84]!.closed.then(() => true))).toBe(true);
      expect(server.stats()).toMatchObject({ pending: 15, authenticated: 2 });
      expect((await ana.query('SELECT count(*)::int AS n FROM trip_history')).rows).toEqual([{ n: 4 }]);
    });

    it('caps the connections of one address, logged in or not, and leaves other addresses alone', async () => {
      const server = await start({ maxConnectionsPerAddress: 3 });
      const mine = [];
      for (let i = 0; i < 3; i++) mine.push(track(await Raw.login(server.port, 'ana', '127.0.0.4')));
      expect(mine.map((r) => r.types().endsWith('Z'))).toEqual([true, true, true]);
      const fourth = track(await Raw.login(server.port, 'ana', '127.0.0.4'));
      await fourth.closed;
      expect(fourth.codes()).toEqual(['53300']);
      expect(fourth.bytes.toString('latin1')).toContain('too many connections from this address');
      const other = track(await Raw.login(server.port, 'ana', '127.0.0.5'));
      expect(other.types()).toContain('Z');
    });

    it('refuses logins beyond the authenticated limit with 53300, for pg and psql', async () => {
      const server = await start({ maxConnections: 2 });
      await pgClient(server.port, 'ana');
      await pgClient(server.port, 'olga');
      expect(await sqlState(connect(server.port, 'olga'))).toBe('53300');
      const viaPsql = await psql(server.port, 'olga', 'ops-pw', ['-c', 'SELECT 1']);
      expect(viaPsql.stderr).toContain('sorry, too many clients already');
      await waitFor(() => server.stats().sockets === 2);
    });

    it('closes a startup packet sent one byte at a time when the auth timeout passes (slowloris)', async () => {
      const server = await start({ authTimeoutMs: 1_000 });
      const r = track(await Raw.connect(server.port));
      const packet = startup({ user: 'ana', database: 'x', application_name: 'x'.repeat(200) });
      let sent = 0;
      while (!r.isClosed && sent < packet.length) {
        r.send(packet.subarray(sent, sent + 1));
        sent++;
        await Promise.race([r.closed, new Promise((res) => setTimeout(res, 100))]);
      }
      expect(r.isClosed).toBe(true);
      expect(sent).toBeLessThan(packet.length);
      expect(r.codes()).toEqual(['08P01']);
      expect(r.bytes.toString('latin1')).toContain('authentication timeout');
      await waitFor(() => server.stats().sockets === 0);
    });
  });

  describe('protocol sweep', () => {
    it('closes at once on a 2 GB startup length and on a 1 MB message before login (65535 bytes at most then)', async () => {
      const server = await start({ maxMessageBytes: 8 * 1024 * 1024 });
      const huge = track(await Raw.connect(server.port));
      huge.send(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0]));
      await huge.closed;
      expect(huge.codes()).toEqual(['08P01']);
      const pre = track(await Raw.connect(server.port));
      pre.send(startup({ user: 'ana', database: 'x' }));
      await waitFor(() => pre.types().includes('R'));
      const head = Buffer.alloc(5);
      head.write('p', 0, 'latin1');
      head.writeInt32BE(1_000_000, 1);
      pre.send(head);
      await pre.closed;
      expect(pre.codes()).toEqual(['08P01']);
      expect(pre.bytes.toString('latin1')).toContain('exceeds the 65535-byte limit');
      await waitFor(() => server.stats().sockets === 0);
    });

    it('answers 400 CancelRequests with closed sockets and nothing left open', async () => {
      const server = await start();
      const olga = await pgClient(server.port, 'olga');
      await waitFor(() => server.stats().sockets === 1);
      const fdsBefore = fdCount();
      for (let done = 0; done < 400; done += 8) {
        const batch = await Promise.all(Array.from({ length: 8 }, (_, i) => Raw.connect(server.port, `127.0.2.${i + 1}`).then(track)));
        for (const [i, r] of batch.entries()) r.send(Buffer.concat([i32(16), i32(80877102), i32(done + i + 1), i32(12345)]));
        await Promise.all(batch.map((r) => r.closed));
        for (const r of batch) expect(r.bytes.length).toBe(0);
        for (const r of raws.splice(0)) await r.destroy();
      }
      await waitFor(() => server.stats().sockets === 1 && fdCount() <= fdsBefore, 30_000);
      expect(server.stats()).toMatchObject({ pending: 0, authenticated: 1 });
      expect((await olga.query('SELECT count(*)::int AS n FROM trip_history')).rows).toEqual([{ n: 4 }]);
    });

    it('stops reading and answering a client that pipelines queries without reading results: output stays bounded', async () => {
      const server = await start();
      const r = track(await Raw.login(server.port, 'olga'));
      r.socket.pause();
      const literal = 'x'.repeat(16 * 1024);
      const n = 300; // each answer is 16 rows of 16 KiB: about 78 MB in all, far beyond the socket buffers
      r.send(Buffer.concat(Array.from({ length: n }, () => simple(`SELECT '${literal}' AS pad, t.trip_id FROM trip_history t, trip_history u`))));
      await waitFor(() => server.stats().waitingForDrain === 1, 60_000);
      const held = server.stats().bufferedBytes;
      expect(held).toBeLessThan(1024 * 1024);
      // Then the client reads: every answer arrives, in order, and nothing was dropped.
      let ready = 0;
      let errors = 0;
      let pending: Buffer = Buffer.alloc(0);
      r.socket.removeAllListeners('data');
      r.socket.on('data', (d: Buffer) => {
        pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
        let i = 0;
        while (i + 5 <= pending.length) {
          const len = pending.readInt32BE(i + 1);
          if (i + 1 + len > pending.length) break;
          if (pending[i] === 0x5a) ready++;
          if (pending[i] === 0x45) errors++;
          i += 1 + len;
        }
        pending = pending.subarray(i);
      });
      r.socket.resume();
      await waitFor(() => ready === n, 120_000, 50);
      expect(errors).toBe(0);
      expect(server.stats().waitingForDrain).toBe(0);
    });
  });

  describe('login back-off (item 8)', () => {
    let log: RecordingLogger;
    const audit = (msg: string) => log.lines.filter((l) => l.ns === 'passthrough.audit' && l.msg === msg);

    it('delays the answer to each wrong password more, then the right one too; other users and addresses are not delayed', async () => {
      log = recordingLogger();
      const server = await start({ log, loginBackoffMs: 50, loginBackoffMaxMs: 400, authTimeoutMs: 10_000 });
      for (let i = 0; i < 6; i++) expect(await sqlState(connect(server.port, 'ana', 'wrong-guess'))).toBe('28P01');
      expect(audit('sql login refused').map((l) => l.fields['delayMs'] ?? 0)).toEqual([0, 50, 100, 200, 400, 400]);
      // Another user from another address logs in without waiting.
      const other = track(await Raw.login(server.port, 'olga', '127.0.0.3'));
      expect(other.types()).toContain('Z');
      expect(audit('sql login').map((l) => l.fields['delayMs'] ?? 0)).toEqual([0]);
      // The right password after the wrong ones, from the same address: accepted, not at once.
      const t0 = Date.now();
      const ana = await pgClient(server.port, 'ana');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
      expect(audit('sql login').map((l) => l.fields['delayMs'] ?? 0)).toEqual([0, 400]);
      expect((await ana.query('SELECT count(*)::int AS n FROM trip_history')).rows).toEqual([{ n: 4 }]);
      // psql sees the delayed refusal as an ordinary 28P01.
      const viaPsql = await psql(server.port, 'ana', 'still-wrong', ['-c', 'SELECT 1']);
      expect(viaPsql.stderr).toContain('password authentication failed for user "ana"');
      expect(audit('sql login refused').at(-1)?.fields['delayMs']).toBe(400);
      // A waiting login never holds an authenticated slot.
      expect(server.stats()).toMatchObject({ authenticated: 2 });
    });
  });

  describe('prepared statement memory (item 9)', () => {
    const big = (kib: number) => `SELECT trip_id FROM trip_history WHERE trip_id <> '${'y'.repeat(kib * 1024)}'`;

    it('refuses statements beyond the session budget (54000) and the total (53200), and frees them on DEALLOCATE and session end', async () => {
      const server = await start({ sessionMemoryBytes: 2 * 1024 * 1024, totalMemoryBytes: 3 * 1024 * 1024 });
      const a = await pgClient(server.port, 'olga');
      let aCount = 0;
      let aCode = '';
      for (; aCount < 50; aCount++) {
        const err = await a.query({ name: `a${aCount}`, text: big(100) }).then(() => undefined, (e: { code?: string }) => e);
        if (err !== undefined) {
          aCode = String(err.code);
          break;
        }
      }
      expect(aCode).toBe('54000');
      expect(aCount).toBeGreaterThan(0);
      const afterA = server.stats().preparedBytes;
      expect(afterA).toBeLessThanOrEqual(2 * 1024 * 1024);
      expect((await a.query('SELECT count(*)::int AS n FROM trip_history')).rows).toEqual([{ n: 4 }]); // still usable

      const b = await pgClient(server.port, 'ana');
      let bCode = '';
      for (let i = 0; i < 50 && bCode === ''; i++) {
        const err = await b.query({ name: `b${i}`, text: big(100) }).then(() => undefined, (e: { code?: string }) => e);
        if (err !== undefined) bCode = String(err.code);
      }
      expect(bCode).toBe('53200');
      expect(server.stats().preparedBytes).toBeLessThanOrEqual(3 * 1024 * 1024);

      const both = server.stats().preparedBytes;
      await a.query('DEALLOCATE ALL');
      expect(server.stats().preparedBytes).toBe(both - afterA);
      // Room again for b, which was refused for lack of it.
      await b.query({ name: 'b-again', text: big(100) });
      await b.end();
      await a.end();
      await waitFor(() => server.stats().preparedBytes === 0);
    });

    it('charges bound parameters of portals and frees statements on Close and portals when the transaction ends', async () => {
      const server = await start({ sessionMemoryBytes: 2 * 1024 * 1024, totalMemoryBytes: 64 * 1024 * 1024 });
      const r = track(await Raw.login(server.port, 'olga'));
      const zs = () => r.types().split('').filter((t) => t === 'Z').length;
      r.send(Buffer.concat([parse('s1', big(200)), sync()]));
      await waitFor(() => zs() === 2);
      const withS1 = server.stats().preparedBytes;
      expect(withS1).toBeGreaterThan(400 * 1024);
      r.send(Buffer.concat([closeStatement('s1'), sync()]));
      await waitFor(() => zs() === 3);
      expect(server.stats().preparedBytes).toBe(0);

      const param = 'z'.repeat(300 * 1024);
      r.send(simple('BEGIN'));
      await waitFor(() => zs() === 4);
      const msgs = [parse('p', 'SELECT trip_id FROM trip_history WHERE trip_id <> $1')];
      for (let i = 0; i < 10; i++) msgs.push(bind(`portal${i}`, 'p', [param]));
      msgs.push(sync());
      const at = r.bytes.length;
      r.send(Buffer.concat(msgs));
      await waitFor(() => zs() === 5);
      expect(errorCodes(r.bytes.subarray(at))).toEqual(['54000']);
      const bound = backendFrames(r.bytes.subarray(at)).filter((f) => f.type === '2').length;
      expect(bound).toBeGreaterThan(0);
      expect(bound).toBeLessThan(10);
      expect(server.stats().preparedBytes).toBeLessThanOrEqual(2 * 1024 * 1024);
      r.send(simple('ROLLBACK'));
      await waitFor(() => zs() === 6);
      // The portals went with the transaction; the statement 'p' (small) stays until the session ends.
      expect(server.stats().preparedBytes).toBeLessThan(4 * 1024);
      await r.destroy();
      await waitFor(() => server.stats().preparedBytes === 0);
    });
  });
});
