import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { pg_ivm } from '@electric-sql/pglite-pg_ivm';
import { wholeOption } from '../../config/env';
import { GatewayError, GatewayErrorCode } from '../../errors';
import type { Logger } from '../../log';
import { projectRoot } from '../../paths';
import { loadViewParser, loadViewSql, VIEW_LIST } from '../../views/registry';
import type { SqlExecutor } from '../../db/types';
import { stripLineComments } from '../../outbox/dialect';
import type { Engine, QueryOptions } from '../types';
import { embeddedViewDdl, WAVEGATE_SCHEMA } from './ddl';
import { EmbeddedFeed } from './feed';
import { PGLITE_PARSERS } from './parsers';

/** Options for {@link EmbeddedEngine.create}. */
export interface EmbeddedEngineOptions {
  /** Directory to persist the database in; undefined = in memory. */
  dataDir?: string;
  /** Change-log rows kept for subscription resume. @default 100_000 */
  changeRetention?: number;
  /**
   * How often the engine prunes the change log by itself, in milliseconds; 0 turns the timer off
   * (then only {@link EmbeddedEngine.prune} calls prune, as tests that count pruned rows need).
   * @default 10_000 // 10 seconds
   */
  pruneIntervalMs?: number;
  log: Logger;
}

/** {@link EmbeddedEngineOptions.pruneIntervalMs}'s default. */
export const DEFAULT_PRUNE_INTERVAL_MS = 10_000;

function schemaHash(): string {
  const h = createHash('sha256');
  // Comments left out, as for the view SQL: rewording a comment must not rebuild anyone's views.
  h.update(stripLineComments(readFileSync(join(projectRoot(), 'migrations/source/postgres/0001_create_outbox.sql'), 'utf8')));
  for (const v of VIEW_LIST) h.update(loadViewSql(v.name).text);
  h.update(WAVEGATE_SCHEMA);
  // The generated DDL too: a change to the triggers or the registry's key/indexed columns rebuilds.
  for (const v of VIEW_LIST) {
    const ddl = embeddedViewDdl(v, loadViewSql(v.name));
    h.update(ddl.createBase + ddl.createView + ddl.createIndexes.join(';') + ddl.trigger(['x']));
  }
  return h.digest('hex').slice(0, 16);
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
    readonly feed: EmbeddedFeed,
    private readonly retention: number,
    private readonly log: Logger,
  ) {}

  /** Opens (or creates) the database, applies the outbox and views, and starts the feed. */
  static async create(options: EmbeddedEngineOptions): Promise<EmbeddedEngine> {
    const retention = wholeOption('changeRetention', options.changeRetention, 100_000, 1);
    const pruneIntervalMs = wholeOption('pruneIntervalMs', options.pruneIntervalMs, DEFAULT_PRUNE_INTERVAL_MS, 0, 2 ** 31 - 1);
    const log = options.log.child('engine.embedded');
    const started = Date.now();
    await loadViewParser(); // the view DDL splits each view's SQL with the Postgres parser
    const db = await PGlite.create({
      ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
      extensions: { pg_ivm },
      parsers: PGLITE_PARSERS,
    });
    try {
      const epoch = await EmbeddedEngine.applySchema(db, log);
      const { rows: [head] } = await db.query<{ max: number | null }>('SELECT max(seq) AS max FROM wavegate.changes');
      const feed = new EmbeddedFeed(db, epoch, Number(head?.max ?? 0), log);
      const engine = new EmbeddedEngine(db, feed, retention, log);
      engine.unlisten = await db.listen('wavegate_changes', () => void feed.poke());
      if (pruneIntervalMs > 0) {
        engine.pruneTimer = setInterval(() => void engine.prune(), pruneIntervalMs);
        engine.pruneTimer.unref();
      }
      log.info({ ms: Date.now() - started, dataDir: options.dataDir ?? 'memory' }, 'embedded engine ready');
      return engine;
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
  }

  /** Creates what is missing; rebuilds the views when their SQL changed since the data dir was made. */
  private static async applySchema(db: PGlite, log: Logger): Promise<string> {
    await db.exec('CREATE EXTENSION IF NOT EXISTS pg_ivm');
    await db.exec(readFileSync(join(projectRoot(), 'migrations/source/postgres/0001_create_outbox.sql'), 'utf8'));
    await db.exec(WAVEGATE_SCHEMA);
    const hash = schemaHash();
    const { rows } = await db.query<{ name: string; value: string }>('SELECT name, value FROM wavegate.meta');
    const meta = new Map(rows.map((r) => [r.name, r.value]));
    let epoch = meta.get('epoch');
    if (meta.get('views_hash') === hash && epoch !== undefined) return epoch;
    if (meta.has('views_hash')) log.info({ from: meta.get('views_hash'), to: hash }, 'view SQL changed: rebuilding views');
    // A new epoch invalidates cursors: the rebuilt views' change history starts afresh.
    epoch = randomUUID();
    await db.transaction(async (tx) => {
      for (const v of VIEW_LIST) {
        await tx.exec(`DROP VIEW IF EXISTS public.${v.name}`);
        await tx.exec(`DROP TABLE IF EXISTS public.${v.name}__base CASCADE`);
      }
      await tx.exec('TRUNCATE wavegate.changes');
      for (const v of VIEW_LIST) {
        const ddl = embeddedViewDdl(v, loadViewSql(v.name));
        await tx.query(ddl.createBase);
        await tx.exec(ddl.createView);
        for (const index of ddl.createIndexes) await tx.exec(index);
        const { rows: cols } = await tx.query<{ attname: string }>(
          `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0
             AND NOT attisdropped AND attname NOT LIKE '\\_\\_ivm%' ORDER BY attnum`, [`public.${ddl.baseName}`]);
        await tx.exec(ddl.trigger(cols.map((c) => c.attname)));
      }
      await tx.query(`INSERT INTO wavegate.meta VALUES ('views_hash', $1), ('epoch', $2)
        ON CONFLICT (name) DO UPDATE SET value = excluded.value`, [hash, epoch]);
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
