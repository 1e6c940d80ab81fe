import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModule, parseSync, scanSync, type ParseResult } from 'libpg-query';
import { projectRoot } from '../paths';

/**
 * Column types as Wavegate normalises them, whatever the engine:
 * - `text`: string
 * - `int`: JS number (counts; bigint in SQL, always within 2^53 here)
 * - `float`: JS number (double precision)
 * - `numeric`: decimal string, exactly as the engine printed it (`"12.50"`)
 * - `timestamptz`: ISO-8601 UTC string with milliseconds (`"2026-10-05T14:03:07.123Z"`)
 * - `date`: `"YYYY-MM-DD"`
 */
export type ColumnType = 'text' | 'int' | 'float' | 'numeric' | 'timestamptz' | 'date';

/** A view row in normalised form: column name → value (null for SQL NULL). */
export type Row = Readonly<Record<string, string | number | null>>;

/** One published view. */
export interface ViewDef {
  /** SQL name, e.g. `trip_history`. */
  readonly name: ViewName;
  /** Columns in projection order, with their normalised types. */
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: ColumnType }>;
  /** Key columns: a row's identity in every change. */
  readonly key: readonly string[];
  /** Non-key columns subscriptions may filter on; the hub keeps an index per column. */
  readonly indexed: readonly string[];
}

/** Names of the published views. */
export type ViewName = 'trip_history' | 'rider_stats' | 'driver_stats' | 'driver_earnings_daily';

const col = (name: string, type: ColumnType) => ({ name, type }) as const;

/** The published views. A test checks these declarations against each engine's catalog. */
export const VIEWS: { readonly [V in ViewName]: ViewDef } = {
  trip_history: {
    name: 'trip_history',
    key: ['trip_id'],
    indexed: ['rider_id', 'driver_id'],
    columns: [
      col('trip_id', 'text'), col('rider_id', 'text'), col('driver_id', 'text'), col('status', 'text'),
      col('pickup_lat', 'float'), col('pickup_lng', 'float'), col('dropoff_lat', 'float'), col('dropoff_lng', 'float'),
      col('requested_at', 'timestamptz'), col('assigned_at', 'timestamptz'), col('started_at', 'timestamptz'),
      col('completed_at', 'timestamptz'), col('cancelled_at', 'timestamptz'), col('cancelled_by', 'text'),
      col('fare_amount', 'numeric'), col('fare_currency', 'text'), col('paid_amount', 'numeric'),
      col('distance_km', 'numeric'), col('rider_rating', 'int'), col('driver_rating', 'int'),
      col('updated_at', 'timestamptz'), col('event_count', 'int'),
    ],
  },
  rider_stats: {
    name: 'rider_stats',
    key: ['rider_id'],
    indexed: [],
    columns: [
      col('rider_id', 'text'), col('trips', 'int'), col('completed_trips', 'int'), col('cancelled_trips', 'int'),
      col('total_spent', 'numeric'), col('avg_rating_given', 'numeric'), col('ratings_given', 'int'),
      col('updated_at', 'timestamptz'),
    ],
  },
  driver_stats: {
    name: 'driver_stats',
    key: ['driver_id'],
    indexed: [],
    columns: [
      col('driver_id', 'text'), col('trips', 'int'), col('completed_trips', 'int'), col('cancelled_trips', 'int'),
      col('lifetime_earnings', 'numeric'), col('rating', 'numeric'), col('ratings', 'int'),
      col('last_trip_at', 'timestamptz'),
    ],
  },
  driver_earnings_daily: {
    name: 'driver_earnings_daily',
    key: ['driver_id', 'day'],
    // The key has two columns; indexing driver_id lets the hub route a driver's changes directly.
    indexed: ['driver_id'],
    columns: [
      col('driver_id', 'text'), col('day', 'date'), col('trips', 'int'), col('gross_fares', 'numeric'),
      col('avg_rating', 'numeric'), col('ratings', 'int'),
    ],
  },
};

/** All views, in dependency-free order. */
export const VIEW_LIST: readonly ViewDef[] = Object.values(VIEWS);

/** A view's SQL from `schema/<name>.sql`. */
export interface ViewSql {
  /** The whole statement, as RisingWave runs it (`CREATE MATERIALIZED VIEW name AS <text>`). */
  readonly text: string;
  /** Key columns declared in the file header (`-- wavegate:key a, b`). */
  readonly key: readonly string[];
}

/** Reads `schema/<view>.sql`. Throws if its header disagrees with {@link VIEWS}. */
export function loadViewSql(view: ViewName, dir = join(projectRoot(), 'schema')): ViewSql {
  const raw = readFileSync(join(dir, `${view}.sql`), 'utf8');
  const header = (tag: string) => raw.match(new RegExp(`^--\\s*wavegate:${tag}\\s+(.+)$`, 'm'))?.[1]?.trim();
  if (header('view') !== view) throw new Error(`schema/${view}.sql: header says view ${header('view') ?? '(none)'}`);
  const key = (header('key') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (key.join(',') !== VIEWS[view].key.join(',')) {
    throw new Error(`schema/${view}.sql: key (${key.join(', ')}) differs from the registry (${VIEWS[view].key.join(', ')})`);
  }
  const text = raw.split('\n').filter((l) => !/^\s*--/.test(l)).join('\n').trim().replace(/;\s*$/, '');
  return { text, key };
}

/** Loads libpg-query's WASM module, which {@link splitBaseCte} needs; call (and await) once first. Idempotent. */
export async function loadViewParser(): Promise<void> {
  await loadModule();
}

/**
 * Splits `WITH base AS (<body>) <projection>` into the `base` CTE's body and the projection over
 * it, as the embedded engine needs them (pg_ivm maintains `base`; the projection becomes a plain
 * view). Undefined when the statement does not start with a CTE named `base`. The statement is read
 * by libpg-query (the Postgres parser: quotes, dollar quotes and comments as Postgres reads them),
 * and the body's parentheses are matched on the Postgres scanner's tokens. Throws when the SQL does
 * not parse, is not one SELECT, or its `base` has sibling CTEs or is RECURSIVE (nothing to split
 * into one IMMV and a view). Needs {@link loadViewParser} to have resolved.
 */
export function splitBaseCte(sql: string): { base: string; projection: string } | undefined {
  let tree: ParseResult;
  try {
    tree = parseSync(sql);
  } catch (err) {
    throw new Error(`view SQL does not parse: ${err instanceof Error ? err.message : String(err)}`);
  }
  const stmts = tree.stmts ?? [];
  const node = stmts[0]?.stmt;
  if (stmts.length !== 1 || node === undefined || !('SelectStmt' in node)) throw new Error('view SQL must be exactly one SELECT statement');
  const withClause = node.SelectStmt.withClause;
  const ctes = withClause?.ctes ?? [];
  const first = ctes[0];
  if (withClause === undefined || first === undefined || !('CommonTableExpr' in first) || first.CommonTableExpr.ctename !== 'base') return undefined;
  if (withClause.recursive === true || ctes.length !== 1) throw new Error('WITH base AS (...) must be the only CTE, and not RECURSIVE');
  const buf = Buffer.from(sql, 'utf8');
  const at = first.CommonTableExpr.location ?? 0; // byte offset of the name `base`
  const tokens = scanSync(sql).tokens;
  const open = tokens.findIndex((t) => t.start > at && t.tokenName === 'ASCII_40');
  let depth = 0;
  for (let i = open; open >= 0 && i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.tokenName === 'ASCII_40') depth++;
    else if (t.tokenName === 'ASCII_41' && --depth === 0) {
      return {
        base: buf.subarray(tokens[open]!.end, t.start).toString('utf8').trim(),
        projection: buf.subarray(t.end).toString('utf8').trim(),
      };
    }
  }
  throw new Error('unbalanced parentheses in WITH base AS (...)');
}
