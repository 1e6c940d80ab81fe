import type { Registry } from '../../views/model';
import type { AstObject } from '../ast';
import type { CatalogFlavor } from '../catalog';
import type { SqlUser } from '../users';

/**
 * What the statement guard (guard.ts) hands to the session: each statement of a message,
 * classified. A SELECT comes rewritten for the engine; SET, SHOW, transaction control, DISCARD and
 * DEALLOCATE are answered by the session itself (session/localStatements.ts).
 */

/** A SELECT ready for the engine. */
export interface SelectStatement {
  readonly kind: 'select';
  /** The statement as the client wrote it (for the audit hash and error positions). */
  readonly text: string;
  /**
   * The rewritten statement for an engine with the context's catalog flavour (PostgreSQL's unless
   * said otherwise): views and catalog filtered, row cap applied.
   */
  readonly sql: string;
  /**
   * The rewritten statement for an engine with `flavor`'s catalog (the catalog rules differ,
   * catalog.ts). Throws {@link SqlRefusal} when the statement cannot run there (a catalog relation
   * that engine does not have).
   */
  sqlFor(flavor: CatalogFlavor): string;
  /** The client's parse tree of the statement (a SelectStmt), for result description. */
  readonly tree: AstObject;
  /** Highest `$n` referenced. */
  readonly paramCount: number;
  /** Uses WITH RECURSIVE (neither the embedded engine nor RisingWave runs it: executor.ts). */
  readonly recursive: boolean;
}

/** A statement the session answers itself. */
export type LocalStatement =
  | { readonly kind: 'set'; readonly name: string; readonly value: string | undefined; readonly reset: boolean }
  | { readonly kind: 'reset-all' }
  | { readonly kind: 'set-transaction' }
  | { readonly kind: 'show'; readonly name: string }
  | { readonly kind: 'transaction'; readonly op: TransactionOp; readonly chain: boolean }
  | { readonly kind: 'discard'; readonly what: string }
  | { readonly kind: 'deallocate'; readonly name: string | undefined };

/** Transaction control statements. */
export type TransactionOp = 'begin' | 'start' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollback_to';

/** One classified statement of a message, with its own text (for the audit hash). */
export type Statement = ({ readonly kind: 'empty' } | SelectStatement | LocalStatement) & { readonly text: string };

/** Who runs the statement and the limits that shape the engine SQL. */
export interface GuardContext {
  readonly user: SqlUser;
  /** Rows a result may have; the engine SQL asks for one more to detect overflow. */
  readonly maxRows: number;
  /** Whose catalog the engine has (catalog.ts); PostgreSQL's when not given. */
  readonly catalog?: CatalogFlavor;
  /** The published views (the engine's): the only relations besides the catalog a statement may read. */
  readonly views: Registry;
}
