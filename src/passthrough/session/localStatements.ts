import type { QueryResult } from '../executor';
import type { LocalStatement } from '../guard/statements';
import { encode } from '../protocol';
import { SqlRefusal, SqlState } from '../sqlstate';
import type { Output } from './output';
import type { PreparedStore } from './portals';
import type { SessionSettings } from './settings';
import type { TransactionState } from './transaction';

/**
 * The statements the session answers without the engine, in either protocol: SET / RESET / SHOW
 * (settings.ts), BEGIN / COMMIT / ROLLBACK / SAVEPOINT (transaction.ts), DISCARD and DEALLOCATE
 * (portals.ts). The guard has already classified them (guard/guard.ts).
 */

/** The answer to a local statement: its CommandComplete tag and, for SHOW, rows. */
export interface LocalResult {
  readonly tag: string;
  readonly rows?: QueryResult;
}

/** Runs local statements for one session. */
export class LocalStatements {
  constructor(
    private readonly settings: SessionSettings,
    private readonly tx: TransactionState,
    private readonly store: PreparedStore,
    private readonly out: Output,
  ) {}

  /** Runs `s`; ParameterStatus and warnings go to the output first. Throws {@link SqlRefusal}. */
  run(s: LocalStatement): LocalResult {
    switch (s.kind) {
      case 'set':
        if (s.value === undefined) this.settings.reset(s.name);
        else {
          const report = this.settings.apply(s.name, s.value);
          if (report !== undefined) this.out.push(encode.parameterStatus(report.name, report.value));
        }
        return { tag: s.reset ? 'RESET' : 'SET' };
      case 'reset-all':
        this.settings.resetAll();
        return { tag: 'RESET' };
      case 'set-transaction':
        return { tag: 'SET' };
      case 'show':
        return { tag: 'SHOW', rows: this.settings.show(s.name) };
      case 'transaction': {
        const outcome = this.tx.control(s.op, s.chain);
        if (outcome.warning !== undefined) this.out.warning(outcome.warning.code, outcome.warning.message);
        if (outcome.ended) this.store.clearPortals();
        return { tag: outcome.tag };
      }
      case 'discard':
        if (s.what === 'DISCARD_ALL') {
          this.store.clearStatements();
          this.store.clearPortals();
          this.settings.resetAll();
          return { tag: 'DISCARD ALL' };
        }
        return { tag: `DISCARD ${s.what.replace('DISCARD_', '')}` };
      case 'deallocate':
        if (s.name === undefined) {
          this.store.clearStatements();
          return { tag: 'DEALLOCATE ALL' };
        }
        if (!this.store.deallocate(s.name)) throw new SqlRefusal(SqlState.INVALID_SQL_STATEMENT_NAME, `prepared statement "${s.name}" does not exist`);
        return { tag: 'DEALLOCATE' };
    }
  }
}
