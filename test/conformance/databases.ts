import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { SqlExecutor } from '../../src/db/types';
import type { OutboxEvent } from '../../src/outbox/events';
import { writeEvents } from '../../src/outbox/writer';
import { sourceMigrations } from '../../src/outbox/dialect';
import { bundledRegistry } from '../../src/views/load';
import type { Registry } from '../../src/views/model';

/**
 * Throwaway databases on the machine's shared servers (PostgreSQL 15 on 5432, MariaDB 10.11 on
 * 3306): every test file makes its own, with a unique name, and drops it in afterAll, because other
 * engineers' tests and CI use the same servers at the same time.
 */

/** Admin URL of the local PostgreSQL. */
export const PG_ADMIN_URL = process.env['WAVEGATE_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** Admin URL of the local MariaDB / MySQL (no database). */
export const MYSQL_ADMIN_URL = process.env['WAVEGATE_TEST_MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306/';

/** `<prefix>_<8 hex>`: unique per call, valid as a database, role or user name. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** URL `base` pointing at `database` (and optionally another user). */
export function withDatabase(base: string, database: string, user?: string): string {
  const u = new URL(base);
  u.pathname = `/${database}`;
  if (user !== undefined) {
    u.username = user;
    u.password = '';
  }
  return u.toString();
}

/** A pg client as a SqlExecutor. */
export function pgExecutor(client: pg.Client): SqlExecutor {
  return {
    query: async <R>(sql: string, params: readonly unknown[] = []) => ({ rows: (await client.query(sql, params as unknown[])).rows as R[] }),
  };
}

/** A fresh PostgreSQL database. */
export interface PgTestDatabase {
  readonly name: string;
  readonly url: string;
  /** A connected client on it (closed by drop). */
  readonly client: pg.Client;
  drop(): Promise<void>;
}

async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** Creates `wavegate_t_<random>` on the local PostgreSQL. */
export async function createPgDatabase(): Promise<PgTestDatabase> {
  const name = uniqueName('wavegate_t');
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = withDatabase(PG_ADMIN_URL, name);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    name, url, client,
    drop: async () => {
      await client.end().catch(() => undefined);
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** Runs a role/cluster-level statement as the admin (CREATE ROLE, DROP ROLE ...). */
export const pgAdmin = adminQuery;

/**
 * The PostgreSQL stand-in for RisingWave: the outbox table from the Postgres source migration and
 * every view as a plain VIEW whose body is the schema file's statement text (the same SQL RisingWave
 * runs as a materialized view). It is not incremental, but the rows a query sees are the same.
 */
export async function createRisingWaveStandIn(db: PgTestDatabase, registry: Registry = bundledRegistry()): Promise<void> {
  for (const m of sourceMigrations('postgres')) await db.client.query(m.sql);
  for (const v of registry.views) await db.client.query(`CREATE VIEW ${v.name} AS ${v.sql}`);
}

/** A fresh MariaDB/MySQL database, with a UTC session. */
export interface MysqlTestDatabase {
  readonly name: string;
  /** URL of the database for the admin user. */
  readonly url: string;
  readonly conn: mysql.Connection;
  drop(): Promise<void>;
}

/** Creates `wavegate_t_<random>` on the local MariaDB; `withOutbox` applies migrations/source/mysql. */
export async function createMysqlDatabase(withOutbox = true): Promise<MysqlTestDatabase> {
  const name = uniqueName('wavegate_t');
  const conn = await mysql.createConnection({ uri: MYSQL_ADMIN_URL, timezone: 'Z' });
  await conn.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
  await conn.query(`USE ${name}`);
  await conn.query("SET time_zone = '+00:00'");
  if (withOutbox) for (const m of sourceMigrations('mysql')) for (const s of m.statements) await conn.query(s);
  return {
    name, url: withDatabase(MYSQL_ADMIN_URL, name), conn,
    drop: async () => {
      await conn.query(`DROP DATABASE IF EXISTS ${name}`).catch(() => undefined);
      await conn.end().catch(() => undefined);
    },
  };
}

/** Writes events to the stand-in's outbox in one transaction, as a service would upstream of RisingWave. */
export async function writeUpstream(db: PgTestDatabase, events: readonly OutboxEvent[]): Promise<void> {
  await db.client.query('BEGIN');
  try {
    await writeEvents(pgExecutor(db.client), events);
    await db.client.query('COMMIT');
  } catch (err) {
    await db.client.query('ROLLBACK');
    throw err;
  }
}
