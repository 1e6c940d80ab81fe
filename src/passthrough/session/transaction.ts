import type { Statement, TransactionOp } from '../guard/statements';
import { SqlRefusal, SqlState } from '../sqlstate';

/**
 * Transaction status, as ReadyForQuery reports it. The passthrough only reads, so a transaction
 * block is bookkeeping: nothing is held open on the engine, but clients (JDBC, psql) rely on the
 * status and on Postgres' rule that a failed block runs nothing but ROLLBACK until it ends.
 *
 *   I (idle) ──BEGIN / START──▶ T (in a block) ──a statement fails──▶ E (failed block)
 *      ▲                          │                                     │
 *      └────COMMIT / ROLLBACK─────┴──────────COMMIT / ROLLBACK──────────┘
 *
 * ROLLBACK TO SAVEPOINT goes back to T; COMMIT / ROLLBACK AND CHAIN stay in T; COMMIT of a failed
 * block answers ROLLBACK, as Postgres does.
 */

/** I idle, T in a transaction block, E in a failed transaction block. */
export type TxStatus = 'I' | 'T' | 'E';

/** What a transaction control statement did. */
export interface TransactionOutcome {
  /** The CommandComplete tag. */
  readonly tag: string;
  /** A warning to send first (BEGIN inside a block, COMMIT outside one). */
  readonly warning?: { readonly code: string; readonly message: string };
  /** COMMIT or ROLLBACK left the session idle: its portals go. */
  readonly ended: boolean;
}

/** The transaction status of one session. */
export class TransactionState {
  private current: TxStatus = 'I';

  /** The status for ReadyForQuery. */
  get status(): TxStatus {
    return this.current;
  }

  /** A statement failed: a block becomes a failed block; outside a block nothing changes. */
  fail(): void {
    if (this.current === 'T') this.current = 'E';
  }

  /** In a failed block only ROLLBACK / COMMIT / ROLLBACK TO run (25P02 otherwise). */
  assertNotAborted(s: Statement): void {
    if (this.current !== 'E') return;
    if (s.kind === 'transaction' && (s.op === 'rollback' || s.op === 'commit' || s.op === 'rollback_to')) return;
    throw new SqlRefusal(SqlState.IN_FAILED_TRANSACTION, 'current transaction is aborted, commands ignored until end of transaction block');
  }

  /** Runs a transaction control statement; throws {@link SqlRefusal} for a savepoint outside a block. */
  control(op: TransactionOp, chain: boolean): TransactionOutcome {
    const before = this.current;
    switch (op) {
      case 'begin':
      case 'start': {
        const tag = op === 'begin' ? 'BEGIN' : 'START TRANSACTION';
        if (before !== 'I') return { tag, warning: { code: SqlState.ACTIVE_TRANSACTION, message: 'there is already a transaction in progress' }, ended: false };
        this.current = 'T';
        return { tag, ended: false };
      }
      case 'commit':
      case 'rollback': {
        this.current = chain && before !== 'I' ? 'T' : 'I';
        const tag = op === 'commit' && before !== 'E' ? 'COMMIT' : 'ROLLBACK';
        const warning = before === 'I' ? { code: SqlState.NO_ACTIVE_TRANSACTION, message: 'there is no transaction in progress' } : undefined;
        return { tag, ...(warning !== undefined ? { warning } : {}), ended: this.current === 'I' };
      }
      case 'rollback_to':
        if (before === 'I') throw new SqlRefusal(SqlState.NO_ACTIVE_TRANSACTION, 'ROLLBACK TO SAVEPOINT can only be used in transaction blocks');
        this.current = 'T';
        return { tag: 'ROLLBACK', ended: false };
      default:
        if (before === 'I') throw new SqlRefusal(SqlState.NO_ACTIVE_TRANSACTION, `${op.toUpperCase()} can only be used in transaction blocks`);
        return { tag: op === 'savepoint' ? 'SAVEPOINT' : 'RELEASE', ended: false };
    }
  }
}
