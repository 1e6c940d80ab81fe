import type { QueryResult, ResultColumn } from '../executor';
import type { Statement } from '../guard/statements';
import type { FormatCode } from '../protocol';
import { sessionLimitExceeded, SqlRefusal, SqlState } from '../sqlstate';
import { columnsBytes, portalBytes, resultBytes, type SessionMemory, statementBytes } from './memory';

/**
 * What the extended query protocol remembers between messages: prepared statements (Parse) and
 * portals (Bind), by name, with per-session caps so a client cannot make a session hold unbounded
 * memory: at most 1 000 of each, and their estimated bytes charged to the session's and the
 * listener's memory budgets (memory.ts) until they are closed. The unnamed statement and portal ('') are replaced freely; named ones must be closed
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
  /** Bytes charged to the budget for each statement and portal held. */
  private readonly charged = new Map<Prepared | Portal, number>();
  /** Set when the session ended: a statement still finishing then charges nothing (nothing would give it back). */
  private ended = false;

  constructor(private readonly memory: SessionMemory) {}

  /** Bytes this session's statements and portals hold (estimated). */
  get bytes(): number {
    return this.memory.used;
  }

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

  /**
   * Stores a prepared statement, replacing the unnamed one (which is dropped first, as Postgres
   * does, even when the new one is refused). 54000 beyond the count cap or the session's budget,
   * 53200 beyond the total budget.
   */
  addStatement(name: string, prepared: Prepared): void {
    this.closeStatement(name);
    if (this.statements.size >= MAX_PREPARED) throw sessionLimitExceeded('prepared statements', MAX_PREPARED);
    this.charge(prepared, statementBytes(name, prepared.statement, prepared.paramTypes.length), 'prepared statement');
    this.statements.set(name, prepared);
  }

  /** Records the columns Describe found for `prepared` (charged to the budget; refused beyond it). */
  describe(prepared: Prepared, columns: readonly ResultColumn[]): void {
    if (prepared.described !== undefined) this.uncharge(prepared, columnsBytes(prepared.described));
    this.charge(prepared, columnsBytes(columns), 'describing a prepared statement');
    prepared.described = columns;
  }

  /** Bind to `name`: 42P03 when a named portal of that name exists, 54000 beyond the cap. */
  assertPortalFree(name: string): void {
    if (name !== '' && this.portals.has(name)) throw new SqlRefusal(SqlState.DUPLICATE_CURSOR, `portal "${name}" already exists`);
    if (!this.portals.has(name) && this.portals.size >= MAX_PORTALS) throw sessionLimitExceeded('portals', MAX_PORTALS);
  }

  /** Stores a portal (after {@link assertPortalFree}), replacing the unnamed one; refused beyond the budgets. */
  addPortal(name: string, portal: Portal): void {
    this.closePortal(name);
    this.charge(portal, portalBytes(name, portal.params, portal.resultFormats.length), 'binding a portal');
    this.portals.set(name, portal);
  }

  /** Keeps `result` in `portal` until it is closed; refused beyond the budgets (the portal stays, without it). */
  setResult(portal: Portal, result: QueryResult): void {
    this.charge(portal, resultBytes(result), 'holding the result of a portal');
    portal.result = result;
  }

  /** Close of a statement; closing one that does not exist is not an error. */
  closeStatement(name: string): void {
    this.deallocate(name);
  }

  /** Close of a portal; closing one that does not exist is not an error. */
  closePortal(name: string): void {
    const portal = this.portals.get(name);
    if (portal === undefined) return;
    this.portals.delete(name);
    this.release(portal);
  }

  /** DEALLOCATE name: false when there is no such statement. */
  deallocate(name: string): boolean {
    const prepared = this.statements.get(name);
    if (prepared === undefined) return false;
    this.statements.delete(name);
    this.release(prepared);
    return true;
  }

  /** DEALLOCATE ALL. */
  clearStatements(): void {
    for (const p of this.statements.values()) this.release(p);
    this.statements.clear();
  }

  /** The transaction ended (or Sync outside one): portals do not outlive it. */
  clearPortals(): void {
    for (const p of this.portals.values()) this.release(p);
    this.portals.clear();
  }

  /** The session ended: everything goes, and every byte is given back. */
  clearAll(): void {
    this.ended = true;
    this.clearPortals();
    this.clearStatements();
    this.charged.clear();
    this.memory.giveAll();
  }

  private charge(entry: Prepared | Portal, bytes: number, what: string): void {
    if (this.ended) return;
    this.memory.take(bytes, what);
    this.charged.set(entry, (this.charged.get(entry) ?? 0) + bytes);
  }

  private uncharge(entry: Prepared | Portal, bytes: number): void {
    const held = this.charged.get(entry) ?? 0;
    const n = Math.min(held, bytes);
    this.memory.give(n);
    this.charged.set(entry, held - n);
  }

  private release(entry: Prepared | Portal): void {
    this.memory.give(this.charged.get(entry) ?? 0);
    this.charged.delete(entry);
  }
}
