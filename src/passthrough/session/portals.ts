import type { QueryResult, ResultColumn } from '../executor';
import type { Statement } from '../guard/statements';
import type { FormatCode } from '../protocol';
import { sessionLimitExceeded, SqlRefusal, SqlState } from '../sqlstate';

/**
 * What the extended query protocol remembers between messages: prepared statements (Parse) and
 * portals (Bind), by name, with per-session caps so a client cannot make a session hold unbounded
 * memory. The unnamed statement and portal ('') are replaced freely; named ones must be closed
 * before their name is reused, as in Postgres.
 */

/** A parsed statement (Parse). */
export interface Prepared {
  readonly statement: Statement;
  /** Parameter types: from Parse where given, else inferred (25 text when nothing is known). */
  paramTypes: number[];
  /** Set once described, so Execute encodes with the types the client was told. */
  described?: readonly ResultColumn[];
}

/** A bound statement (Bind), ready to execute, possibly in several row batches. */
export interface Portal {
  readonly prepared: Prepared;
  readonly params: ReadonlyArray<string | null>;
  readonly resultFormats: readonly FormatCode[];
  result?: QueryResult;
  /** Rows already sent by earlier Executes (portal suspension). */
  sent: number;
  /** Local statements (SET/SHOW/BEGIN) run once. */
  done: boolean;
  /** Text of the local result (SHOW), when there is one. */
  localRows?: QueryResult;
}

const MAX_PREPARED = 1_000;
const MAX_PORTALS = 1_000;

/** Prepared statements and portals of one session. */
export class PreparedStore {
  private readonly statements = new Map<string, Prepared>();
  private readonly portals = new Map<string, Portal>();

  /** The prepared statement `name`, or undefined. */
  statement(name: string): Prepared | undefined {
    return this.statements.get(name);
  }

  /** The portal `name`, or undefined. */
  portal(name: string): Portal | undefined {
    return this.portals.get(name);
  }

  /** Parse of `name`: 42P05 when a named statement of that name exists. */
  assertStatementFree(name: string): void {
    if (name !== '' && this.statements.has(name)) {
      throw new SqlRefusal(SqlState.DUPLICATE_PREPARED_STATEMENT, `prepared statement "${name}" already exists`);
    }
  }

  /** Stores a prepared statement (54000 beyond the cap). */
  addStatement(name: string, prepared: Prepared): void {
    if (!this.statements.has(name) && this.statements.size >= MAX_PREPARED) throw sessionLimitExceeded('prepared statements', MAX_PREPARED);
    this.statements.set(name, prepared);
  }

  /** Bind to `name`: 42P03 when a named portal of that name exists, 54000 beyond the cap. */
  assertPortalFree(name: string): void {
    if (name !== '' && this.portals.has(name)) throw new SqlRefusal(SqlState.DUPLICATE_CURSOR, `portal "${name}" already exists`);
    if (!this.portals.has(name) && this.portals.size >= MAX_PORTALS) throw sessionLimitExceeded('portals', MAX_PORTALS);
  }

  /** Stores a portal (after {@link assertPortalFree}). */
  addPortal(name: string, portal: Portal): void {
    this.portals.set(name, portal);
  }

  /** Close of a statement; closing one that does not exist is not an error. */
  closeStatement(name: string): void {
    this.statements.delete(name);
  }

  /** Close of a portal; closing one that does not exist is not an error. */
  closePortal(name: string): void {
    this.portals.delete(name);
  }

  /** DEALLOCATE name: false when there is no such statement. */
  deallocate(name: string): boolean {
    return this.statements.delete(name);
  }

  /** DEALLOCATE ALL. */
  clearStatements(): void {
    this.statements.clear();
  }

  /** The transaction ended (or Sync outside one): portals do not outlive it. */
  clearPortals(): void {
    this.portals.clear();
  }
}
