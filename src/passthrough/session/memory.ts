import type { QueryResult, ResultColumn } from '../executor';
import type { Statement } from '../guard/statements';
import { SqlRefusal, SqlState } from '../sqlstate';

/**
 * Byte budgets for what sessions keep between messages: prepared statements (text, rewritten SQL,
 * parse tree, parameter types, described columns) and portals (bound parameters and the result a
 * portal holds until it is closed). One budget per session and one for all sessions of a listener
 * (docs/SQL.md "Limits"). Sizes are estimates of what the objects hold (string bytes, parse tree
 * as JSON, per-item overheads), not heap measurements; they grow with what the client sent, which
 * is what the budget must bound. Everything is given back on Close, DEALLOCATE, DISCARD ALL, when a
 * portal ends with its transaction, and when the session ends.
 *
 * Over the session's budget is ERROR 54000 program_limit_exceeded (the client asked for more than
 * one session may hold: not worth retrying as is, like the other per-session caps); over the total
 * is ERROR 53200 out_of_memory (class 53, insufficient resources: other sessions hold the memory,
 * retrying later can work). Neither closes the connection.
 */

/** The budget of all sessions together. */
export class TotalMemory {
  private usedBytes = 0;
  constructor(readonly limit: number) {}

  /** Bytes held by all sessions. */
  get used(): number {
    return this.usedBytes;
  }

  /** @internal Used by {@link SessionMemory}. */
  tryTake(bytes: number): boolean {
    if (this.usedBytes + bytes > this.limit) return false;
    this.usedBytes += bytes;
    return true;
  }

  /** @internal Used by {@link SessionMemory}. */
  give(bytes: number): void {
    this.usedBytes = Math.max(0, this.usedBytes - bytes);
  }
}

/** The budget of one session. */
export class SessionMemory {
  private usedBytes = 0;
  constructor(private readonly total: TotalMemory, readonly limit: number) {}

  /** Bytes this session holds. */
  get used(): number {
    return this.usedBytes;
  }

  /** Takes `bytes` for `what` or throws {@link SqlRefusal} (54000 over this session's budget, 53200 over the total). */
  take(bytes: number, what: string): void {
    if (this.usedBytes + bytes > this.limit) {
      throw new SqlRefusal(SqlState.PROGRAM_LIMIT_EXCEEDED,
        `${what} would make this session hold ${this.usedBytes + bytes} bytes of prepared statements and portals (at most ${this.limit})`,
        { hint: 'Close or DEALLOCATE prepared statements and close portals no longer needed.' });
    }
    if (!this.total.tryTake(bytes)) {
      throw new SqlRefusal(SqlState.OUT_OF_MEMORY,
        `out of memory for prepared statements and portals: all sessions together hold ${this.total.used} bytes (at most ${this.total.limit})`,
        { hint: 'Try again later.' });
    }
    this.usedBytes += bytes;
  }

  /** Gives back `bytes` taken earlier. */
  give(bytes: number): void {
    const n = Math.min(bytes, this.usedBytes);
    this.usedBytes -= n;
    this.total.give(n);
  }

  /** Gives back everything (the session ended). */
  giveAll(): void {
    this.give(this.usedBytes);
  }
}

/** Fixed cost of an entry (map slot, object headers), in bytes. */
const ENTRY_BYTES = 256;

/** Estimated bytes of a prepared statement named `name`. */
export function statementBytes(name: string, statement: Statement, paramCount: number): number {
  let n = ENTRY_BYTES + name.length * 2 + statement.text.length * 2 + paramCount * 8;
  if (statement.kind === 'select') {
    // The rewritten SQL and the parse tree are kept with the statement (guard/statements.ts).
    n += statement.sql.length * 2 + jsonLength(statement.tree) * 2;
  }
  return n;
}

/** Estimated bytes of described result columns. */
export function columnsBytes(columns: readonly ResultColumn[]): number {
  return columns.reduce((n, c) => n + 64 + c.name.length * 2, 0);
}

/** Estimated bytes of a portal's bound parameters. */
export function portalBytes(name: string, params: ReadonlyArray<string | null>, formats: number): number {
  return params.reduce((n, p) => n + 16 + (p === null ? 0 : p.length * 2), ENTRY_BYTES + name.length * 2 + formats * 2);
}

/** Estimated bytes of a result a portal holds. */
export function resultBytes(result: QueryResult): number {
  let n = columnsBytes(result.columns);
  for (const row of result.rows) {
    n += 32;
    for (const v of row) n += 16 + (v === null ? 0 : v.length * 2);
  }
  return n;
}

function jsonLength(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch {
    return 0;
  }
}
