import { type QueryResult, type ResultColumn, StatementCancel, type StatementExecutor } from '../executor';
import type { SelectStatement } from '../guard/statements';
import type { SessionSettings } from './settings';

/**
 * Runs a session's SELECTs on the executor, one at a time, under the statement timeout in effect
 * (settings.ts); a CancelRequest from another connection, or the connection closing, stops the
 * running one through {@link StatementRunner.abort}.
 */

/** The statement runner of one session. */
export class StatementRunner {
  private running: StatementCancel | undefined;

  constructor(private readonly executor: StatementExecutor, private readonly settings: SessionSettings) {}

  /** Runs `s` with `params`; `described` = the columns Describe announced, so Execute keeps their types. */
  async run(s: SelectStatement, params: ReadonlyArray<string | null>, described?: readonly ResultColumn[]): Promise<QueryResult> {
    const cancel = new StatementCancel();
    this.running = cancel;
    const timer = setTimeout(() => cancel.abort('timeout'), this.settings.timeoutMs());
    try {
      return await this.executor.execute(s, params, cancel, described);
    } finally {
      clearTimeout(timer);
      if (this.running === cancel) this.running = undefined;
    }
  }

  /** Stops the running statement, if any. */
  abort(reason: 'cancel' | 'closed'): void {
    this.running?.abort(reason);
  }
}
