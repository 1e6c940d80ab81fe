/**
 * The passthrough worker (a worker_threads Worker started by engine.ts): its own PGlite holding a
 * read copy of the published views, on which the SQL passthrough's statements run. A statement
 * that runs away blocks this thread only; the main thread stops it by terminating the worker,
 * which frees everything the statement allocated (the WASM memory included).
 *
 * The copy has the main engine's shape: `public.<view>__base` tables (the registry key as primary
 * key) and `public.<view>` views over them with the same columns and types, so the passthrough's
 * catalog rewrite (which shows only `public.<view>`) reads the same answers here.
 */
import { parentPort } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { PGLITE_PARSERS } from '../parsers';
import { columnType, type CopyRows, type CopyView, type FromWorker, ident, type ToWorker, type WorkerError } from './protocol';

const port = parentPort;
if (port === null) throw new Error('worker.ts runs only as a worker thread');

let db: PGlite | undefined;
const views = new Map<string, CopyView>();

function post(msg: FromWorker): void {
  port!.postMessage(msg);
}

function toWorkerError(err: unknown): WorkerError {
  const e = err as { code?: unknown; message?: unknown; position?: unknown; detail?: unknown; hint?: unknown } | null;
  return {
    code: typeof e?.code === 'string' ? e.code : undefined,
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(typeof e?.position === 'string' ? { position: e.position } : {}),
    ...(typeof e?.detail === 'string' ? { detail: e.detail } : {}),
    ...(typeof e?.hint === 'string' ? { hint: e.hint } : {}),
  };
}

async function init(list: readonly CopyView[]): Promise<void> {
  db = await PGlite.create({ parsers: PGLITE_PARSERS });
  for (const v of list) {
    const name = ident(v.name);
    const cols = v.columns.map((c) => `${ident(c.name)} ${columnType(c.type)}`).join(', ');
    const key = v.key.map(ident).join(', ');
    await db.exec(`CREATE TABLE public.${name}__base (${cols}, PRIMARY KEY (${key}));
      CREATE VIEW public.${name} AS SELECT ${v.columns.map((c) => ident(c.name)).join(', ')} FROM public.${name}__base;`);
    views.set(name, v);
  }
  post({ t: 'ready' });
}

/** Deletes the batch's keys, then inserts its rows: the last state of every key it names. */
async function apply(batches: readonly CopyRows[]): Promise<void> {
  if (db === undefined) throw new Error('apply before init');
  const pg = db;
  await pg.transaction(async (tx) => {
    for (const b of batches) {
      const v = views.get(b.view);
      if (v === undefined) throw new Error(`apply names unknown view ${b.view}`);
      const base = `public.${ident(v.name)}__base`;
      if (b.deleteKeys !== undefined) {
        const match = v.key.map((k) => `b.${ident(k)} = k.${ident(k)}`).join(' AND ');
        await tx.query(`DELETE FROM ${base} b USING jsonb_populate_recordset(NULL::${base}, $1::jsonb) k WHERE ${match}`, [b.deleteKeys]);
      }
      if (b.rows !== undefined) {
        await tx.query(`INSERT INTO ${base} SELECT * FROM jsonb_populate_recordset(NULL::${base}, $1::jsonb)`, [b.rows]);
      }
    }
  });
  post({ t: 'applied' });
}

/** A rough size of a value once posted: string length, 8 per scalar, JSON length for objects. */
function sizeOf(v: unknown): number {
  if (typeof v === 'string') return v.length;
  if (v === null || v === undefined || typeof v !== 'object') return 8;
  if (v instanceof Uint8Array) return v.byteLength;
  return JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)).length;
}

async function query(id: number, sql: string, params: readonly unknown[], maxResultBytes: number): Promise<void> {
  if (db === undefined) throw new Error('query before init');
  try {
    const res = await db.query<Record<string, unknown>>(sql, params as unknown[]);
    let bytes = 0;
    for (const row of res.rows) {
      for (const k in row) bytes += k.length + sizeOf(row[k]);
      if (bytes > maxResultBytes) {
        post({ t: 'error', id, error: { code: '54000', message: `the result is larger than ${maxResultBytes} bytes`,
          hint: 'Select fewer or narrower columns, or aggregate in SQL (WAVEGATE_SQL_EMBEDDED_WORKER_HEAP_MB).' } });
        return;
      }
    }
    post({ t: 'result', id, rows: res.rows });
  } catch (err) {
    post({ t: 'error', id, error: toWorkerError(err) });
  }
}

let chain: Promise<void> = Promise.resolve();
port.on('message', (msg: ToWorker) => {
  // One message at a time, in order: PGlite is one connection, and a statement must see every
  // change posted before it.
  chain = chain.then(async () => {
    switch (msg.t) {
      case 'init': return init(msg.views);
      case 'apply': return apply(msg.batches);
      case 'query': return query(msg.id, msg.sql, msg.params, msg.maxResultBytes);
    }
  }).catch((err: unknown) => post({ t: 'broken', error: toWorkerError(err) }));
});
