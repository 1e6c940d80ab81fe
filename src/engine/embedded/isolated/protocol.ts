/**
 * The messages between the isolated passthrough engine (engine.ts, main thread) and its worker
 * (worker.ts). The worker handles them strictly one after another, in the order they were posted,
 * so a statement posted after a batch of changes sees that batch.
 */

/** One published view as the worker's read copy holds it. */
export interface CopyView {
  /** The view's name (`public.<name>`), checked against the registry by the main thread. */
  readonly name: string;
  /** Columns with their SQL type as the main engine's view has them (`format_type`). */
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: string }>;
  /** Key columns (the registry's key): the copy table's primary key. */
  readonly key: readonly string[];
}

/** Rows of one view to put into the copy (initial load, and the last state of changed keys). */
export interface CopyRows {
  readonly view: string;
  /** Keys to delete first, as a JSON array of objects holding the key columns. */
  readonly deleteKeys: string | undefined;
  /** Rows to insert, as a JSON array of objects holding every column (jsonb_populate_recordset). */
  readonly rows: string | undefined;
}

/** Main thread → worker. */
export type ToWorker =
  | { readonly t: 'init'; readonly views: readonly CopyView[] }
  | { readonly t: 'apply'; readonly batches: readonly CopyRows[] }
  | {
    readonly t: 'query';
    readonly id: number;
    readonly sql: string;
    readonly params: readonly unknown[];
    /** A result whose values add up to more than this (UTF-16 bytes, roughly) is refused with 54000. */
    readonly maxResultBytes: number;
  };

/** An error as the worker reports it (PGlite's DatabaseError fields that clients see). */
export interface WorkerError {
  readonly code: string | undefined;
  readonly message: string;
  readonly position?: string;
  readonly detail?: string;
  readonly hint?: string;
}

/** Worker → main thread. */
export type FromWorker =
  | { readonly t: 'ready' }
  | { readonly t: 'applied' }
  | { readonly t: 'result'; readonly id: number; readonly rows: ReadonlyArray<Record<string, unknown>> }
  | { readonly t: 'error'; readonly id: number; readonly error: WorkerError }
  /** Keeping the copy failed: the main thread replaces the worker (and its copy). */
  | { readonly t: 'broken'; readonly error: WorkerError };

/** SQL identifiers the copy uses: registry names only, checked again here. */
export function ident(s: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(s)) throw new Error(`unsafe identifier: ${s}`);
  return s;
}

/** A `format_type` result fit to be a column type: letters, digits, spaces, `_ ( ) , [ ] "`. */
export function columnType(s: string): string {
  if (!/^[a-z0-9_ (),[\]"]+$/i.test(s)) throw new Error(`unexpected column type: ${s}`);
  return s;
}
