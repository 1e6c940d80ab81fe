/**
 * The RisingWave stand-in of the benches that query: a throwaway database on the local PostgreSQL
 * (WAVEGATE_BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres) holding the Postgres
 * outbox (source migration), seeded completed rides, and every bundled view over it, as in
 * test/conformance/databases.ts. Materialized (the default), each view is computed once after
 * seeding and trip_history gets the indexes that fit each reader's ORDER BY: a read costs what
 * reading a RisingWave materialized view costs. Used by bench/peers.ts and bench/soak.ts.
 */
import { randomBytes } from 'node:crypto';
import { connectClient, type OneClient } from '../src/engine/risingwave/pg';
import { sourceMigrations } from '../src/outbox/dialect';
import { viewNamed } from '../src/views/find';
import { bundledRegistry } from '../src/views/load';
import { BULK_CHUNK, BULK_INSERT, bulkInsertParams, seedEvents } from './util';

/** The admin URL the bench databases are created from. */
export const ADMIN_URL = process.env['WAVEGATE_BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The first seeded ride starts here; one ride a minute after it. */
export const SEED_BASE = Date.parse('2026-09-01T00:00:00Z');

/**
 * Indexes on the materialized trip_history. The key (RisingWave's MV primary key, pg_ivm's unique
 * index); Wavegate's order, `requested_at DESC NULLS LAST, trip_id DESC`, as the embedded engine
 * indexes it (src/engine/embedded/ddl.ts); PostGraphile's `ORDER BY requested_at desc, trip_id desc`
 * means NULLS FIRST, which those indexes cannot serve, so it gets its own pair (bench/peers.ts).
 */
export const TRIP_INDEXES = [
  'CREATE UNIQUE INDEX trip_history_key ON trip_history (trip_id)',
  'CREATE INDEX trip_history_wavegate_all ON trip_history (requested_at DESC NULLS LAST, trip_id DESC)',
  'CREATE INDEX trip_history_wavegate_rider ON trip_history (rider_id, requested_at DESC NULLS LAST, trip_id DESC)',
  'CREATE INDEX trip_history_postgraphile_all ON trip_history (requested_at DESC, trip_id DESC)',
  'CREATE INDEX trip_history_postgraphile_rider ON trip_history (rider_id, requested_at DESC, trip_id DESC)',
];

/** A throwaway database of a bench. */
export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops it (idempotent; other sessions on it are closed: WITH (FORCE)). */
  drop(): Promise<void>;
}

/** `base` with its database replaced. */
export function withDatabase(base: string, database: string): string {
  const u = new URL(base);
  u.pathname = `/${database}`;
  return u.toString();
}

async function adminQuery(sql: string): Promise<void> {
  const admin = await connectClient({ url: ADMIN_URL, statementTimeoutMs: 0, applicationName: 'wavegate-bench' });
  try {
    await admin.query(sql);
  } finally {
    await admin.close();
  }
}

/** Creates `wavegate_bench_<hex>` on {@link ADMIN_URL}. */
export async function createDatabase(): Promise<BenchDatabase> {
  const name = `wavegate_bench_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: withDatabase(ADMIN_URL, name),
    drop: () => (dropped ??= adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

/** Outbox (source migration), `rides` seeded completed rides over `riders` riders, then the views (plain or materialized, with indexes). */
export async function prepare(db: BenchDatabase, o: { rides: number; riders: number; materialized: boolean }): Promise<{ events: number; tripRows: number; postgres: string }> {
  const c: OneClient = await connectClient({ url: db.url, statementTimeoutMs: 0, applicationName: 'wavegate-bench' });
  try {
    for (const m of sourceMigrations('postgres')) await c.query(m.sql);
    const events = seedEvents(o.rides, o.riders, SEED_BASE);
    for (let i = 0; i < events.length; i += BULK_CHUNK) await c.query(BULK_INSERT, bulkInsertParams(events.slice(i, i + BULK_CHUNK)));
    const kind = o.materialized ? 'MATERIALIZED VIEW' : 'VIEW';
    for (const v of bundledRegistry().views) await c.query(`CREATE ${kind} ${v.name} AS ${viewNamed(bundledRegistry(), v.name).sql}`);
    if (o.materialized) for (const ddl of TRIP_INDEXES) await c.query(ddl);
    await c.query('ANALYZE');
    const [count] = (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM trip_history')).rows;
    const [version] = (await c.query<{ server_version: string }>('SHOW server_version')).rows;
    return { events: events.length, tripRows: count!.n, postgres: version!.server_version };
  } finally {
    await c.close();
  }
}
