import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite, types, type Transaction } from '@electric-sql/pglite';
import { pg_ivm } from '@electric-sql/pglite-pg_ivm';
import { GatewayError, GatewayErrorCode } from '../../errors';
import type { Logger } from '../../log';
import { projectRoot } from '../../paths';
import { bundledRegistry } from '../../views/load';
import type { Registry, ViewModel } from '../../views/model';
import { catalogMismatchError, catalogProblems } from '../catalogCheck';
import type { SqlExecutor } from '../../db/types';
import type { Engine, QueryOptions } from '../types';
import { embeddedViewDdl, WAVEGATE_SCHEMA } from './ddl';
import { EmbeddedFeed } from './feed';

/** Options for {@link EmbeddedEngine.create}. */
export interface EmbeddedEngineOptions {
  /** Directory to persist the database in; undefined = in memory. */
  dataDir?: string;
  /** Change-log rows kept for subscription resume. @default 100_000 */
  changeRetention?: number;
  /** The views to build and serve (`config.views`). @default bundledRegistry() */
  views?: Registry;
  log: Logger;
}

/** Raw text for timestamps and dates: normalizeRow turns them into canonical strings. */
const PARSERS = {
  [types.TIMESTAMPTZ]: (v: string) => v,
  [types.TIMESTAMP]: (v: string) => v,
  [types.DATE]: (v: string) => v,
};

function schemaHash(views: Registry): string {
  const h = createHash('sha256');
  h.update(readFileSync(join(projectRoot(), 'migrations/source/postgres/0001_create_outbox.sql')));
  for (const v of views.views) h.update(v.sql);
  h.update(WAVEGATE_SCHEMA);
  // The generated DDL too: a change to the triggers or the registry's key/indexed columns rebuilds.
  for (const v of views.views) {
    const ddl = embeddedViewDdl(v);
    h.update(ddl.createBase + ddl.createView + ddl.createIndexes(v.columns.map((c) => c.name)).join(';') + ddl.trigger(['x']));
  }
  return h.digest('hex').slice(0, 16);
}

/** What pg_ivm's refusal means for the view's SQL, and what to change. */
function ivmAdvice(message: string): string {
  const m = message.toLowerCase();
  const shape = 'write the query as `WITH base AS (SELECT <group columns>, <aggregates> FROM ... GROUP BY ...) SELECT <any expressions> FROM base`: '
    + 'the embedded engine maintains only `base` with pg_ivm and serves the projection as a plain view over it';
  if (m.includes('aggregate') && (m.includes('expression') || m.includes('nested'))) return `Compute expressions over aggregates in a projection: ${shape}.`;
  if (m.includes('outer join')) return 'pg_ivm maintains inner joins only: use inner joins (or a CASE inside an aggregate over an inner self-join).';
  if (m.includes('window function')) return 'Window functions cannot be maintained incrementally by pg_ivm: compute the value with GROUP BY aggregates instead.';
  if (/^(view|materialized view)( or materialized view)? is not supported/.test(m)) {
    return 'pg_ivm maintains views over tables only: read the outbox (or the tables the other view reads) directly instead of another view.';
  }
  return 'pg_ivm maintains inner joins, GROUP BY with count/sum/avg/min/max (CASE inside aggregates), simple CTEs and EXISTS; it rejects outer '
    + 'joins, window functions, DISTINCT ON, ORDER BY/LIMIT, HAVING, FILTER, count(DISTINCT), string_agg, bool_or, now(), UNION, NOT EXISTS '
    + `and aggregate subqueries in FROM. Move what it cannot maintain out of the aggregation: ${shape}.`;
}

/** BAD_CONFIG for a view the embedded engine could not build, with the engine's reason and what to change. */
function viewBuildError(views: Registry, view: ViewModel, step: 'base' | 'view', err: unknown): GatewayError {
  const e = err as { message?: unknown; detail?: unknown; hint?: unknown };
  const reason = [e.message ?? String(err), e.detail, e.hint].filter((x): x is string => typeof x === 'string' && x !== '').join('; ');
  const file = join(views.dir, `${view.name}.sql`);
  const what = step === 'base'
    ? `the embedded engine cannot maintain it with pg_ivm: ${reason}. ${ivmAdvice(reason)}`
    : `its projection over \`base\` fails on the embedded engine: ${reason}`;
  return new GatewayError(GatewayErrorCode.BAD_CONFIG,
    `View ${view.name} (${file}): ${what} (RisingWave, WAVEGATE_ENGINE=risingwave, runs the SQL as written.)`, { cause: err });
}

/**
 * The embedded engine: PGlite (Postgres 18 in WASM) in process, with the outbox table and the
 * same view SQL as RisingWave, maintained incrementally by pg_ivm in the writing transaction,
 * and a change feed read from a trigger-filled change log.
 */
export class EmbeddedEngine implements Engine {
  readonly kind = 'embedded' as const;
  private closed = false;
  private pruneTimer: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>) | undefined;

  private constructor(
    private readonly db: PGlite,
    readonly views: Registry,
    readonly feed: EmbeddedFeed,
    private readonly retention: number,
    private readonly log: Logger,
  ) {}

  /** Opens (or creates) the database, applies the outbox and views, and starts the feed. */
  static async create(options: EmbeddedEngineOptions): Promise<EmbeddedEngine> {
    const log = options.log.child('engine.embedded');
    const views = options.views ?? bundledRegistry();
    const started = Date.now();
    const db = await PGlite.create({
      ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
      extensions: { pg_ivm },
      parsers: PARSERS,
    });
    try {
      const epoch = await EmbeddedEngine.applySchema(db, views, log);
      const problems = await catalogProblems(async (sql, params) => (await db.query<{ table_name: string; column_name: string; data_type: string }>(sql, params as unknown[])).rows, views);
      const mismatch = catalogMismatchError(problems, views, '.');
      if (mismatch !== undefined) throw mismatch;
      const { rows: [head] } = await db.query<{ max: number | null }>('SELECT max(seq) AS max FROM wavegate.changes');
      const feed = new EmbeddedFeed(db, views, epoch, Number(head?.max ?? 0), log);
      const engine = new EmbeddedEngine(db, views, feed, options.changeRetention ?? 100_000, log);
      engine.unlisten = await db.listen('wavegate_changes', () => void feed.poke());
      engine.pruneTimer = setInterval(() => void engine.prune(), 10_000);
      engine.pruneTimer.unref();
      log.info({ ms: Date.now() - started, dataDir: options.dataDir ?? 'memory' }, 'embedded engine ready');
      return engine;
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
  }

  /** Creates what is missing; rebuilds the views when their SQL changed since the data dir was made. */
  private static async applySchema(db: PGlite, views: Registry, log: Logger): Promise<string> {
    await db.exec('CREATE EXTENSION IF NOT EXISTS pg_ivm');
    await db.exec(readFileSync(join(projectRoot(), 'migrations/source/postgres/0001_create_outbox.sql'), 'utf8'));
    await db.exec(WAVEGATE_SCHEMA);
    const hash = schemaHash(views);
    const { rows } = await db.query<{ name: string; value: string }>('SELECT name, value FROM wavegate.meta');
    const meta = new Map(rows.map((r) => [r.name, r.value]));
    let epoch = meta.get('epoch');
    if (meta.get('views_hash') === hash && epoch !== undefined) return epoch;
    if (meta.has('views_hash')) log.info({ from: meta.get('views_hash'), to: hash }, 'view SQL changed: rebuilding views');
    // A new epoch invalidates cursors: the rebuilt views' change history starts afresh.
    epoch = randomUUID();
    // Views built from an earlier schema directory go too (their names are kept in wavegate.meta).
    const names = views.views.map((v) => v.name);
    const before = (meta.get('views') ?? '').split(',').filter((n) => /^[a-z_][a-z0-9_]*$/.test(n) && !names.includes(n));
    await db.transaction(async (tx) => {
      for (const name of [...before, ...[...names].reverse()]) {
        await tx.exec(`DROP VIEW IF EXISTS public.${name} CASCADE`);
        await tx.exec(`DROP TABLE IF EXISTS public.${name}__base CASCADE`);
      }
      await tx.exec('TRUNCATE wavegate.changes');
      for (const v of views.views) {
        const ddl = embeddedViewDdl(v);
        try {
          await tx.query(ddl.createBase);
        } catch (err) {
          throw viewBuildError(views, v, 'base', err);
        }
        try {
          await tx.exec(ddl.createView);
        } catch (err) {
          throw viewBuildError(views, v, 'view', err);
        }
        const { rows: cols } = await tx.query<{ attname: string }>(
          `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0
             AND NOT attisdropped AND attname NOT LIKE '\\_\\_ivm%' ORDER BY attnum`, [`public.${ddl.baseName}`]);
        const baseColumns = cols.map((c) => c.attname);
        for (const index of ddl.createIndexes(baseColumns)) await tx.exec(index);
        await tx.exec(ddl.trigger(baseColumns));
      }
      await tx.query(`INSERT INTO wavegate.meta VALUES ('views_hash', $1), ('epoch', $2), ('views', $3)
        ON CONFLICT (name) DO UPDATE SET value = excluded.value`, [hash, epoch, names.join(',')]);
    });
    return epoch;
  }

  /** PGlite cannot interrupt a running statement: an aborted signal stops it from starting, and discards its rows after. */
  async query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<R[]> {
    this.assertOpen();
    const { signal } = options;
    signal?.throwIfAborted();
    const res = await this.db.query<R>(sql, params as unknown[]);
    signal?.throwIfAborted();
    return res.rows;
  }

  /**
   * Runs `fn` in one transaction: the outbox writer's business rows and events commit together,
   * and the views (pg_ivm) and the change log are updated in that same transaction.
   */
  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.db.transaction(async (tx: Transaction) => fn({
      query: async <R>(sql: string, params: readonly unknown[] = []) => {
        const res = await tx.query<R>(sql, params as unknown[]);
        return { rows: res.rows };
      },
    }));
  }

  /** Runs DDL/SQL scripts (several statements, no parameters). For setup and tests. */
  async exec(sql: string): Promise<void> {
    this.assertOpen();
    await this.db.exec(sql);
  }

  ready(): boolean {
    return !this.closed && !this.db.closed;
  }

  /** Drops change-log rows beyond the retention window (cursors older than that get CURSOR_EXPIRED). */
  async prune(): Promise<number> {
    if (this.closed) return 0;
    try {
      const res = await this.db.query(
        'DELETE FROM wavegate.changes WHERE seq <= (SELECT max(seq) FROM wavegate.changes) - $1', [this.retention]);
      return res.affectedRows ?? 0;
    } catch (err) {
      this.log.warn({ err }, 'pruning the change log failed');
      return 0;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pruneTimer !== undefined) clearInterval(this.pruneTimer);
    this.feed.close();
    await this.unlisten?.().catch(() => undefined);
    await this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, 'The engine is shut down', { retriable: true });
    }
  }
}
