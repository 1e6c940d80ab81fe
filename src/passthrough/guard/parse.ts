import { parseSync, scanSync } from 'libpg-query';
import type { AstObject } from '../ast';
import { SqlRefusal, SqlState } from '../sqlstate';

/**
 * The guard's access to libpg-query (the real Postgres parser and scanner, compiled to WASM):
 * parsing a message into statements, scanning tokens, and turning the byte offsets both report
 * into the character positions an ErrorResponse carries.
 */

/** Statements of a message as libpg-query returns them; locations and lengths are byte offsets. */
export interface ParsedStatements {
  readonly stmts: ReadonlyArray<{ readonly stmt: AstObject; readonly stmt_location?: number; readonly stmt_len?: number }>;
}

/** One scanner token; `start`/`end` are byte offsets. */
export interface ScanToken {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly tokenName: string;
}

/** One statement of a message: the whole text and this statement's byte range in it. */
export interface Source {
  readonly sql: string;
  readonly buf: Buffer;
  /** Byte range of this statement in `buf`. */
  readonly start: number;
  readonly end: number;
}

/** Parses `sql` (whose UTF-8 bytes are `buf`); a syntax error is a 42601 refusal with its position. */
export function parseStatements(sql: string, buf: Buffer): ParsedStatements {
  try {
    return parseSync(sql) as unknown as ParsedStatements;
  } catch (err) {
    const details = (err as { sqlDetails?: { cursorPosition?: number } }).sqlDetails;
    const message = err instanceof Error ? err.message : String(err);
    const byte = details?.cursorPosition;
    throw new SqlRefusal(SqlState.SYNTAX_ERROR, message, byte === undefined ? {} : { position: charPosition(buf, byte) });
  }
}

/** Parses text the guard generated; undefined when it does not parse. */
export function reparse(sql: string): ParsedStatements | undefined {
  try {
    return parseSync(sql) as unknown as ParsedStatements;
  } catch {
    return undefined;
  }
}

/** The scanner's tokens of `sql` (comments included). */
export function scanTokens(sql: string): ScanToken[] {
  return (scanSync(sql) as unknown as { tokens: ScanToken[] }).tokens;
}

/** 1-based character position of a byte offset (ErrorResponse positions count characters). */
export function charPosition(buf: Buffer, byte: number): number {
  return buf.subarray(0, Math.max(0, Math.min(byte, buf.length))).toString('utf8').length + 1;
}

const COMMAND_WORDS: Record<string, string> = {
  InsertStmt: 'INSERT', UpdateStmt: 'UPDATE', DeleteStmt: 'DELETE', MergeStmt: 'MERGE', CopyStmt: 'COPY',
  TruncateStmt: 'TRUNCATE', DoStmt: 'DO', CallStmt: 'CALL', ListenStmt: 'LISTEN', NotifyStmt: 'NOTIFY',
  UnlistenStmt: 'UNLISTEN', LockStmt: 'LOCK', GrantStmt: 'GRANT/REVOKE', GrantRoleStmt: 'GRANT/REVOKE',
  VacuumStmt: 'VACUUM/ANALYZE', CreateTableAsStmt: 'CREATE TABLE AS', RefreshMatViewStmt: 'REFRESH MATERIALIZED VIEW',
  CheckPointStmt: 'CHECKPOINT', LoadStmt: 'LOAD', AlterSystemStmt: 'ALTER SYSTEM', ClusterStmt: 'CLUSTER',
  ReindexStmt: 'REINDEX', CommentStmt: 'COMMENT', SecLabelStmt: 'SECURITY LABEL', CreateFunctionStmt: 'CREATE FUNCTION',
};

/** `CreateStmt` → `CREATE`, `AlterTableStmt` → `ALTER TABLE`: a readable name for a refused statement. */
export function commandWord(nodeType: string): string {
  return COMMAND_WORDS[nodeType] ?? nodeType.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}
