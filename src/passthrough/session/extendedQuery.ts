import { engineError, type QueryResult } from '../executor';
import { checkSql } from '../guard/guard';
import type { SelectStatement, Statement } from '../guard/statements';
import { encode, type FrontendMessage } from '../protocol';
import { SqlRefusal, SqlState } from '../sqlstate';
import { Oid } from '../types';
import { binaryToText, hasBinary } from '../values';
import type { QueryContext } from './context';
import { fields, formatOf } from './output';
import type { Portal, Prepared, PreparedStore } from './portals';
import { showColumns } from './settings';

/**
 * The extended query protocol: Parse, Bind, Describe, Execute, Close and Sync. Each message is
 * answered on its own (ParseComplete, BindComplete, ...) and buffered until Sync or Flush. A refused
 * or failed message is an ErrorResponse, and then every message up to the next Sync is skipped, as
 * Postgres does; Sync answers ReadyForQuery. A SELECT portal runs once (at Describe or the first
 * Execute) and Execute with a row limit sends its rows in batches (PortalSuspended between them).
 */

/** The messages handled through {@link ExtendedQuery.handle}. */
export type ExtendedMessage = Extract<FrontendMessage, { type: 'Parse' | 'Bind' | 'Describe' | 'Execute' }>;

/** The extended query protocol of one session. */
export class ExtendedQuery {
  /** An error happened: skip messages until Sync. */
  private skipping = false;

  constructor(private readonly ctx: QueryContext, private readonly store: PreparedStore) {}

  /** True between an error and the next Sync: the session ignores messages other than Sync and Terminate. */
  get skippingUntilSync(): boolean {
    return this.skipping;
  }

  /** Handles Parse, Bind, Describe or Execute; a refusal becomes an ErrorResponse and starts skipping. */
  async handle(m: ExtendedMessage): Promise<void> {
    try {
      await this.dispatch(m);
    } catch (err) {
      if (!(err instanceof SqlRefusal)) throw err;
      this.ctx.out.error(err);
      this.skipping = true;
      this.ctx.tx.fail();
    }
    await this.ctx.out.flushIfFull();
  }

  private async dispatch(m: ExtendedMessage): Promise<void> {
    switch (m.type) {
      case 'Parse':
        return this.parse(m.name, m.sql, m.paramTypes);
      case 'Bind':
        return this.bind(m);
      case 'Describe':
        return this.describe(m.target, m.name);
      case 'Execute':
        return this.execute(m.portal, m.maxRows);
    }
  }

  /** Sync: the end of an extended-protocol batch. */
  sync(): Promise<void> {
    this.skipping = false;
    if (this.ctx.tx.status === 'I') this.store.clearPortals();
    this.ctx.out.push(encode.readyForQuery(this.ctx.tx.status));
    return this.ctx.out.flush();
  }

  /** Close of a statement ('S') or portal ('P'). */
  close(target: 'S' | 'P', name: string): void {
    if (target === 'S') this.store.closeStatement(name);
    else this.store.closePortal(name);
    this.ctx.out.push(encode.closeComplete());
  }

  private parse(name: string, sql: string, types: readonly number[]): void {
    this.store.assertStatementFree(name);
    const started = Date.now();
    let statements: Statement[];
    try {
      statements = checkSql(sql, { user: this.ctx.user, maxRows: this.ctx.maxRows, views: this.ctx.executor.views });
    } catch (err) {
      if (err instanceof SqlRefusal) this.ctx.audit.statement(sql, 0, started, err.sqlState, 'extended');
      throw err;
    }
    if (statements.length > 1) {
      this.ctx.audit.statement(sql, 0, started, SqlState.SYNTAX_ERROR, 'extended');
      throw new SqlRefusal(SqlState.SYNTAX_ERROR, 'cannot insert multiple commands into a prepared statement');
    }
    const statement = statements[0]!;
    const count = Math.max(types.length, statement.kind === 'select' ? statement.paramCount : 0);
    const paramTypes = Array.from({ length: count }, (_, i) => types[i] ?? 0);
    this.store.addStatement(name, { statement, paramTypes });
    this.ctx.out.push(encode.parseComplete());
  }

  private async bind(m: Extract<ExtendedMessage, { type: 'Bind' }>): Promise<void> {
    const prepared = this.store.statement(m.statement);
    if (prepared === undefined) {
      throw new SqlRefusal(SqlState.INVALID_SQL_STATEMENT_NAME, m.statement === '' ? 'unnamed prepared statement does not exist' : `prepared statement "${m.statement}" does not exist`);
    }
    this.store.assertPortalFree(m.portal);
    if (m.params.length !== prepared.paramTypes.length) {
      throw new SqlRefusal(SqlState.PROTOCOL_VIOLATION,
        `bind message supplies ${m.params.length} parameters, but prepared statement "${m.statement}" requires ${prepared.paramTypes.length}`);
    }
    if (prepared.statement.kind === 'select') this.ctx.tx.assertNotAborted(prepared.statement);
    if (m.paramFormats.some((f) => f === 1)) await this.inferParamTypes(prepared);
    const params = m.params.map((p, i) => {
      if (p === null) return null;
      if (formatOf(m.paramFormats, i) === 0) {
        const text = p.toString('utf8');
        if (text.includes('\0')) throw new SqlRefusal(SqlState.INVALID_TEXT_REPRESENTATION, 'invalid byte sequence: parameter contains a NUL byte');
        return text;
      }
      const oid = prepared.paramTypes[i] ?? 0;
      if (!hasBinary(oid)) throw new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, `binary format for parameter $${i + 1} (type ${oid}) is not supported`);
      try {
        return binaryToText(oid, p);
      } catch (err) {
        throw new SqlRefusal(SqlState.INVALID_TEXT_REPRESENTATION, `invalid binary value for parameter $${i + 1}: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    this.store.addPortal(m.portal, { prepared, params, resultFormats: m.resultFormats, sent: 0, done: false });
    this.ctx.out.push(encode.bindComplete());
  }

  /** Fills unknown (0) parameter types: inferred from the statement, else text. */
  private async inferParamTypes(prepared: Prepared): Promise<void> {
    if (!prepared.paramTypes.some((t) => t === 0)) return;
    const inferred = prepared.statement.kind === 'select'
      ? (await this.ctx.executor.describe(prepared.statement, prepared.paramTypes.length)).paramTypes
      : new Map<number, number>();
    prepared.paramTypes = prepared.paramTypes.map((t, i) => (t !== 0 ? t : inferred.get(i + 1) ?? Oid.text));
  }

  private async describe(target: 'S' | 'P', name: string): Promise<void> {
    if (target === 'S') return this.describeStatement(name);
    const portal = this.store.portal(name);
    if (portal === undefined) throw new SqlRefusal(SqlState.INVALID_CURSOR_NAME, `portal "${name}" does not exist`);
    const s = portal.prepared.statement;
    if (s.kind === 'select') {
      // Run now: the RowDescription then reflects the real result, and Execute streams it.
      portal.result ??= await this.runPortal(portal, s);
      this.ctx.out.push(encode.rowDescription(fields(portal.result.columns, portal.resultFormats)));
    } else if (s.kind === 'show') {
      this.ctx.out.push(encode.rowDescription(fields(showColumns(s.name), portal.resultFormats)));
    } else {
      this.ctx.out.push(encode.noData());
    }
  }

  private async describeStatement(name: string): Promise<void> {
    const prepared = this.store.statement(name);
    if (prepared === undefined) throw new SqlRefusal(SqlState.INVALID_SQL_STATEMENT_NAME, `prepared statement "${name}" does not exist`);
    await this.inferParamTypes(prepared);
    this.ctx.out.push(encode.parameterDescription(prepared.paramTypes));
    const s = prepared.statement;
    if (s.kind === 'select') {
      const { columns } = await this.ctx.executor.describe(s, prepared.paramTypes.length);
      prepared.described = columns;
      this.ctx.out.push(encode.rowDescription(fields(columns, [])));
    } else if (s.kind === 'show') {
      this.ctx.out.push(encode.rowDescription(fields(showColumns(s.name), [])));
    } else {
      this.ctx.out.push(encode.noData());
    }
  }

  private async runPortal(portal: Portal, s: SelectStatement): Promise<QueryResult> {
    const t0 = Date.now();
    try {
      const result = await this.ctx.runner.run(s, portal.params, portal.prepared.described);
      for (const [i, c] of result.columns.entries()) {
        if (formatOf(portal.resultFormats, i) === 1 && !hasBinary(c.typeOid)) {
          throw new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, `binary format for column "${c.name}" (type ${c.typeOid}) is not supported`,
            { hint: 'Request text format (JDBC: binaryTransfer=false).' });
        }
      }
      this.ctx.audit.statement(s.text, result.rows.length, t0, undefined, 'extended');
      return result;
    } catch (err) {
      const refusal = err instanceof SqlRefusal ? err : engineError(err, this.ctx.log);
      this.ctx.audit.statement(s.text, 0, t0, refusal.sqlState, 'extended');
      throw refusal;
    }
  }

  private async execute(name: string, maxRows: number): Promise<void> {
    const portal = this.store.portal(name);
    if (portal === undefined) throw new SqlRefusal(SqlState.INVALID_CURSOR_NAME, `portal "${name}" does not exist`);
    const s = portal.prepared.statement;
    if (s.kind === 'empty') {
      this.ctx.out.push(encode.emptyQuery());
      return;
    }
    if (s.kind === 'select') {
      portal.result ??= await this.runPortal(portal, s);
      const total = portal.result.rows.length;
      const end = maxRows > 0 ? Math.min(total, portal.sent + maxRows) : total;
      await this.ctx.out.rows(portal.result, portal.sent, end, portal.resultFormats);
      const count = end - portal.sent;
      portal.sent = end;
      this.ctx.out.push(end < total ? encode.portalSuspended() : encode.commandComplete(`SELECT ${count}`));
      return;
    }
    if (portal.done) {
      this.ctx.out.push(encode.commandComplete(portal.localRows !== undefined ? 'SHOW' : 'SET'));
      return;
    }
    const t0 = Date.now();
    try {
      this.ctx.tx.assertNotAborted(s);
      const local = this.ctx.local.run(s);
      portal.done = true;
      if (local.rows !== undefined) {
        portal.localRows = local.rows;
        await this.ctx.out.rows(local.rows, 0, local.rows.rows.length, portal.resultFormats);
      }
      this.ctx.out.push(encode.commandComplete(local.tag));
      this.ctx.audit.statement(s.text, local.rows?.rows.length ?? 0, t0, undefined, 'extended');
    } catch (err) {
      if (err instanceof SqlRefusal) this.ctx.audit.statement(s.text, 0, t0, err.sqlState, 'extended');
      throw err;
    }
  }
}
