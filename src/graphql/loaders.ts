import DataLoader from 'dataloader';
import type { Viewer } from '../auth/viewer';
import type { Engine } from '../engine/types';
import { normalizePartial, normalizeRow } from '../views/normalize';
import { viewNamed } from '../views/find';
import { bundledRegistry } from '../views/load';
import type { Row } from '../views/model';

/** The bundled view these hand-written loaders read (the generated schema reads `engine.views`). */
const VIEW = (name: string) => viewNamed(bundledRegistry(), name);
import { driverProfilesByIdsSql, riderStatsByIdsSql } from './sql';

/** Batched loaders for the nested relations of Trip: one query per relation per request. */
export interface Loaders {
  /** rider_stats rows by rider id (null when absent). */
  readonly riderStats: DataLoader<string, Row | null>;
  /** Public driver_stats columns by driver id (null when absent). */
  readonly driverProfile: DataLoader<string, Row | null>;
}

/** Options for {@link createLoaders}. */
export interface LoaderOptions {
  /**
   * Cache loaded rows for the loaders' lifetime. True for one HTTP request; false for a websocket
   * operation, which lives as long as its subscription and must not serve stale rows. Batching
   * (one query per tick) happens either way. @default true
   */
  cache?: boolean;
}

/** Results in key order, null for keys without a row (DataLoader's contract). */
function byKey(keys: readonly string[], rows: readonly Row[], column: string): Array<Row | null> {
  const map = new Map(rows.map((r) => [String(r[column]), r]));
  return keys.map((k) => map.get(k) ?? null);
}

/** Creates the loaders of one request (or one websocket operation) for `viewer`. */
export function createLoaders(engine: Pick<Engine, 'query'>, viewer: Viewer, options: LoaderOptions = {}): Loaders {
  const cache = options.cache ?? true;
  return {
    riderStats: new DataLoader<string, Row | null>(async (ids) => {
      const sql = riderStatsByIdsSql(viewer, ids);
      const rows = await engine.query(sql.text, sql.params);
      return byKey(ids, rows.map((r) => normalizeRow(VIEW('rider_stats'), r)), 'rider_id');
    }, { cache }),
    driverProfile: new DataLoader<string, Row | null>(async (ids) => {
      const sql = driverProfilesByIdsSql(viewer, ids);
      const rows = await engine.query(sql.text, sql.params);
      return byKey(ids, rows.map((r) => normalizePartial(VIEW('driver_stats'), r)), 'driver_id');
    }, { cache }),
  };
}
