import net from 'node:net';
import pg from 'pg';
import { decodeFrontend, decodeInitial, encode, Framer, type FrontendMessage } from '../../src/passthrough/protocol';
import { rwError, rwErrorFrom, type RwFrame } from './fakeRisingWaveErrors';

/**
 * A RisingWave frontend on the wire, for tests (no RisingWave can run here): a pgwire server that
 * answers the way RisingWave v3.0.3 does where Wavegate depends on it, and runs every other
 * statement on a real PostgreSQL database. What it imitates, each from RisingWave's source:
 *
 * - startup: BackendKeyData `(n, n)` from a counter per frontend (src/frontend/src/session.rs);
 *   only `database`, `user`, `options` and `application_name` are read, `options` parsed as
 *   `-c key=value` / `--key=value` (src/utils/pgwire/src/pg_protocol.rs, `parse_options`);
 *   `statement_timeout` with RisingWave 3.0's parser (bare number = ms; units ms s min h d,
 *   src/common/src/session_config/statement_timeout.rs). A 2.x version ignores `options`.
 * - `version()`: `PostgreSQL 13.14.0-RisingWave-<version> (fake)` (src/common/src/lib.rs).
 * - errors: S, C, M fields only (src/utils/pgwire/src/pg_message.rs); codes and texts in
 *   fakeRisingWaveErrors.ts (XX000 for nearly everything, timeouts included).
 * - `SHOW PROCESSLIST` with RisingWave's columns and `Info` re-printed without comments,
 *   `KILL '<worker>:<pid>'`, and the CancelRequest (cancels the session's running statement).
 * - `FLUSH`: runs the test's `onFlush` (e.g. commits rows the test held back, standing in for the
 *   epoch RisingWave commits before FLUSH returns).
 *
 * Not imitated: RisingWave's SQL dialect, planner, catalogs and streaming (PostgreSQL runs the SQL).
 */

/** Options for {@link FakeRisingWaveServer.start}. */
export interface FakeRisingWaveOptions {
  /** PostgreSQL URL every session's SQL runs on. */
  readonly pgUrl: string;
  /** RisingWave version `version()` reports. @default '3.0.3' */
  readonly version?: string;
  /** This frontend's worker id (SHOW PROCESSLIST, KILL). @default 1 */
  readonly workerId?: number;
}

/** One client session. */
interface FakeSession {
  readonly pid: number;
  readonly user: string;
  readonly database: string;
  readonly host: string;
  readonly socket: net.Socket;
  pg: pg.Client | undefined;
  /** Statement running now, re-printed (comments gone), for SHOW PROCESSLIST. */
  running: string | undefined;
  startedAt: number;
  statementTimeoutMs: number;
}

const rawText = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

/** RisingWave re-prints statements from their parse tree: comments never reach SHOW PROCESSLIST. */
export function reprinted(sql: string): string {
  return sql.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/--[^\n]*/g, ' ').replace(/\s+/g, ' ').trim();
}

/** RisingWave 3.0's statement_timeout parser: ms; undefined when it does not parse. */
export function parseStatementTimeout(value: string): number | undefined {
  const s = value.trim();
  if (s === '0') return 0;
  const m = /^(\d+)(.*)$/.exec(s);
  if (m === null) return undefined;
  const mul: Record<string, number> = { '': 1, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };
  const unit = mul[m[2]!.trim()];
  return unit === undefined ? undefined : Number(m[1]) * unit;
}

/** RisingWave's `parse_options`: `-c k=v` and `--k=v`, backslash escapes, `-` in keys becomes `_`. */
export function parseOptions(options: string): Array<[string, string]> {
  const args: string[] = [];
  let cur = '';
  for (let i = 0; i < options.length; i++) {
    const c = options[i]!;
    if (c === '\\') cur += options[++i] ?? '';
    else if (/\s/.test(c)) {
      if (cur !== '') args.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur !== '') args.push(cur);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < args.length; i++) {
    const kv = args[i] === '-c' ? args[++i] : args[i]!.startsWith('--') ? args[i]!.slice(2) : undefined;
    if (kv === undefined) continue;
    const eq = kv.indexOf('=');
    if (eq < 0) throw new Error(`invalid config format: ${kv}`);
    out.push([kv.slice(0, eq).replace(/-/g, '_'), kv.slice(eq + 1)]);
  }
  return out;
}

/** The fake frontend; see the module comment. */
export class FakeRisingWaveServer {
  /** Every statement sessions sent (simple Query text or Parse text), in order, with the session's pid. */
  readonly statements: Array<{ readonly pid: number; readonly sql: string }> = [];
  /** Startup parameters of every session, in order. */
  readonly startups: Array<Readonly<Record<string, string>>> = [];
  /** KILL statements received. */
  readonly kills: string[] = [];
  /** FLUSHes completed. */
  flushes = 0;
  /** Runs at each FLUSH before it returns. */
  onFlush: () => Promise<void> = async () => undefined;
  /** Statements matching this run as `pg_sleep(600)` on PostgreSQL: a slow statement nothing forbids. */
  hold: RegExp | undefined;
  private readonly sessions = new Map<number, FakeSession>();
  private nextPid = 0;
  private server: net.Server | undefined;
  port = 0;

  private constructor(private readonly o: FakeRisingWaveOptions) {}

  /** Listens on 127.0.0.1, any free port. */
  static async start(o: FakeRisingWaveOptions): Promise<FakeRisingWaveServer> {
    const fake = new FakeRisingWaveServer(o);
    const server = net.createServer((socket) => fake.accept(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    fake.server = server;
    fake.port = (server.address() as net.AddressInfo).port;
    return fake;
  }

  /** A postgres:// URL of this frontend. */
  url(database = 'dev'): string {
    return `postgres://root@127.0.0.1:${this.port}/${database}`;
  }

  /** Sessions open now. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  async close(): Promise<void> {
    for (const s of this.sessions.values()) s.socket.destroy();
    await Promise.all([...this.sessions.values()].map((s) => s.pg?.end().catch(() => undefined)));
    const server = this.server;
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
  }

  private get version(): string {
    return this.o.version ?? '3.0.3';
  }

  private accept(socket: net.Socket): void {
    const framer = new Framer(1 << 24);
    let session: FakeSession | undefined;
    let chain = Promise.resolve();
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (session !== undefined) {
        this.sessions.delete(session.pid);
        void session.pg?.end().catch(() => undefined);
      }
    });
    socket.on('data', (data) => {
      for (const frame of framer.push(data)) {
        chain = chain.then(async () => {
          if (frame.phase === 'initial') {
            const init = decodeInitial(frame.body);
            if (init.kind === 'cancel') return this.cancelRequest(init.pid, init.secret, socket);
            if (init.kind !== 'startup') return void socket.write(encode.sslAnswer(false));
            session = await this.startup(socket, init.params);
            return;
          }
          if (session !== undefined) await this.message(session, decodeFrontend(frame.type, frame.body));
        }).catch(() => {
          socket.destroy();
        });
      }
    });
  }

  private async startup(socket: net.Socket, params: Readonly<Record<string, string>>): Promise<FakeSession | undefined> {
    this.startups.push(params);
    let statementTimeoutMs = 0;
    try {
      // RisingWave 2.x does not read `options` at all (v2.8.5 pg_protocol.rs, process_startup_msg).
      const options = params['options'];
      if (options !== undefined && !this.version.startsWith('2.')) {
        for (const [key, value] of parseOptions(options)) {
          if (key !== 'statement_timeout') continue;
          const ms = parseStatementTimeout(value);
          if (ms === undefined) throw new Error(`Invalid value \`${value}\` for \`statement_timeout\``);
          statementTimeoutMs = ms;
        }
      }
    } catch (err) {
      // Startup errors are FATAL with the compact message (pg_protocol.rs, StartupError: pretty = false).
      socket.end(rwError('FATAL', 'XX000', `Failed to start a new session: ${(err as Error).message}`));
      return undefined;
    }
    const pid = this.nextPid++;
    const client = new pg.Client({ connectionString: this.o.pgUrl, types: rawText });
    client.on('error', () => undefined);
    await client.connect();
    if (statementTimeoutMs > 0) await client.query(`SET statement_timeout = ${statementTimeoutMs}`);
    const session: FakeSession = {
      pid, user: params['user'] ?? 'root', database: params['database'] ?? 'dev',
      host: `${socket.remoteAddress?.replace(/^::ffff:/, '')}:${socket.remotePort}`, socket, pg: client,
      running: undefined, startedAt: 0, statementTimeoutMs,
    };
    this.sessions.set(pid, session);
    socket.write(Buffer.concat([
      encode.authOk(), encode.backendKeyData(pid, pid),
      encode.parameterStatus('server_version', '13.14.0'), encode.parameterStatus('client_encoding', 'UTF8'),
      encode.parameterStatus('standard_conforming_strings', 'on'), encode.parameterStatus('TimeZone', 'UTC'),
      encode.readyForQuery('I'),
    ]));
    return session;
  }

  private portal: Map<FakeSession, { sql: string; params: Array<string | null>; result?: pg.QueryArrayResult; failed?: boolean }> = new Map();

  private async message(s: FakeSession, m: FrontendMessage): Promise<void> {
    const portal = this.portal.get(s);
    switch (m.type) {
      case 'Query': {
        this.statements.push({ pid: s.pid, sql: m.sql });
        try {
          const res = await this.run(s, m.sql, []);
          s.socket.write(Buffer.concat([...(res.fields.length > 0 ? [description(res)] : []), ...rowsAndTag(res), encode.readyForQuery('I')]));
        } catch (err) {
          s.socket.write(Buffer.concat([rwErrorFrom(err, 'run', s.statementTimeoutMs), encode.readyForQuery('I')]));
        }
        return;
      }
      case 'Parse':
        if (portal?.failed === true) return;
        this.statements.push({ pid: s.pid, sql: m.sql });
        this.portal.set(s, { sql: m.sql, params: [] });
        return void s.socket.write(encode.parseComplete());
      case 'Bind':
        if (portal === undefined || portal.failed === true) return;
        portal.params = m.params.map((p) => (p === null ? null : p.toString('utf8')));
        return void s.socket.write(encode.bindComplete());
      case 'Describe':
      case 'Execute': {
        if (portal === undefined || portal.failed === true) return;
        try {
          portal.result ??= await this.run(s, portal.sql, portal.params);
          s.socket.write(m.type === 'Describe' ? description(portal.result) : Buffer.concat(rowsAndTag(portal.result)));
        } catch (err) {
          portal.failed = true;
          s.socket.write(rwErrorFrom(err, extendedFrame(err), s.statementTimeoutMs));
        }
        return;
      }
      case 'Sync':
        this.portal.delete(s);
        return void s.socket.write(encode.readyForQuery('I'));
      case 'Terminate':
        return void s.socket.end();
      default:
        return void s.socket.write(rwError('ERROR', 'XX000', `Failed to run the query\n\nCaused by:\n  the fake RisingWave does not handle ${m.type}`));
    }
  }

  /** One statement: RisingWave's own ones here, everything else on PostgreSQL. */
  private async run(s: FakeSession, sql: string, params: ReadonlyArray<string | null>): Promise<pg.QueryArrayResult> {
    const text = reprinted(sql);
    s.running = text;
    s.startedAt = Date.now();
    try {
      if (/^FLUSH$/i.test(text)) {
        await this.onFlush();
        this.flushes++;
        return commandOnly('FLUSH');
      }
      if (/^SHOW PROCESSLIST$/i.test(text)) return this.processList();
      const kill = /^KILL\s+'([^']*)'$/i.exec(text);
      if (kill !== null) return this.kill(kill[1]!, text);
      const pgSql = this.hold?.test(sql) === true ? 'SELECT pg_catalog.pg_sleep(600)'
        : sql.replace(/(?:pg_catalog\.)?version\(\)/gi, `'PostgreSQL 13.14.0-RisingWave-${this.version} (fake)'::text`);
      return await s.pg!.query({ text: pgSql, values: [...params], rowMode: 'array' });
    } finally {
      s.running = undefined;
    }
  }

  private processList(): pg.QueryArrayResult {
    const worker = String(this.o.workerId ?? 1);
    const rows = [...this.sessions.values()].map((x) => [worker, `${worker}:${x.pid}`, x.user, x.host, x.database,
      x.running === undefined ? null : `${Date.now() - x.startedAt}ms`, x.running ?? null]);
    const names = ['Worker Id', 'Id', 'User', 'Host', 'Database', 'Time', 'Info'];
    return { command: 'SHOW', rowCount: rows.length, oid: 0, rows,
      fields: names.map((name) => ({ name, tableID: 0, columnID: 0, dataTypeID: 1043, dataTypeSize: -1, dataTypeModifier: -1, format: 'text' })) };
  }

  private async kill(id: string, text: string): Promise<pg.QueryArrayResult> {
    this.kills.push(text);
    const m = /^(\d+):(-?\d+)$/.exec(id);
    if (m === null) throw rwFailure('Invalid Parameter Value: invalid WorkerProcessId');
    if (Number(m[1]) !== (this.o.workerId ?? 1)) throw rwFailure(`Invalid Parameter Value: worker ${m[1]} not found`);
    const target = this.sessions.get(Number(m[2]));
    if (target === undefined) throw rwFailure('Session not found');
    await this.cancelPg(target);
    return commandOnly('KILL');
  }

  private async cancelRequest(pid: number, secret: number, socket: net.Socket): Promise<void> {
    const target = this.sessions.get(pid);
    if (target !== undefined && pid === secret) await this.cancelPg(target);
    socket.end();
  }

  private async cancelPg(target: FakeSession): Promise<void> {
    const pgPid = (target.pg as unknown as { processID?: number } | undefined)?.processID;
    if (target.running === undefined || pgPid === undefined) return;
    const admin = new pg.Client({ connectionString: this.o.pgUrl });
    await admin.connect();
    try {
      await admin.query('SELECT pg_cancel_backend($1)', [pgPid]);
    } finally {
      await admin.end();
    }
  }
}

/** An error RisingWave raises itself (not from PostgreSQL), simple-query framed. */
function rwFailure(cause: string): Error & { rw: true } {
  return Object.assign(new Error(cause), { rw: true as const });
}

function commandOnly(command: string): pg.QueryArrayResult {
  return { command, rowCount: 0, oid: 0, rows: [], fields: [] };
}

/** Extended protocol: binding errors surface at Parse in RisingWave, the rest at Execute (extended_handle.rs). */
function extendedFrame(err: unknown): RwFrame {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(42P01|42703|42601|42883)$/.test(code) ? 'prepare' : 'execute';
}

/** RowDescription, or NoData for a command without rows. */
function description(res: pg.QueryArrayResult): Buffer {
  return res.fields.length === 0 ? encode.noData()
    : encode.rowDescription(res.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID, typeSize: f.dataTypeSize, format: 0 })));
}

/** DataRows and CommandComplete of a result. */
function rowsAndTag(res: pg.QueryArrayResult): Buffer[] {
  const out = res.rows.map((row) => encode.dataRow(row.map((v) => (v === null ? null : Buffer.from(String(v), 'utf8')))));
  out.push(encode.commandComplete(res.command === 'SELECT' || res.command === 'SHOW' ? `${res.command} ${res.rowCount ?? res.rows.length}` : res.command));
  return out;
}
