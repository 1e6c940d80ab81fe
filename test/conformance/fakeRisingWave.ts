import type pg from 'pg';
import type { OneClient } from '../../src/engine/risingwave/pg';
import { rwMessage } from './fakeRisingWaveErrors';

/**
 * A stand-in for RisingWave's DDL surface, for `wavegate migrate` tests (no RisingWave can run on
 * this machine). It answers `version()` like RisingWave, keeps an in-memory catalog for the
 * `rw_catalog.rw_relations` query, and records CREATE/DROP of sources, tables, materialized views,
 * views, indexes and sinks, refusing duplicates and unknown drops with RisingWave v3.0.3's codes and
 * texts (fakeRisingWaveErrors.ts: 42710 "<kind> with name <name> exists", 42704 "<kind> not found:
 * <name>"; src/frontend/src/catalog/mod.rs, root_catalog.rs and handler/drop_*.rs). Everything else —
 * the wavegate_* bookkeeping tables and their INSERT/SELECTs — runs on a real PostgreSQL database,
 * so that SQL is exercised for real. FLUSH is a no-op here. (fakeRisingWaveServer.ts is the same
 * idea on the wire, for the read path.)
 */
export class FakeRisingWave implements OneClient {
  /** name → relation_type, as rw_catalog.rw_relations reports it. */
  readonly catalog = new Map<string, string>();
  /** DDL statements that took effect, in order. */
  readonly executed: string[] = [];
  /** Fails (no effect) the first statement matching this. */
  failBefore: RegExp | undefined;
  /** Applies the first statement matching this, then loses the connection (the ack never arrives). */
  failAfter: RegExp | undefined;

  constructor(private readonly pg: pg.Client) {}

  async query<R>(sql: string, params: readonly unknown[] = []): Promise<{ rows: R[] }> {
    if (/^SELECT version\(\)/.test(sql)) return { rows: [{ version: 'PostgreSQL 13.14.0-RisingWave-3.0.3 (fake)' } as R] };
    if (sql.includes('rw_catalog.rw_relations')) {
      return { rows: [...this.catalog].map(([name, kind]) => ({ name, relation_type: kind }) as R) };
    }
    if (sql === 'FLUSH') return { rows: [] };
    const ddl = /^(CREATE|DROP) (SOURCE|TABLE|MATERIALIZED VIEW|VIEW|INDEX|SINK) (\w+)/.exec(sql);
    if (ddl === null) return { rows: (await this.pg.query(sql, params as unknown[])).rows as R[] };
    const [, verb, kindUpper, name] = ddl as unknown as [string, string, string, string];
    if (this.failBefore?.test(sql)) {
      this.failBefore = undefined;
      throw Object.assign(new Error(rwMessage('run', [`fake RisingWave refused: ${sql.split('\n')[0]}`])), { code: 'XX000' });
    }
    const kind = kindUpper.toLowerCase();
    if (verb === 'CREATE') {
      if (this.catalog.has(name)) throw catalogError('42710', `${kind} with name ${name} exists`);
      if (name.startsWith('wavegate_')) await this.pg.query(sql);
      this.catalog.set(name, kind);
    } else {
      if (this.catalog.get(name) !== kind) throw catalogError('42704', `${kind} not found: ${name}`);
      this.catalog.delete(name);
    }
    this.executed.push(sql.split('\n')[0]!);
    if (this.failAfter?.test(sql)) {
      this.failAfter = undefined;
      throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
    }
    return { rows: [] };
  }

  async close(): Promise<void> {
    // The pg client belongs to the test's database.
  }
}

/** A RisingWave catalog error as the simple query protocol delivers it. */
export function catalogError(code: '42704' | '42710', cause: string): Error & { code: string } {
  return Object.assign(new Error(rwMessage('run', ['Catalog error', cause])), { code });
}
