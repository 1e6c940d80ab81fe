/**
 * Per-request DataLoaders of the generated API: rows of a view by key (lookups and relations), one
 * statement per view and selected-column set per tick, and "does this key exist" (to tell absent
 * from not yours). Created per HTTP request or websocket operation, so nothing is shared between
 * viewers (the row policy is in every statement).
 */
import DataLoader from 'dataloader';
import type { Viewer } from '../auth/viewer';
import type { Engine } from '../engine/types';
import type { Permission, Registry, Row, ViewModel } from '../views/model';
import { normalizeColumnValue, normalizeColumns, type RowColumns } from './build/rows';
import { existingKeysSql, rowsByKeysSql } from './build/statements';

/** A statement shape for loading rows of a view by key: what to select and how to read the rows. */
export interface RowsQuery {
  /** Identifies the shape (view, role and select list): one loader per shape per request. */
  readonly id: string;
  readonly view: ViewModel;
  readonly perm: Permission;
  /** SQL select list (must include the key columns). */
  readonly select: string;
  readonly columns: RowColumns;
}

/** Batched loaders of one request; keys are {@link keyOf} strings. */
export interface Loaders {
  /** Rows of `q.view` by key within the viewer's policy; null when absent or not readable. */
  rows(q: RowsQuery): DataLoader<string, Row | null>;
  /** Whether a key of `view` exists at all (no policy: only ever answers FORBIDDEN versus null). */
  exists(view: ViewModel): DataLoader<string, boolean>;
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

/** The loader key of a row key (key column values in key order, normalised). */
export function keyOf(values: readonly unknown[]): string {
  return values.length === 1 ? String(values[0]) : JSON.stringify(values.map((v) => (v === null || v === undefined ? null : String(v))));
}

function keyValues(view: ViewModel, key: string): unknown[] {
  return view.key.length === 1 ? [key] : (JSON.parse(key) as unknown[]);
}

function rowKey(view: ViewModel, row: Row): string {
  return keyOf(view.key.map((k) => row[k]));
}

/** Creates the loaders of one request (or one websocket operation) for `viewer`. */
export function createLoaders(engine: Pick<Engine, 'query'>, viewer: Viewer, registry: Registry, options: LoaderOptions = {}): Loaders {
  const cache = options.cache ?? true;
  const rows = new Map<string, DataLoader<string, Row | null>>();
  const exists = new Map<string, DataLoader<string, boolean>>();
  return {
    rows(q) {
      let loader = rows.get(q.id);
      if (loader === undefined) {
        loader = new DataLoader<string, Row | null>(async (keys) => {
          const sql = rowsByKeysSql(q.view, q.select, keys.map((k) => keyValues(q.view, k)), { registry, viewer, perm: q.perm });
          const found = new Map<string, Row>();
          for (const raw of await engine.query(sql.text, sql.params)) {
            const row = normalizeColumns(q.columns, raw);
            found.set(rowKey(q.view, row), row);
          }
          return keys.map((k) => found.get(k) ?? null);
        }, { cache });
        rows.set(q.id, loader);
      }
      return loader;
    },
    exists(view) {
      let loader = exists.get(view.name);
      if (loader === undefined) {
        const keyCols = view.key.map((k) => view.columns.find((c) => c.name === k)!);
        loader = new DataLoader<string, boolean>(async (keys) => {
          const sql = existingKeysSql(view, keys.map((k) => keyValues(view, k)));
          const found = new Set<string>();
          for (const raw of await engine.query(sql.text, sql.params)) found.add(keyOf(keyCols.map((c) => normalizeColumnValue(c.type, raw[c.name]))));
          return keys.map((k) => found.has(k));
        }, { cache });
        exists.set(view.name, loader);
      }
      return loader;
    },
  };
}
