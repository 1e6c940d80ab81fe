import type pg from 'pg';
import { wholeOption } from '../../config/env';
import { errors, GatewayError, GatewayErrorCode, isGatewayError } from '../../errors';
import type { Logger } from '../../log';
import { bundledRegistry } from '../../views/load';
import type { Registry } from '../../views/model';
import { catalogMismatchError, catalogProblems } from '../catalogCheck';
import type { ChangeFeed, Engine, QueryOptions, RunningStatement, Snapshot } from '../types';
import { asPostgresError, stopReason } from './errors';
import { FlushBatches } from './flush';
import { connectClient, createPool, isTransient, redactUrl, sqlState, type PoolOptions } from './pg';
import { parseServerVersion, unsupportedServer, type ServerInfo } from './server';
import { backendPid, cancelStatement, identifyRisingWaveSession, type Backend } from './sessions';

/** Options for {@link RisingWaveEngine.create}. */
export interface RisingWaveEngineOptions {
  /** postgres:// URL of the RisingWave frontend (`WAVEGATE_DATABASE_URL`). */
  databaseUrl: string;
  /** The change feed (the Kafka feed in production; {@link IdleFeed} for read-only use and tests). */
  feed: ChangeFeed;
  log: Logger;
  /** The views served (`config.views`). @default bundledRegistry() */
  views?: Registry;
  /**
   * Compare the views' columns in the engine's catalog with the declarations when the engine first
   * answers: columns that differ are BAD_CONFIG, missing views are logged (run `wavegate migrate apply`).
   * `wavegate serve` turns it on. @default false
   */
  checkCatalog?: boolean;
  /** Server-side statement timeout, in milliseconds (sent in the startup `options`, see pg.ts). @default 5_000 */
  statementTimeoutMs?: number;
  /** Longest wait for the FLUSH of a snapshot read, in milliseconds (statement_timeout does not bound FLUSH). @default 10_000 */
  flushTimeoutMs?: number;
  /** Pool size: most connections open at once. @default 10 */
  maxConnections?: number;
  /** Give up opening a connection after this many milliseconds. @default 3_000 */
  connectTimeoutMs?: number;
  /** Close pooled connections idle this long, in milliseconds. @default 30_000 */
  idleTimeoutMs?: number;
  /** Interval of the `SELECT version()` readiness probe, in milliseconds. @default 2_000 */
  healthIntervalMs?: number;
  /** Retries of a read that failed on a transient connection error. @default 2 */
  retries?: number;
  /** First retry delay, in milliseconds; doubles per retry. @default 50 */
  retryDelayMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The RisingWave engine's read path: a `pg` pool on the RisingWave frontend. Reads retry only on
 * transient connection errors; an unreachable engine is ENGINE_UNAVAILABLE (retriable), a statement
 * timeout is ENGINE_UNAVAILABLE with `details.reason = 'timeout'` (not retriable: the same query
 * will likely time out again), anything else (bad SQL) is a masked internal error whose cause is the
 * error in PostgreSQL's terms (errors.ts). Readiness follows a periodic `SELECT version()`, which
 * also identifies the server: RisingWave before 3.0 is refused (server.ts). `snapshot` FLUSHes
 * before reading (docs/SUBSCRIPTIONS.md §3); `start` runs a statement that `KILL` can stop.
 */
export class RisingWaveEngine implements Engine {
  readonly kind = 'risingwave' as const;
  private healthy = false;
  private closed = false;
  private probing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private server: ServerInfo | undefined;
  /** Why this server cannot be used (an unsupported version), once the probe saw it. */
  private refusal: string | undefined;
  private readonly backends = new WeakMap<pg.PoolClient, Backend>();
  private readonly flushes = new FlushBatches();
  private lastGroup = 0;
  private readonly statementTimeoutMs: number;
  private readonly flushTimeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly probeTimeoutMs: number;
  readonly views: Registry;

  private constructor(private readonly pool: pg.Pool, private readonly poolOptions: PoolOptions, readonly feed: ChangeFeed,
    private readonly log: Logger, o: RisingWaveEngineOptions) {
    this.statementTimeoutMs = o.statementTimeoutMs ?? 5_000;
    this.flushTimeoutMs = o.flushTimeoutMs ?? 10_000;
    this.retries = o.retries ?? 2;
    this.retryDelayMs = o.retryDelayMs ?? 50;
    this.probeTimeoutMs = (o.connectTimeoutMs ?? 3_000) + 1_000;
    this.views = o.views ?? bundledRegistry();
  }

  /**
   * Creates the pool, runs the first probe and starts the periodic probe. An unreachable engine is
   * not an error here (ready() stays false until it answers); a server that answers with an
   * unsupported RisingWave version is BAD_CONFIG.
   */
  static async create(o: RisingWaveEngineOptions): Promise<RisingWaveEngine> {
    const interval = wholeOption('healthIntervalMs', o.healthIntervalMs, 2_000, 10);
    wholeOption('retries', o.retries, 2);
    wholeOption('retryDelayMs', o.retryDelayMs, 50);
    wholeOption('flushTimeoutMs', o.flushTimeoutMs, 10_000, 1);
    const log = o.log.child('engine.risingwave');
    const poolOptions: PoolOptions = {
      url: o.databaseUrl,
      statementTimeoutMs: wholeOption('statementTimeoutMs', o.statementTimeoutMs, 5_000),
      connectTimeoutMs: wholeOption('connectTimeoutMs', o.connectTimeoutMs, 3_000, 1),
      idleTimeoutMs: wholeOption('idleTimeoutMs', o.idleTimeoutMs, 30_000, 1),
    };
    const pool = createPool({ ...poolOptions, max: wholeOption('maxConnections', o.maxConnections, 10, 1) });
    // An idle pooled connection that breaks (server restart, network cut) is dropped by the pool;
    // without a listener the 'error' event would crash the process.
    pool.on('error', (err) => log.debug({ err: err.message }, 'idle connection closed'));
    const engine = new RisingWaveEngine(pool, poolOptions, o.feed, log, o);
    await engine.probe();
    if (engine.refusal !== undefined) {
      await engine.close();
      throw errors.badConfig(`${engine.refusal} (WAVEGATE_DATABASE_URL=${redactUrl(o.databaseUrl)})`);
    }
    if (o.checkCatalog === true && engine.healthy) {
      try {
        await engine.checkCatalog();
      } catch (err) {
        await engine.close();
        throw err;
      }
    }
    engine.timer = setInterval(() => void engine.probe(), interval);
    engine.timer.unref();
    log.info({ url: redactUrl(o.databaseUrl), ready: engine.healthy, server: engine.server?.version }, 'risingwave engine started');
    return engine;
  }

  /**
   * With a signal, the statement runs as {@link start} runs it, so an abort stops it on the engine
   * (KILL on RisingWave, pg_cancel_backend on PostgreSQL): the caller gets the signal's reason (the
   * request's REQUEST_TIMEOUT) and the engine stops working on a statement nobody waits for.
   */
  async query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<R[]> {
    const { signal } = options;
    if (signal === undefined) return this.attempt(async () => (await this.pool.query(sql, params as unknown[])).rows as R[]);
    signal.throwIfAborted();
    const running = this.start<R>(sql, params);
    const onAbort = () => void running.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await running.rows;
    } catch (err) {
      signal.throwIfAborted();
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  start<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): RunningStatement<R> {
    let running: Backend | undefined;
    let stopped = false;
    const rows = this.attempt(() => this.withClient(async (client) => {
      const backend = await this.backendOf(client);
      if (stopped) throw new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, 'The statement was cancelled before it started', { details: { reason: 'cancelled' } });
      running = backend;
      try {
        return (await client.query(sql, params as unknown[])).rows as R[];
      } finally {
        running = undefined;
      }
    }));
    // A caller that cancels may stop listening: the rejection that follows is expected.
    rows.catch(() => undefined);
    return {
      rows,
      cancel: async () => {
        stopped = true;
        if (running !== undefined) await this.cancelOnEngine(running);
      },
    };
  }

  async snapshot<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<Snapshot<R>> {
    // Everything the feed delivered so far passed RisingWave's views before the FLUSH below is requested,
    // so it belongs to an epoch that FLUSH commits before it returns (docs/SUBSCRIPTIONS.md §3).
    const cursor = this.feed.head();
    const rows = await this.attempt(async () => {
      if ((await this.serverInfo()).kind !== 'risingwave') return (await this.pool.query(sql, params as unknown[])).rows as R[];
      return this.withClient(async (client, broken) => {
        const backend = await this.backendOf(client);
        // A FLUSH covers reads on its own frontend only: share it per frontend worker.
        const group = backend?.worker !== undefined ? `worker:${backend.worker}` : `connection:${++this.lastGroup}`;
        await this.flushes.wait(group, () => this.flushOn(client, broken));
        return (await client.query(sql, params as unknown[])).rows as R[];
      });
    });
    return { cursor, rows };
  }

  ready(): boolean {
    return !this.closed && this.healthy;
  }

  /** Runs one readiness probe now (the timer runs it every `healthIntervalMs`). Concurrent calls share one. */
  probe(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.probing ??= this.runProbe().finally(() => (this.probing = undefined));
    return this.probing;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    const feed = this.feed as ChangeFeed & { close?: () => unknown };
    await Promise.resolve(feed.close?.()).catch(() => undefined);
    await this.probing?.catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }

  /** Retries transient failures of `op`, and maps what fails to a GatewayError. */
  private async attempt<T>(op: () => Promise<T>): Promise<T> {
    if (this.closed) throw new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, 'The engine is shut down', { retriable: true });
    if (this.refusal !== undefined) {
      throw new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, this.refusal, { retriable: false, details: { reason: 'unsupported_server' } });
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await op();
        this.setHealthy(true, undefined);
        return out;
      } catch (err) {
        if (isGatewayError(err)) throw err;
        const stop = stopReason(err);
        if (stop === 'timeout') {
          throw new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE,
            `The query was cancelled after the ${this.statementTimeoutMs} ms statement timeout`,
            { retriable: false, cause: err, details: { reason: 'timeout', timeoutMs: this.statementTimeoutMs } });
        }
        if (stop === 'cancelled') {
          throw new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, 'The query was cancelled on the engine; retry',
            { retriable: true, cause: err, details: { reason: 'cancelled' } });
        }
        if (isTransient(err)) {
          if (attempt < this.retries && !this.closed) {
            await sleep(this.retryDelayMs * 2 ** attempt);
            continue;
          }
          this.setHealthy(false, err);
          throw new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, 'The engine is unreachable; retry later',
            { retriable: true, cause: err, details: { reason: 'unreachable' } });
        }
        const pgError = asPostgresError(err);
        this.log.error({ sqlState: sqlState(pgError), engineSqlState: sqlState(err), err: err instanceof Error ? err.message : String(err) }, 'engine query failed');
        throw new GatewayError(GatewayErrorCode.INTERNAL_SERVER_ERROR, 'The engine failed to run a query', { safe: false, cause: pgError });
      }
    }
  }

  /** Runs `fn` on a checked-out connection; a connection `fn` marks broken (or that failed) is discarded. */
  private async withClient<T>(fn: (client: pg.PoolClient, broken: (err: Error) => void) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let discard: Error | undefined;
    try {
      return await fn(client, (err) => (discard = err));
    } catch (err) {
      if (isTransient(err)) discard ??= err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      client.release(discard);
    }
  }

  /** FLUSH on `client`, bounded by flushTimeoutMs; a FLUSH still pending leaves the connection unusable. */
  private async flushOn(client: pg.PoolClient, broken: (err: Error) => void): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const flush = client.query('FLUSH');
    flush.catch(() => undefined);
    try {
      await Promise.race([flush, new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const err = new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, `RisingWave did not complete a FLUSH within ${this.flushTimeoutMs} ms; retry`,
            { retriable: true, details: { reason: 'flush_timeout', timeoutMs: this.flushTimeoutMs } });
          broken(err);
          reject(err);
        }, this.flushTimeoutMs);
      })]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Compares the views' columns in the catalog with the declarations (see {@link RisingWaveEngineOptions.checkCatalog}). */
  private async checkCatalog(): Promise<void> {
    const problems = await catalogProblems(async (sql, params) => (await this.pool.query(sql, params as unknown[])).rows, this.views);
    const mismatch = catalogMismatchError(problems, this.views, ', then recreate the view with `wavegate migrate apply`.');
    if (mismatch !== undefined) throw mismatch;
    if (problems.missing.length > 0) {
      this.log.error({ views: problems.missing }, `views missing in the engine: run \`wavegate migrate apply\` (reads of ${problems.missing.join(', ')} fail until then)`);
    }
  }

  private async serverInfo(): Promise<ServerInfo> {
    if (this.server === undefined) {
      const { rows: [row] } = await this.pool.query<{ v: string }>('SELECT version() AS v');
      this.learnServer(String(row?.v ?? ''));
    }
    return this.server!;
  }

  private learnServer(versionText: string): void {
    this.server = parseServerVersion(versionText);
    const refusal = unsupportedServer(this.server);
    if (refusal !== undefined && this.refusal === undefined) this.log.error({ server: this.server.version }, refusal);
    this.refusal = refusal;
  }

  /** The session behind a pooled connection, learnt once per connection. */
  private async backendOf(client: pg.PoolClient): Promise<Backend | undefined> {
    const known = this.backends.get(client);
    if (known !== undefined) return known;
    const pid = backendPid(client);
    if (pid === undefined) return undefined;
    let backend: Backend = { pid, worker: undefined };
    if ((await this.serverInfo()).kind === 'risingwave') {
      try {
        backend = (await identifyRisingWaveSession(client)) ?? backend;
      } catch (err) {
        if (isTransient(err)) throw err;
        this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not identify the session (SHOW PROCESSLIST)');
      }
    }
    this.backends.set(client, backend);
    return backend;
  }

  /** Stops `backend`'s running statement, over a connection of its own (the pool may be full of slow statements). */
  private async cancelOnEngine(backend: Backend): Promise<void> {
    const server = this.server;
    const stmt = server === undefined ? undefined : cancelStatement(server.kind, backend);
    if (stmt === undefined) {
      this.log.warn({ pid: backend.pid }, 'cannot cancel the statement on the engine: its frontend worker is unknown; the statement timeout will stop it');
      return;
    }
    try {
      const client = await connectClient({ ...this.poolOptions, applicationName: 'wavegate-cancel' });
      try {
        await client.query(stmt.sql, stmt.params);
      } finally {
        await client.close();
      }
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err), statement: stmt.sql }, 'could not cancel the statement on the engine');
    }
  }

  private async runProbe(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const res = await Promise.race([
        this.pool.query<{ v: string }>('SELECT version() AS v'),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`probe timed out after ${this.probeTimeoutMs} ms`)), this.probeTimeoutMs);
        }),
      ]);
      this.learnServer(String(res.rows[0]?.v ?? ''));
      this.setHealthy(this.refusal === undefined, this.refusal);
    } catch (err) {
      this.setHealthy(false, err);
    } finally {
      clearTimeout(timer);
    }
  }

  private setHealthy(healthy: boolean, err: unknown): void {
    if (this.closed || healthy === this.healthy) return;
    this.healthy = healthy;
    if (healthy) this.log.info({}, 'engine reachable: ready');
    else this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'engine unreachable: not ready');
  }
}
