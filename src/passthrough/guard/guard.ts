import { loadModule } from 'libpg-query';
import { type AstObject, constText, isObj } from '../ast';
import { SqlRefusal, SqlState } from '../sqlstate';
import { commandWord, parseStatements, type Source } from './parse';
import { rewriteSelect } from './rewrite';
import type { GuardContext, LocalStatement, SelectStatement, Statement, TransactionOp } from './statements';

/**
 * The statement guard. Every statement is parsed by libpg-query (the real Postgres parser, so
 * comments, quoting, dollar quotes and `;` inside strings are read exactly as the engine would) and
 * decided on the parse tree:
 * - SELECT (with WITH, UNION, subqueries, VALUES) is allowed when it reads only the published views,
 *   allowed catalog relations and its own CTEs, calls only allowlisted functions and casts to
 *   allowlisted types (selectWalker.ts); anything that writes, locks or runs code is refused, and
 *   the allowed SELECT is rewritten for the engine (rewrite.ts);
 * - SET / SHOW / BEGIN / COMMIT / ROLLBACK / SAVEPOINT / DISCARD / DEALLOCATE are classified here
 *   and answered by the session (session/localStatements.ts); SET ROLE and SET SESSION
 *   AUTHORIZATION are refused;
 * - everything else is refused. One refused statement refuses the whole message.
 */

/** Loads the parser's WASM module. Call once before {@link checkSql}; idempotent. */
export async function loadSqlParser(): Promise<void> {
  await loadModule();
}

/**
 * Parses and classifies every statement of `sql`. Throws {@link SqlRefusal} when any statement is
 * refused (or does not parse), so nothing of a message runs unless all of it may.
 */
export function checkSql(sql: string, ctx: GuardContext): Statement[] {
  if (sql.trim() === '') return [{ kind: 'empty', text: sql }];
  const buf = Buffer.from(sql, 'utf8');
  const stmts = parseStatements(sql, buf).stmts;
  if (stmts.length === 0) return [{ kind: 'empty', text: sql }];
  return stmts.map((raw) => {
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len === undefined || raw.stmt_len === 0 ? buf.length : start + raw.stmt_len;
    const text = buf.subarray(start, end).toString('utf8').trim();
    return { ...classify(raw.stmt, { sql, buf, start, end }, ctx), text };
  });
}

function classify(stmt: AstObject, src: Source, ctx: GuardContext): SelectStatement | LocalStatement {
  const [type] = Object.keys(stmt);
  const node = stmt[type!] as AstObject;
  switch (type) {
    case 'SelectStmt':
      return rewriteSelect(node, src, ctx);
    case 'VariableSetStmt':
      return classifySet(node);
    case 'VariableShowStmt':
      return { kind: 'show', name: String(node['name']).toLowerCase() };
    case 'TransactionStmt':
      return classifyTransaction(node);
    case 'DiscardStmt':
      return { kind: 'discard', what: String(node['target'] ?? 'DISCARD_ALL') };
    case 'DeallocateStmt':
      return { kind: 'deallocate', name: node['isall'] === true ? undefined : (node['name'] as string | undefined) };
    case 'ExplainStmt': {
      const options = (node['options'] as AstObject[] | undefined) ?? [];
      if (options.some((o) => isObj(o['DefElem']) && o['DefElem']['defname'] === 'analyze')) {
        throw new SqlRefusal(SqlState.INSUFFICIENT_PRIVILEGE, 'EXPLAIN ANALYZE is not allowed: it executes the statement');
      }
      throw new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, 'EXPLAIN is not supported by the SQL passthrough');
    }
    case 'DeclareCursorStmt':
    case 'FetchStmt':
    case 'ClosePortalStmt':
      throw new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, 'cursors are not supported by the SQL passthrough',
        { hint: 'Run the SELECT directly (psql: unset FETCH_COUNT).' });
    case 'PrepareStmt':
    case 'ExecuteStmt':
      throw new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, 'SQL-level PREPARE/EXECUTE is not supported: use the extended query protocol');
    default:
      throw new SqlRefusal(SqlState.INSUFFICIENT_PRIVILEGE,
        `${commandWord(type ?? 'unknown')} is not allowed: the SQL passthrough is read-only and runs only SELECT on the published views`);
  }
}

function classifySet(node: AstObject): LocalStatement {
  const kind = node['kind'] as string;
  const name = String(node['name'] ?? '').toLowerCase();
  if (name === 'role' || name === 'session_authorization') {
    throw new SqlRefusal(SqlState.INSUFFICIENT_PRIVILEGE, `${kind === 'VAR_RESET' ? 'RESET' : 'SET'} ${name === 'role' ? 'ROLE' : 'SESSION AUTHORIZATION'} is not allowed through the SQL passthrough`);
  }
  switch (kind) {
    case 'VAR_SET_MULTI':
      return { kind: 'set-transaction' };
    case 'VAR_RESET_ALL':
      return { kind: 'reset-all' };
    case 'VAR_RESET':
      return { kind: 'set', name, value: undefined, reset: true };
    case 'VAR_SET_DEFAULT':
    case 'VAR_SET_CURRENT':
      return { kind: 'set', name, value: undefined, reset: false };
    default: {
      const args = (node['args'] as unknown[] | undefined) ?? [];
      const parts = args.map(constText);
      if (parts.some((p) => p === undefined)) throw new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, `SET ${name} with this value form is not supported`);
      return { kind: 'set', name, value: parts.join(', '), reset: false };
    }
  }
}

const TRANSACTION_OPS: Readonly<Record<string, TransactionOp>> = {
  TRANS_STMT_BEGIN: 'begin', TRANS_STMT_START: 'start', TRANS_STMT_COMMIT: 'commit', TRANS_STMT_ROLLBACK: 'rollback',
  TRANS_STMT_SAVEPOINT: 'savepoint', TRANS_STMT_RELEASE: 'release', TRANS_STMT_ROLLBACK_TO: 'rollback_to',
};

function classifyTransaction(node: AstObject): LocalStatement {
  const op = TRANSACTION_OPS[String(node['kind'])];
  if (op === undefined) throw new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, 'two-phase commit is not supported by the SQL passthrough');
  return { kind: 'transaction', op, chain: node['chain'] === true };
}
