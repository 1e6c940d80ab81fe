import { engineError } from '../executor';
import { checkSql } from '../guard/guard';
import type { Statement } from '../guard/statements';
import { encode } from '../protocol';
import { SqlRefusal } from '../sqlstate';
import type { QueryContext } from './context';
import type { LocalResult } from './localStatements';
import { fields } from './output';

/**
 * The simple query protocol: one Query message, possibly several statements. The whole message is
 * checked first (one refused statement refuses all of it, so nothing of it runs); then the
 * statements run in order, each answered with RowDescription / DataRows / CommandComplete, and the
 * first failure ends the message. ReadyForQuery closes every answer.
 */
export class SimpleQuery {
  constructor(private readonly ctx: QueryContext) {}

  /** Answers one Query message, through ReadyForQuery, and flushes. */
  async run(sql: string): Promise<void> {
    const { ctx } = this;
    const started = Date.now();
    let statements: Statement[];
    try {
      statements = checkSql(sql, { user: ctx.user, maxRows: ctx.maxRows, views: ctx.executor.views });
    } catch (err) {
      if (!(err instanceof SqlRefusal)) throw err;
      ctx.audit.statement(sql, 0, started, err.sqlState, 'simple');
      ctx.out.error(err);
      ctx.tx.fail();
      ctx.out.push(encode.readyForQuery(ctx.tx.status));
      return ctx.out.flush();
    }
    for (const s of statements) {
      if (!(await this.statement(s))) break;
    }
    ctx.out.push(encode.readyForQuery(ctx.tx.status));
    return ctx.out.flush();
  }

  /** Runs one statement of the message; false when it failed (the rest of the message is skipped). */
  private async statement(s: Statement): Promise<boolean> {
    const { ctx } = this;
    const t0 = Date.now();
    try {
      if (s.kind === 'empty') {
        ctx.out.push(encode.emptyQuery());
        return true;
      }
      ctx.tx.assertNotAborted(s);
      let answer: LocalResult;
      if (s.kind === 'select') {
        const result = await ctx.runner.run(s, []);
        answer = { tag: `SELECT ${result.rows.length}`, rows: result };
      } else {
        answer = ctx.local.run(s);
      }
      if (answer.rows !== undefined) {
        ctx.out.push(encode.rowDescription(fields(answer.rows.columns, [])));
        await ctx.out.rows(answer.rows, 0, answer.rows.rows.length, []);
      }
      ctx.out.push(encode.commandComplete(answer.tag));
      ctx.audit.statement(s.text, answer.rows?.rows.length ?? 0, t0, undefined, 'simple');
      return true;
    } catch (err) {
      const refusal = err instanceof SqlRefusal ? err : engineError(err, ctx.log);
      ctx.audit.statement(s.text, 0, t0, refusal.sqlState, 'simple');
      ctx.out.error(refusal);
      ctx.tx.fail();
      return false;
    }
  }
}
