import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Engine } from '../engine/types';
import { GatewayErrorCode, isGatewayError } from '../errors';
import type { Logger } from '../log';
import type { Registry } from '../views/model';
import type { CatalogFlavor } from './catalog';
import type { ResultDescriber } from './describe/describer';
import { describeStatically } from './describe/staticDescription';
import type { SelectStatement } from './guard/statements';
import { SqlRefusal, SqlState } from './sqlstate';
import { Oid } from './types';
import { oidFromValues, toText } from './values';

/**
 * Runs guarded SELECTs on the engine (through Engine.query and Engine.start), with the statement timeout, the
 * client's CancelRequest, the row cap and, on the embedded engine, a plan-cost gate:
 * - the wait is raced against a timer and the session's cancel signal; the client gets 57014 and
 *   the connection stays usable;
 * - on the RisingWave engine (or Postgres standing in) the running statement is also cancelled on
 *   the engine: it runs through Engine.start, which knows its session and stops it with
 *   `KILL '<worker>:<pid>'` (RisingWave) or pg_cancel_backend (Postgres); see
 *   src/engine/risingwave/sessions.ts. The engine's own statement_timeout (startup options) is the
 *   backstop;
 * - on the embedded engine a running statement cannot be interrupted (PGlite runs in this thread's
 *   WASM, and ignores statement_timeout), so statements are refused up front when their planned cost
 *   exceeds `maxPlanCost`. A statement abandoned by the timer still finishes on PGlite before the
 *   next one starts;
 * - WITH RECURSIVE is refused on the embedded engine and on RisingWave ({@link recursiveRefusal});
 * - the statement's SQL is the guard's rewrite for the engine's catalog (PostgreSQL's or
 *   RisingWave's: catalog.ts).
 */

/** One described result column. */
export interface ResultColumn {
  readonly name: string;
  readonly typeOid: number;
}

/** A result in text form. */
export interface QueryResult {
  readonly columns: readonly ResultColumn[];
  readonly rows: ReadonlyArray<ReadonlyArray<string | null>>;
}

/** The abortable wait of one statement. */
export interface CancelSignal {
  /** Why the statement was stopped, once it was. */
  readonly reason: 'timeout' | 'cancel' | 'closed' | undefined;
  /** Registers `fn` to run when the statement is stopped. Returns the unregister function. */
  onAbort(fn: () => void): () => void;
}

/** A controllable {@link CancelSignal}. */
export class StatementCancel implements CancelSignal {
  reason: 'timeout' | 'cancel' | 'closed' | undefined;
  private readonly listeners = new Set<() => void>();
  abort(reason: 'timeout' | 'cancel' | 'closed'): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    for (const fn of [...this.listeners]) fn();
  }
  onAbort(fn: () => void): () => void {
    if (this.reason !== undefined) {
      fn();
      return () => undefined;
    }
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

/** The statement's shape as described (names, OIDs where known, whether positional aliases are needed). */
interface Shape {
  readonly names: readonly string[] | undefined;
  readonly types: ReadonlyArray<number | undefined>;
  /** Duplicate or integer-like names: run as `SELECT * FROM (...) AS __wg_u(c0, c1, ...)`. */
  readonly positional: boolean;
  readonly paramTypes: ReadonlyMap<number, number>;
}

/** Options for {@link StatementExecutor}. */
export interface ExecutorOptions {
  readonly engine: Engine;
  readonly describer: ResultDescriber;
  readonly log: Logger;
  /** Rows a result may have (54000 beyond). */
  readonly maxRows: number;
  /** Embedded engine: largest planner cost accepted (54000 beyond). */
  readonly maxPlanCost: number;
}

type Flavor = 'embedded' | 'postgres' | 'risingwave';

export class StatementExecutor {
  private flavor: Promise<Flavor> | undefined;
  /** Described shapes per statement; a failed description is forgotten, so the next Describe retries. */
  private readonly shapes = new LRUCache<string, Promise<Shape>>({ max: 500 });

  constructor(private readonly o: ExecutorOptions) {}

  /** The published views the statements may read (the engine's). */
  get views(): Registry {
    return this.o.engine.views;
  }

  /** Names, types and parameter types of a statement, without running it (Describe). */
  async describe(stmt: SelectStatement, paramCount: number): Promise<{ columns: ResultColumn[]; paramTypes: ReadonlyMap<number, number> }> {
    const flavor = await this.engineFlavor();
    if (stmt.recursive && flavor !== 'postgres') throw recursiveRefusal(flavor);
    const shape = await this.shape(stmt, paramCount, flavor);
    const columns = (shape.names ?? []).map((name, i) => ({ name, typeOid: shape.types[i] ?? Oid.text }));
    return { columns, paramTypes: shape.paramTypes };
  }

  /**
   * Runs a statement. Throws {@link SqlRefusal} with the SQLSTATE the client should see (57014 on
   * timeout/cancel, 54000 over the row cap, the engine's code for SQL errors).
   */
  async execute(stmt: SelectStatement, params: ReadonlyArray<string | null>, signal: CancelSignal, described?: readonly ResultColumn[]): Promise<QueryResult> {
    const flavor = await this.race(this.engineFlavor(), signal, undefined);
    if (stmt.recursive && flavor !== 'postgres') throw recursiveRefusal(flavor);
    const shape = await this.race(this.shape(stmt, params.length, flavor), signal, undefined);
    const engineSql = stmt.sqlFor(catalogFlavor(flavor));
    const sql = shape.positional && shape.names !== undefined
      ? `SELECT * FROM (\n${engineSql}\n) AS __wg_u(${shape.names.map((_, i) => `c${i}`).join(', ')})`
      : engineSql;
    if (flavor === 'embedded') await this.race(this.costGate(sql, params), signal, undefined);
    const running = this.o.engine.start?.<Record<string, unknown>>(sql, params);
    const rows = running === undefined
      ? await this.race(this.o.engine.query<Record<string, unknown>>(sql, params), signal, undefined)
      : await this.race(running.rows, signal, () => void running.cancel());
    if (rows.length > this.o.maxRows) {
      throw new SqlRefusal(SqlState.PROGRAM_LIMIT_EXCEEDED, `the result has more than ${this.o.maxRows} rows (WAVEGATE_SQL_MAX_ROWS)`,
        { hint: 'Aggregate in SQL, or add a LIMIT.' });
    }
    return this.toResult(rows, shape, described);
  }

  private toResult(rows: ReadonlyArray<Record<string, unknown>>, shape: Shape, described: readonly ResultColumn[] | undefined): QueryResult {
    let names = shape.names;
    let keys: readonly string[] | undefined = shape.positional && names !== undefined ? names.map((_, i) => `c${i}`) : names;
    const first = rows[0];
    if (first !== undefined && (keys === undefined || keys.some((k) => !(k in first)) || Object.keys(first).length !== keys.length)) {
      // The static names did not match what the engine returned: trust the engine's keys.
      if (names !== undefined) this.o.log.debug({ expected: names, got: Object.keys(first) }, 'result names differ from the description');
      keys = Object.keys(first);
      names = keys;
    }
    const cols = names ?? [];
    const ks = keys ?? [];
    const columns = cols.map((name, i) => {
      const known = described?.[i]?.typeOid ?? (names === shape.names ? shape.types[i] : undefined);
      return { name, typeOid: known ?? oidFromValues(rows.map((r) => r[ks[i]!])) };
    });
    return { columns, rows: rows.map((r) => ks.map((k) => toText(r[k]))) };
  }

  private shape(stmt: SelectStatement, paramCount: number, flavor: Flavor): Promise<Shape> {
    const sql = stmt.sqlFor(catalogFlavor(flavor));
    const key = `${paramCount}\0${sql}`;
    const cached = this.shapes.get(key);
    if (cached !== undefined) return cached;
    const p = this.computeShape(stmt, sql, paramCount, flavor);
    p.catch(() => {
      if (this.shapes.peek(key) === p) this.shapes.delete(key);
    });
    this.shapes.set(key, p);
    return p;
  }

  private async computeShape(stmt: SelectStatement, sql: string, paramCount: number, flavor: Flavor): Promise<Shape> {
    const catalog = await this.o.describer.catalogColumns(stmt.tree);
    const stat = describeStatically(stmt.tree, catalog, catalogFlavor(flavor), this.o.engine.views);
    const nulls = Array.from({ length: paramCount }, () => null);
    let names = stat.columns?.map((c) => c.name);
    let types: Array<number | undefined> = stat.columns?.map((c) => c.typeOid) ?? [];
    if (names === undefined) {
      names = (await this.o.describer.probeNames(sql, nulls))?.slice();
      types = names?.map(() => undefined) ?? [];
    }
    if (names !== undefined && names.length > 0 && types.some((t) => t === undefined)) {
      const probed = await this.o.describer.probeTypes(sql, names.length, nulls);
      if (probed !== undefined) types = types.map((t, i) => t ?? probed[i]);
    }
    const positional = names !== undefined && (new Set(names).size !== names.length || names.some((n) => /^\d+$/.test(n)));
    return { names, types, positional, paramTypes: stat.paramTypes };
  }

  private engineFlavor(): Promise<Flavor> {
    if (this.o.engine.kind === 'embedded') return Promise.resolve('embedded');
    this.flavor ??= this.o.engine.query<{ v: string }>('SELECT pg_catalog.version() AS v')
      .then(([row]) => (/risingwave/i.test(row?.v ?? '') ? 'risingwave' as const : 'postgres' as const))
      .catch(() => {
        this.flavor = undefined;
        return 'risingwave' as const;
      });
    return this.flavor;
  }

  /** Embedded engine: refuse statements whose plan is too costly to run on the event loop's thread. */
  private async costGate(sql: string, params: ReadonlyArray<string | null>): Promise<void> {
    let cost: number;
    try {
      const [row] = await this.o.engine.query<Record<string, unknown>>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
      const plan = row?.['QUERY PLAN'];
      const parsed = typeof plan === 'string' ? JSON.parse(plan) as unknown : plan;
      cost = Number((parsed as Array<{ Plan?: { 'Total Cost'?: number } }>)[0]?.Plan?.['Total Cost']);
    } catch (err) {
      throw engineError(err, this.o.log);
    }
    if (Number.isFinite(cost) && cost > this.o.maxPlanCost) {
      throw new SqlRefusal(SqlState.PROGRAM_LIMIT_EXCEEDED,
        `the statement's estimated cost (${Math.round(cost)}) exceeds the embedded engine's limit (${this.o.maxPlanCost})`,
        { hint: 'Narrow it with WHERE, or use the RisingWave engine for heavy queries (WAVEGATE_SQL_EMBEDDED_MAX_COST).' });
    }
  }

  /** Waits for `p` unless the statement is stopped first; engine errors become SQL errors. */
  private async race<T>(p: Promise<T>, signal: CancelSignal, onStop: (() => void) | undefined): Promise<T> {
    let off: () => void = () => undefined;
    const stopped = new Promise<never>((_, reject) => {
      off = signal.onAbort(() => {
        onStop?.();
        reject(canceled(signal.reason));
      });
    });
    // A statement abandoned by the timer may still fail later: that rejection is expected.
    p.catch(() => undefined);
    try {
      return await Promise.race([p, stopped]);
    } catch (err) {
      if (err instanceof SqlRefusal) throw err;
      throw engineError(err, this.o.log);
    } finally {
      off();
    }
  }
}

/** Whose catalog an engine of this flavour has (catalog.ts). */
function catalogFlavor(flavor: Flavor): CatalogFlavor {
  return flavor === 'risingwave' ? 'risingwave' : 'postgres';
}

/**
 * WITH RECURSIVE runs only where a runaway recursion can be stopped and the engine supports it:
 * PostgreSQL (standing in for RisingWave). The embedded engine cannot interrupt a statement, and
 * RisingWave refuses recursive CTEs ("RECURSIVE CTE is not supported",
 * https://github.com/risingwavelabs/risingwave/blob/v3.0.3/src/frontend/src/binder/query.rs).
 */
function recursiveRefusal(flavor: 'embedded' | 'risingwave'): SqlRefusal {
  return flavor === 'embedded'
    ? new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, 'WITH RECURSIVE is not supported by the embedded engine',
      { hint: 'The embedded engine cannot interrupt a running statement, so it does not run recursive queries.' })
    : new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, 'WITH RECURSIVE is not supported by the RisingWave engine',
      { hint: 'RisingWave does not support recursive CTEs.' });
}

function canceled(reason: CancelSignal['reason']): SqlRefusal {
  switch (reason) {
    case 'timeout':
      return new SqlRefusal(SqlState.QUERY_CANCELED, 'canceling statement due to statement timeout');
    case 'closed':
      return new SqlRefusal(SqlState.ADMIN_SHUTDOWN, 'terminating connection due to administrator command');
    default:
      return new SqlRefusal(SqlState.QUERY_CANCELED, 'canceling statement due to user request');
  }
}

/**
 * SQLSTATE classes whose engine messages are safe and useful to show (bad SQL, bad data, limits).
 * RisingWave sends XX000 for nearly everything: the RisingWave engine hands over its errors in
 * PostgreSQL's terms (src/engine/risingwave/errors.ts), so its SQL errors pass here too.
 */
const PASS_THROUGH = /^(22|42|2B|0A|54|57014|53)/;

/** Maps an engine failure to what the client sees; anything unexpected is masked with a logged id. */
export function engineError(err: unknown, log: Logger): SqlRefusal {
  if (err instanceof SqlRefusal) return err;
  let cause: unknown = err;
  if (isGatewayError(err)) {
    if (err.code === GatewayErrorCode.ENGINE_UNAVAILABLE) {
      if (err.details?.['reason'] === 'timeout') return new SqlRefusal(SqlState.QUERY_CANCELED, 'canceling statement due to statement timeout');
      if (err.details?.['reason'] === 'cancelled') return new SqlRefusal(SqlState.QUERY_CANCELED, 'canceling statement due to user request');
      return new SqlRefusal(SqlState.CANNOT_CONNECT_NOW, 'the engine is unavailable; retry later');
    }
    cause = err.cause ?? err;
  }
  const code = (cause as { code?: unknown } | null)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && PASS_THROUGH.test(code)) {
    return new SqlRefusal(code, message);
  }
  const id = randomUUID().slice(0, 8);
  log.error({ id, code, err: message }, 'passthrough statement failed on the engine');
  return new SqlRefusal(SqlState.INTERNAL_ERROR, `internal error (id ${id})`);
}
