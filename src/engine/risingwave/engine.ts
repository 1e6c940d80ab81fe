import type pg from 'pg';
import { wholeOption } from '../../config/env';
import { GatewayError, GatewayErrorCode } from '../../errors';
import type { Logger } from '../../log';
import type { ChangeFeed, Engine, QueryOptions } from '../types';
import { createPool, isStatementTimeout, isTransient, queryCancellable, redactUrl, sqlState } from './pg';

/** Options for {@link RisingWaveEngine.create}. */
export interface RisingWaveEngineOptions {
  /** postgres:// URL of the RisingWave frontend (`WAVEGATE_DATABASE_URL`). */
  databaseUrl: string;
  /** The change feed (the Kafka feed in production; {@link IdleFeed} for read-only use and tests). */
  feed: ChangeFeed;
  log: Logger;
  /** Server-side statement timeout, in milliseconds (startup `options`, §2.4). @default 5_000 */
  statementTimeoutMs?: number;
  /** Pool size: most connections open at once. @default 10 */
  maxConnections?: number;
  /** Give up opening a connection after this many milliseconds. @default 3_000 */
  connectTimeoutMs?: number;
  /** Close pooled connections idle this long, in milliseconds. @default 30_000 */
  idleTimeoutMs?: number;
  /** Interval of the `SELECT 1` readiness probe, in milliseconds. @default 2_000 */
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
 * will likely time out again), anything else (bad SQL) is a masked internal error. Readiness follows
 * a periodic `SELECT 1`: it turns false when the probe fails and true again when it succeeds, with
 * the same pool. Changes come from the injected feed.
 */
export class RisingWaveEngine implements Engine {
  readonly kind = 'risingwave' as const;
  private healthy = false;
  private closed = false;
  private probing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly statementTimeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly probeTimeoutMs: number;

  private constructor(private readonly pool: pg.Pool, readonly feed: ChangeFeed, private readonly log: Logger, o: RisingWaveEngineOptions) {
    this.statementTimeoutMs = o.statementTimeoutMs ?? 5_000;
    this.retries = o.retries ?? 2;
    this.retryDelayMs = o.retryDelayMs ?? 50;
    this.probeTimeoutMs = (o.connectTimeoutMs ?? 3_000) + 1_000;
  }

  /**
   * Creates the pool, runs the first probe (an unreachable engine is not an error here: ready()
   * stays false until it answers) and starts the periodic probe.
   */
  static async create(o: RisingWaveEngineOptions): Promise<RisingWaveEngine> {
    const interval = wholeOption('healthIntervalMs', o.healthIntervalMs, 2_000, 10);
    wholeOption('retries', o.retries, 2);
    wholeOption('retryDelayMs', o.retryDelayMs, 50);
    wholeOption('statementTimeoutMs', o.statementTimeoutMs, 5_000);
    const log = o.log.child('engine.risingwave');
    const pool = createPool({
      url: o.databaseUrl,
      statementTimeoutMs: o.statementTimeoutMs ?? 5_000,
      max: wholeOption('maxConnections', o.maxConnections, 10, 1),
      connectTimeoutMs: wholeOption('connectTimeoutMs', o.connectTimeoutMs, 3_000, 1),
      idleTimeoutMs: wholeOption('idleTimeoutMs', o.idleTimeoutMs, 30_000, 1),
    });
    // An idle pooled connection that breaks (server restart, network cut) is dropped by the pool;
    // without a listener the 'error' event would crash the process.
    pool.on('error', (err) => log.debug({ err: err.message }, 'idle connection closed'));
    const engine = new RisingWaveEngine(pool, o.feed, log, o);
    await engine.probe();
    engine.timer = setInterval(() => void engine.probe(), interval);
    engine.timer.unref();
    log.info({ url: redactUrl(o.databaseUrl), ready: engine.healthy }, 'risingwave engine started');
    return engine;
  }

  /**
   * With a signal, the statement runs on a connection of its own so that an abort can cancel it on
   * the server (pg.ts queryCancellable): the client gets the signal's reason (REQUEST_TIMEOUT) and
   * RisingWave stops working on it, instead of running on after nobody waits for it.
   */
  async query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<R[]> {
    if (this.closed) {
      throw new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, 'The engine is shut down', { retriable: true });
    }
    const { signal } = options;
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      try {
        const rows = signal === undefined
          ? (await this.pool.query(sql, params as unknown[])).rows as R[]
          : await queryCancellable<R>(this.pool, sql, params, signal);
        this.setHealthy(true, undefined);
        return rows;
      } catch (err) {
        signal?.throwIfAborted();
        if (isStatementTimeout(err)) {
          throw new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE,
            `The query was cancelled after the ${this.statementTimeoutMs} ms statement timeout`,
            { retriable: false, cause: err, details: { reason: 'timeout', timeoutMs: this.statementTimeoutMs } });
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
        this.log.error({ sqlState: sqlState(err), err: err instanceof Error ? err.message : String(err) }, 'engine query failed');
        throw new GatewayError(GatewayErrorCode.INTERNAL_SERVER_ERROR, 'The engine failed to run a query', { safe: false, cause: err });
      }
    }
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

  private async runProbe(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.pool.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`probe timed out after ${this.probeTimeoutMs} ms`)), this.probeTimeoutMs);
        }),
      ]);
      this.setHealthy(true, undefined);
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

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    const feed = this.feed as ChangeFeed & { close?: () => unknown };
    await Promise.resolve(feed.close?.()).catch(() => undefined);
    await this.probing?.catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}
