import { LRUCache } from 'lru-cache';
import type { Engine } from '../../engine/types';
import type { Logger } from '../../log';
import { Oid, oidOfRegtype } from '../types';
import { type CatalogColumns, catalogRelations, type ColumnInfo } from './staticDescription';

/**
 * What a SELECT returns: column names and type OIDs, for RowDescription. Engine.query gives rows as
 * objects without field metadata, so names and types are worked out in three steps:
 * 1. statically from the client's parse tree (staticDescription.ts), with the catalog's own column
 *    lists read once per catalog relation from the engine (here);
 * 2. where a type is still unknown, by asking the engine: `pg_typeof` over the statement under
 *    `LIMIT 0` (planned, not executed); cached per statement text (here);
 * 3. failing that, from the values themselves (values.ts).
 * The executor (executor.ts) puts the steps together.
 */

/** A type probe's answer; undefined types = the engine could not tell (remembered as well). */
interface Probe {
  readonly types: readonly number[] | undefined;
}

/** Column lists of catalog relations and type probes, cached per engine (least recently used out). */
export class ResultDescriber {
  private readonly catalogCache: LRUCache<string, Promise<readonly ColumnInfo[] | undefined>>;
  private readonly probeCache: LRUCache<string, Probe>;

  /** `cacheSize`: entries kept in each cache. */
  constructor(private readonly engine: Engine, private readonly log: Logger, cacheSize = 500) {
    this.catalogCache = new LRUCache({ max: cacheSize });
    this.probeCache = new LRUCache({ max: cacheSize });
  }

  /** Columns of the catalog relations `tree` reads. */
  async catalogColumns(tree: unknown): Promise<CatalogColumns> {
    const out = new Map<string, readonly ColumnInfo[] | undefined>();
    for (const rel of catalogRelations(tree)) out.set(rel, await this.columnsOf(rel));
    return out;
  }

  private columnsOf(rel: string): Promise<readonly ColumnInfo[] | undefined> {
    const cached = this.catalogCache.get(rel);
    if (cached !== undefined) return cached;
    const p: Promise<readonly ColumnInfo[] | undefined> = this.engine.query<{ name: string; oid: string | number }>(
      `SELECT a.attname::text AS name, (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END)::int8 AS oid
         FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid = ($1::text)::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, [rel])
      .then((rows) => (rows.length === 0 ? undefined : rows.map((r) => ({ name: r.name, typeOid: Number(r.oid) }))))
      .catch((err: unknown) => {
        // Not remembered: the next statement that reads `rel` asks the engine again.
        this.log.debug({ rel, err: err instanceof Error ? err.message : String(err) }, 'catalog columns unavailable');
        if (this.catalogCache.peek(rel) === p) this.catalogCache.delete(rel);
        return undefined;
      });
    this.catalogCache.set(rel, p);
    return p;
  }

  /**
   * Step 2: exact types of the `n` result columns of `sql` (the engine SQL), from `pg_typeof` under
   * `LIMIT 0` (the statement is planned, not run). Domains resolve to their base type.
   * undefined when the engine cannot answer.
   */
  async probeTypes(sql: string, n: number, params: readonly unknown[]): Promise<readonly number[] | undefined> {
    const key = `${n}\0${sql}`;
    const cached = this.probeCache.get(key);
    if (cached !== undefined) return cached.types;
    const aliases = Array.from({ length: n }, (_, i) => `c${i}`);
    // regtype printed as text: works wherever pg_typeof does (Postgres, PGlite, RisingWave).
    const selects = aliases.map((a, i) => `pg_catalog.pg_typeof(w.${a})::text AS t${i}`);
    const probe = `SELECT ${selects.join(', ')} FROM (SELECT 1) AS __wg_d LEFT JOIN (SELECT * FROM (\n${sql}\n) AS __wg_s LIMIT 0) AS w(${aliases.join(', ')}) ON true`;
    let types: readonly number[] | undefined;
    try {
      const [row] = await this.engine.query<Record<string, string | null>>(probe, params.map(() => null));
      types = row === undefined ? undefined : aliases.map((_, i) => oidOfRegtype(String(row[`t${i}`] ?? 'text')) ?? Oid.text);
    } catch (err) {
      this.log.debug({ err: err instanceof Error ? err.message : String(err) }, 'type probe failed');
      types = undefined;
    }
    this.probeCache.set(key, { types });
    return types;
  }

  /** Column names of `sql` when the tree could not tell them (duplicates collapse). */
  async probeNames(sql: string, params: readonly unknown[]): Promise<readonly string[] | undefined> {
    try {
      const [row] = await this.engine.query<Record<string, unknown>>(
        `SELECT w.* FROM (SELECT 1) AS __wg_d LEFT JOIN (SELECT * FROM (\n${sql}\n) AS __wg_s LIMIT 0) AS w ON true`, params.map(() => null));
      return row === undefined ? undefined : Object.keys(row);
    } catch (err) {
      this.log.debug({ err: err instanceof Error ? err.message : String(err) }, 'name probe failed');
      return undefined;
    }
  }
}
