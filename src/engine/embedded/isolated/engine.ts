import type { Worker } from 'node:worker_threads';
import type { Registry } from '../../../views/model';
import { GatewayError, GatewayErrorCode } from '../../../errors';
import type { Logger } from '../../../log';
import type { ChangeFeed, Engine, QueryOptions, RunningStatement } from '../../types';
import { CopySource } from './copy';
import type { CopyRows, FromWorker, ToWorker, WorkerError } from './protocol';
import { spawnPassthroughWorker } from './spawn';

/**
 * The SQL passthrough's engine on the embedded engine: statements run in a worker thread
 * (worker.ts) on its own PGlite holding a read copy of the published views, never on the engine's
 * PGlite in the main thread. PGlite cannot interrupt a statement and ignores statement_timeout, so
 * this is where one is stopped: the worker is terminated (which frees its heap and its WASM memory)
 * and a fresh one loads a new copy, while GraphQL, subscriptions and the simulator keep running on
 * the main thread.
 *
 * - One statement runs at a time (one PGlite); the others wait in order. Every statement (the
 *   passthrough's cost probe, type probes and reads alike) has a hard deadline from the moment it
 *   is queued (`statementTimeoutMs`): queued past it, it is dropped; running past it, the worker is
 *   terminated. `start().cancel()` and `options.signal` stop one sooner (the session's own timeout,
 *   CancelRequest).
 * - Memory: the worker's JS heap is capped (`heapMb`, resourceLimits; a worker over it dies with
 *   ERR_WORKER_OUT_OF_MEMORY), results over `maxResultBytes` are refused in the worker (54000), and
 *   while a statement runs the process's RSS is sampled: growing by more than `memoryMb` terminates
 *   the worker (53200). PGlite's WASM memory is not part of the V8 heap, so the RSS watch is what
 *   bounds it.
 * - Freshness: the copy follows the engine's change log (copy.ts); a statement sees every change
 *   logged before the batch that preceded it was applied (docs/SQL.md, "Limits, timeouts, cancel, types": the worker).
 */

/** Options for {@link IsolatedEngine}. */
export interface IsolatedEngineOptions {
  /** The embedded engine whose views are copied (its reads and change feed). */
  readonly source: Engine;
  readonly log: Logger;
  /** Longest any statement may take from being queued, in ms (`WAVEGATE_SQL_STATEMENT_TIMEOUT_MS`). */
  readonly statementTimeoutMs: number;
  /** The worker's V8 old-generation heap, in MiB (`WAVEGATE_SQL_EMBEDDED_WORKER_HEAP_MB`). @default 256 */
  readonly heapMb?: number;
  /** Growth of the process RSS a running statement may cause, in MiB (`WAVEGATE_SQL_EMBEDDED_WORKER_MEMORY_MB`). @default 512 */
  readonly memoryMb?: number;
  /** Largest result the worker hands back, in bytes (`WAVEGATE_SQL_EMBEDDED_MAX_RESULT_MB`). @default 32 MiB */
  readonly maxResultBytes?: number;
  /** How often the RSS is sampled while a statement runs, in ms. @default 50 */
  readonly memoryCheckMs?: number;
  /** Rows per page of the copy's initial load. @default 1000 */
  readonly loadPageRows?: number;
}

/** An error the worker's PGlite reported, with its SQLSTATE (the passthrough passes safe classes on). */
export class WorkerSqlError extends Error {
  readonly code: string | undefined;
  readonly position: string | undefined;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  constructor(e: WorkerError) {
    super(e.message);
    this.name = 'WorkerSqlError';
    this.code = e.code;
    this.position = e.position;
    this.detail = e.detail;
    this.hint = e.hint;
  }
}

/** Counters for tests and /metrics-like introspection. */
export interface IsolatedEngineStats {
  /** Workers started so far (1 after the first load). */
  readonly workersStarted: number;
  /** Workers terminated because a statement ran too long, was cancelled, or used too much memory. */
  readonly workersStopped: number;
  /** The current worker is loaded and serving. */
  readonly serving: boolean;
  /** The highest process RSS (bytes) the memory watch has read while statements ran (0 before any reading). */
  readonly peakRss: number;
  /** A statement is running in the worker now. */
  readonly running: boolean;
  /** Statements waiting for the worker. */
  readonly queued: number;
  /** Change batches posted to the worker and not yet applied (at most one is in flight). */
  readonly applying: number;
}

interface Job {
  readonly id: number;
  readonly sql: string;
  readonly params: readonly unknown[];
  resolve(rows: Array<Record<string, unknown>>): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout | undefined;
  settled: boolean;
}

type WorkerPhase =
  | { readonly phase: 'loading'; readonly worker: Worker }
  | { readonly phase: 'serving'; readonly worker: Worker }
  | { readonly phase: 'down' };

const timeoutError = (): GatewayError =>
  new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, 'canceling statement due to statement timeout', { retriable: true, details: { reason: 'timeout' } });
const cancelledError = (): GatewayError =>
  new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, 'canceling statement due to user request', { retriable: true, details: { reason: 'cancelled' } });
const memoryError = (what: string): WorkerSqlError =>
  new WorkerSqlError({ code: '53200', message: 'out of memory', detail: what });

export class IsolatedEngine implements Engine {
  readonly kind = 'embedded' as const;
  /** The source engine's views: the copy holds exactly these. */
  readonly views: Registry;
  private readonly log: Logger;
  private readonly source: CopySource;
  private readonly queue: Job[] = [];
  private running: { job: Job; watch: NodeJS.Timeout; rssAtStart: number } | undefined;
  /** See {@link IsolatedEngineStats.peakRss}. */
  private peakRss = 0;
  private state: WorkerPhase = { phase: 'down' };
  private applyWaiters: Array<() => void> = [];
  private readyWaiter: (() => void) | undefined;
  private cursor = 0;
  private tailing: Promise<void> | undefined;
  private tailAgain = false;
  private nextId = 1;
  private closed = false;
  private started = 0;
  private stopped = 0;
  /** Workers in a row that failed before serving (restart backoff). */
  private failedLoads = 0;
  private readonly unsubscribe: () => void;
  private readonly heapMb: number;
  private readonly memoryMb: number;
  private readonly maxResultBytes: number;

  constructor(private readonly o: IsolatedEngineOptions) {
    this.views = o.source.views;
    this.log = o.log.child('passthrough.worker');
    this.source = new CopySource(o.source, o.loadPageRows);
    this.heapMb = o.heapMb ?? 256;
    this.memoryMb = o.memoryMb ?? 512;
    this.maxResultBytes = o.maxResultBytes ?? 32 * 1024 * 1024;
    // Every delivered batch of the engine's feed rings the bell: read the log's new rows for the copy.
    this.unsubscribe = o.source.feed.subscribe(() => this.tail());
    this.spawn();
  }

  get feed(): ChangeFeed {
    return this.o.source.feed;
  }

  /** Resolves once a worker's copy is loaded and serving (statements queue until then anyway). */
  async whenServing(): Promise<void> {
    await this.until(() => this.state.phase === 'serving');
  }

  /** Resolves once the copy holds every change the engine had logged when this was called. */
  async caughtUp(): Promise<void> {
    const head = await this.source.head();
    this.tail();
    await this.until(() => this.state.phase === 'serving' && this.cursor >= head);
  }

  private async until(ok: () => boolean): Promise<void> {
    while (!ok()) {
      if (this.closed) throw new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, 'The engine is shut down', { retriable: true });
      await new Promise<void>((r) => setTimeout(r, 10));
    }
  }

  stats(): IsolatedEngineStats {
    return {
      workersStarted: this.started, workersStopped: this.stopped, serving: this.state.phase === 'serving', peakRss: this.peakRss,
      running: this.running !== undefined, queued: this.queue.length, applying: this.applyWaiters.length,
    };
  }

  query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<R[]> {
    const { rows, cancel } = this.enqueue(sql, params);
    const { signal } = options;
    if (signal !== undefined) {
      if (signal.aborted) cancel();
      else signal.addEventListener('abort', cancel, { once: true });
      rows.finally(() => signal.removeEventListener('abort', cancel)).catch(() => undefined);
    }
    return rows as Promise<R[]>;
  }

  start<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): RunningStatement<R> {
    const { rows, cancel } = this.enqueue(sql, params);
    return { rows: rows as Promise<R[]>, cancel: async () => cancel() };
  }

  ready(): boolean {
    return !this.closed && this.o.source.ready();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    const err = new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, 'The engine is shut down', { retriable: true });
    for (const job of this.queue.splice(0)) this.settle(job, err);
    if (this.running !== undefined) this.finishRunning(err);
    const worker = this.state.phase === 'down' ? undefined : this.state.worker;
    this.state = { phase: 'down' };
    // A catch-up or a load may wait for the worker's 'applied' or 'ready', which a terminated worker
    // never sends: release them (they see the worker is no longer current and stop).
    for (const w of this.applyWaiters.splice(0)) w();
    this.readyWaiter?.();
    await worker?.terminate();
    await this.tailing;
  }

  private enqueue(sql: string, params: readonly unknown[]): { rows: Promise<Array<Record<string, unknown>>>; cancel: () => void } {
    let job!: Job;
    const rows = new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
      job = { id: this.nextId++, sql, params: [...params], resolve, reject, timer: undefined, settled: false };
    });
    if (this.closed) {
      this.settle(job, new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, 'The engine is shut down', { retriable: true }));
      return { rows, cancel: () => undefined };
    }
    job.timer = setTimeout(() => this.stop(job, timeoutError(), 'statement timeout'), this.o.statementTimeoutMs);
    this.queue.push(job);
    this.pump();
    return { rows, cancel: () => this.stop(job, cancelledError(), 'cancelled') };
  }

  /** Stops `job`: dropped from the queue, or, when it runs, by terminating the worker. */
  private stop(job: Job, err: unknown, why: string): void {
    if (job.settled) return;
    const i = this.queue.indexOf(job);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.settle(job, err);
      return;
    }
    if (this.running?.job === job) this.restart(err, why);
  }

  private settle(job: Job, err: unknown, rows?: Array<Record<string, unknown>>): void {
    if (job.settled) return;
    job.settled = true;
    if (job.timer !== undefined) clearTimeout(job.timer);
    if (rows !== undefined) job.resolve(rows);
    else job.reject(err);
  }

  private finishRunning(err: unknown, rows?: Array<Record<string, unknown>>): void {
    const r = this.running;
    if (r === undefined) return;
    this.running = undefined;
    clearInterval(r.watch);
    this.settle(r.job, err, rows);
  }

  /**
   * Terminates the worker (failing its running statement with `err`) and starts a fresh one: at
   * once after a worker that served, after a growing pause (0.5 s doubling to 30 s) while workers
   * keep failing before they serve (a heap too small for PGlite itself, a broken copy), so a
   * persistent failure does not spin.
   */
  private restart(err: unknown, why: string): void {
    const worker = this.state.phase === 'down' ? undefined : this.state.worker;
    const failedLoading = this.state.phase === 'loading';
    this.state = { phase: 'down' };
    this.stopped++;
    this.failedLoads = failedLoading ? this.failedLoads + 1 : 0;
    if (failedLoading) this.log.error({ why, attempt: this.failedLoads }, 'the passthrough worker failed before it could serve');
    else this.log.warn({ why, queued: this.queue.length }, 'passthrough worker terminated; starting a fresh one');
    this.finishRunning(err);
    for (const w of this.applyWaiters.splice(0)) w();
    this.readyWaiter?.();
    if (worker !== undefined) {
      worker.removeAllListeners('message');
      worker.terminate().catch(() => undefined);
    }
    if (this.closed) return;
    if (this.failedLoads === 0) return this.spawn();
    setTimeout(() => {
      if (!this.closed && this.state.phase === 'down') this.spawn();
    }, Math.min(30_000, 500 * 2 ** (this.failedLoads - 1))).unref();
  }

  private spawn(): void {
    const worker = spawnPassthroughWorker({ maxOldGenerationSizeMb: this.heapMb, maxYoungGenerationSizeMb: Math.min(64, Math.max(8, this.heapMb / 8)) });
    this.started++;
    this.state = { phase: 'loading', worker };
    worker.on('message', (m: FromWorker) => this.onMessage(worker, m));
    worker.on('error', (err: Error & { code?: string }) => {
      if (this.current() !== worker) return;
      const oom = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.restart(oom ? memoryError(`the statement needed more than ${this.heapMb} MB of worker heap`) : unavailable(), oom ? 'worker heap exhausted' : `worker error: ${err.message}`);
    });
    worker.on('exit', () => {
      if (this.current() === worker) this.restart(unavailable(), 'worker exited');
    });
    this.load(worker).catch((err: unknown) => {
      if (this.current() !== worker || this.closed) return;
      this.restart(unavailable(), `loading the copy failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  private current(): Worker | undefined {
    return this.state.phase === 'down' ? undefined : this.state.worker;
  }

  private async load(worker: Worker): Promise<void> {
    const started = Date.now();
    const views = await this.source.views();
    const ready = new Promise<void>((r) => (this.readyWaiter = r));
    this.post(worker, { t: 'init', views });
    await ready;
    this.readyWaiter = undefined;
    if (this.current() !== worker) return;
    const head = await this.source.head();
    let rows = 0;
    for (const v of views) {
      for await (const page of this.source.pages(v)) {
        if (this.current() !== worker) return;
        await this.apply(worker, [page]);
        rows++;
      }
    }
    this.cursor = head;
    await this.catchUp(worker);
    if (this.current() !== worker) return;
    this.state = { phase: 'serving', worker };
    this.failedLoads = 0;
    this.log.info({ ms: Date.now() - started, pages: rows, cursor: this.cursor }, 'passthrough read copy loaded');
    this.pump();
  }

  /** Posts an apply and waits until the worker has applied it (so at most one page is in flight). */
  private apply(worker: Worker, batches: readonly CopyRows[]): Promise<void> {
    const done = new Promise<void>((r) => this.applyWaiters.push(r));
    this.post(worker, { t: 'apply', batches });
    return done;
  }

  /** Applies every logged change after the cursor. */
  private async catchUp(worker: Worker): Promise<void> {
    for (;;) {
      const next = await this.source.changesAfter(this.cursor);
      if (this.current() !== worker) return;
      if (next === 'gap') {
        this.restart(unavailable(), 'the change log was pruned past the read copy');
        return;
      }
      if (next.batches.length > 0) await this.apply(worker, next.batches);
      this.cursor = next.last;
      if (!next.more) return;
    }
  }

  /** The feed's doorbell: catch the serving copy up (coalesced). */
  private tail(): void {
    if (this.state.phase !== 'serving' || this.closed) return;
    if (this.tailing !== undefined) {
      this.tailAgain = true;
      return;
    }
    const worker = this.state.worker;
    this.tailing = this.catchUp(worker)
      .catch((err: unknown) => this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'updating the passthrough read copy failed'))
      .finally(() => {
        this.tailing = undefined;
        if (this.tailAgain) {
          this.tailAgain = false;
          this.tail();
        }
      });
  }

  private pump(): void {
    if (this.state.phase !== 'serving' || this.running !== undefined) return;
    const job = this.queue.shift();
    if (job === undefined) return;
    const worker = this.state.worker;
    const rssAtStart = process.memoryUsage.rss();
    const limit = this.memoryMb * 1024 * 1024;
    const watch = setInterval(() => {
      const rss = process.memoryUsage.rss();
      if (rss > this.peakRss) this.peakRss = rss;
      if (rss - rssAtStart > limit) {
        this.restart(memoryError(`the statement grew the process by more than ${this.memoryMb} MB`), 'memory budget exceeded');
      }
    }, this.o.memoryCheckMs ?? 50);
    this.running = { job, watch, rssAtStart };
    this.post(worker, { t: 'query', id: job.id, sql: job.sql, params: job.params, maxResultBytes: this.maxResultBytes });
  }

  private onMessage(worker: Worker, m: FromWorker): void {
    if (this.current() !== worker) return;
    switch (m.t) {
      case 'ready':
        this.readyWaiter?.();
        return;
      case 'applied':
        this.applyWaiters.shift()?.();
        return;
      case 'result':
      case 'error':
        if (this.running?.job.id !== m.id) return;
        if (m.t === 'result') this.finishRunning(undefined, m.rows as Array<Record<string, unknown>>);
        else this.finishRunning(new WorkerSqlError(m.error));
        this.pump();
        return;
      case 'broken':
        this.log.error({ err: m.error.message }, 'the passthrough read copy failed');
        this.restart(unavailable(), 'copy broken');
        return;
      default: {
        const never: never = m;
        throw new Error(`unexpected worker message ${JSON.stringify(never)}`);
      }
    }
  }

  private post(worker: Worker, msg: ToWorker): void {
    worker.postMessage(msg);
  }
}

function unavailable(): GatewayError {
  return new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, 'the passthrough worker restarted; retry', { retriable: true });
}
