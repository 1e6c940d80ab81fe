import { loadModule, parseSync, scanSync } from 'libpg-query';
import { VIEWS, type ViewName } from '../views/registry';
import { viewSubquery } from './access';
import {
  ALLOWED_FUNCTIONS, ALLOWED_INFORMATION_SCHEMA_FUNCTIONS, ALLOWED_INFORMATION_SCHEMA_TYPES, ALLOWED_TYPES,
  READABLE_SETTINGS,
} from './allowlist';
import { catalogRule, catalogSubquery } from './catalog';
import { SqlState } from './sqlstate';
import type { SqlUser } from './users';

/**
 * The statement guard. Every statement is parsed by libpg-query (the real Postgres parser, so
 * comments, quoting, dollar quotes and `;` inside strings are read exactly as the engine would) and
 * decided on the parse tree:
 * - SELECT (with WITH, UNION, subqueries, VALUES) is allowed when it reads only the published views,
 *   allowed catalog relations and its own CTEs, calls only allowlisted functions and casts to
 *   allowlisted types; anything that writes, locks or runs code is refused;
 * - SET / SHOW / BEGIN / COMMIT / ROLLBACK / SAVEPOINT / DISCARD / DEALLOCATE are answered by the
 *   session (see session.ts); SET ROLE and SET SESSION AUTHORIZATION are refused;
 * - everything else is refused. One refused statement refuses the whole message.
 *
 * Rewriting: libpg-query 18 has no deparser, so the tree is not printed back. Instead each
 * relation reference found in the tree is replaced, at the exact byte span the parser and scanner
 * report for its name, by a subquery we generate (the view filtered by the user's row policy, or
 * the catalog relation filtered to what may be seen), and the result is parsed and checked again:
 * every relation in the final text must be one we generated or a reference to the statement's own
 * CTE, otherwise the statement is refused (fail closed).
 */

/** Loads the parser's WASM module. Call once before {@link checkSql}; idempotent. */
export async function loadSqlParser(): Promise<void> {
  await loadModule();
}

/** A statement the passthrough will not run: sent to the client as an ErrorResponse. */
export class SqlRefusal extends Error {
  override readonly name = 'SqlRefusal';
  constructor(
    readonly sqlState: string,
    message: string,
    readonly extra: { readonly hint?: string; readonly position?: number; readonly detail?: string } = {},
  ) {
    super(message);
  }
}

/** A SELECT ready for the engine. */
export interface SelectStatement {
  readonly kind: 'select';
  /** The statement as the client wrote it (for the audit hash and error positions). */
  readonly text: string;
  /** The rewritten statement for the engine: views and catalog filtered, row cap applied. */
  readonly sql: string;
  /** The client's parse tree of the statement (a SelectStmt), for result description. */
  readonly tree: AstObject;
  /** Highest `$n` referenced. */
  readonly paramCount: number;
  /** Uses WITH RECURSIVE (refused on the embedded engine: a runaway recursion cannot be interrupted). */
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
}

/** A parse-tree object (libpg-query JSON): plain objects, arrays and scalars. */
export type AstObject = { readonly [key: string]: unknown };

const isObj = (v: unknown): v is AstObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (isObj(v) && isObj(v['String']) ? (v['String']['sval'] as string | undefined) ?? '' : undefined);

/** Identifier quoting, as quote_ident does. */
export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

interface ScanToken {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly tokenName: string;
}

/**
 * Parses and classifies every statement of `sql`. Throws {@link SqlRefusal} when any statement is
 * refused (or does not parse), so nothing of a message runs unless all of it may.
 */
export function checkSql(sql: string, ctx: GuardContext): Statement[] {
  if (sql.trim() === '') return [{ kind: 'empty', text: sql }];
  const buf = Buffer.from(sql, 'utf8');
  const parsed = parse(sql, buf);
  const stmts = parsed.stmts;
  if (stmts.length === 0) return [{ kind: 'empty', text: sql }];
  return stmts.map((raw) => {
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len === undefined || raw.stmt_len === 0 ? buf.length : start + raw.stmt_len;
    const text = buf.subarray(start, end).toString('utf8').trim();
    return { ...classify(raw.stmt, { sql, buf, start, end }, ctx), text };
  });
}

interface ParsedStatements {
  readonly stmts: ReadonlyArray<{ readonly stmt: AstObject; readonly stmt_location?: number; readonly stmt_len?: number }>;
}

function parse(sql: string, buf: Buffer): ParsedStatements {
  try {
    return parseSync(sql) as unknown as ParsedStatements;
  } catch (err) {
    const details = (err as { sqlDetails?: { cursorPosition?: number } }).sqlDetails;
    const message = err instanceof Error ? err.message : String(err);
    const byte = details?.cursorPosition;
    throw new SqlRefusal(SqlState.SYNTAX_ERROR, message, byte === undefined ? {} : { position: charPosition(buf, byte) });
  }
}

/** 1-based character position of a byte offset (ErrorResponse positions count characters). */
export function charPosition(buf: Buffer, byte: number): number {
  return buf.subarray(0, Math.max(0, Math.min(byte, buf.length))).toString('utf8').length + 1;
}

interface Source {
  readonly sql: string;
  readonly buf: Buffer;
  /** Byte range of this statement in `buf`. */
  readonly start: number;
  readonly end: number;
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
function commandWord(nodeType: string): string {
  return COMMAND_WORDS[nodeType] ?? nodeType.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}

function classify(stmt: AstObject, src: Source, ctx: GuardContext): SelectStatement | LocalStatement {
  const [type] = Object.keys(stmt);
  const node = stmt[type!] as AstObject;
  switch (type) {
    case 'SelectStmt':
      return checkSelect(node, src, ctx);
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

function constText(v: unknown): string | undefined {
  if (!isObj(v)) return undefined;
  const c = v['A_Const'];
  if (isObj(c)) {
    if (isObj(c['sval'])) return String(c['sval']['sval'] ?? '');
    if (isObj(c['ival'])) return String(c['ival']['ival'] ?? 0);
    if (isObj(c['fval'])) return String(c['fval']['fval']);
    if (isObj(c['boolval'])) return c['boolval']['boolval'] === true ? 'on' : 'off';
    return undefined;
  }
  const cast = v['TypeCast'];
  if (isObj(cast)) return constText(cast['arg']);
  return undefined;
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

function classifyTransaction(node: AstObject): LocalStatement {
  const kind = String(node['kind']);
  const chain = node['chain'] === true;
  const op: Record<string, TransactionOp> = {
    TRANS_STMT_BEGIN: 'begin', TRANS_STMT_START: 'start', TRANS_STMT_COMMIT: 'commit', TRANS_STMT_ROLLBACK: 'rollback',
    TRANS_STMT_SAVEPOINT: 'savepoint', TRANS_STMT_RELEASE: 'release', TRANS_STMT_ROLLBACK_TO: 'rollback_to',
  };
  const o = op[kind];
  if (o === undefined) throw new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, 'two-phase commit is not supported by the SQL passthrough');
  return { kind: 'transaction', op: o, chain };
}

// ---------------------------------------------------------------------------------------------
// SELECT: walk, rewrite, verify

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** CTE names visible at a point of the tree. */
class Scope {
  constructor(private readonly names: ReadonlySet<string>, private readonly parent?: Scope) {}
  static readonly root = new Scope(new Set());
  with(names: readonly string[]): Scope {
    return names.length === 0 ? this : new Scope(new Set(names), this);
  }
  has(name: string): boolean {
    return this.names.has(name) || (this.parent?.has(name) ?? false);
  }
}

/** In verify mode: where generated relation references and CTE references may be. */
interface VerifyPlan {
  readonly spans: ReadonlyArray<{ readonly start: number; readonly end: number }>;
  readonly cteRefs: ReadonlySet<number>;
}

class Walker {
  readonly edits: Edit[] = [];
  readonly cteRefs: number[] = [];
  paramMax = 0;
  recursive = false;
  private tokens: ScanToken[] | undefined;

  constructor(
    private readonly src: Source,
    private readonly ctx: GuardContext,
    private readonly verify: VerifyPlan | undefined,
  ) {}

  private refuse(state: string, message: string, byte?: number, hint?: string): never {
    const position = byte !== undefined && byte >= 0 ? charPosition(this.src.buf, byte) : undefined;
    throw new SqlRefusal(state, message, { ...(position !== undefined ? { position } : {}), ...(hint !== undefined ? { hint } : {}) });
  }

  select(s: AstObject, scope: Scope): void {
    if (s['intoClause'] !== undefined) this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, 'SELECT INTO is not allowed: it creates a table');
    if (Array.isArray(s['lockingClause']) && s['lockingClause'].length > 0) {
      this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, 'SELECT ... FOR UPDATE/SHARE is not allowed: it locks rows');
    }
    let inner = scope;
    const w = s['withClause'];
    if (isObj(w)) {
      const ctes = ((w['ctes'] as unknown[] | undefined) ?? []).map((c) => (isObj(c) && isObj(c['CommonTableExpr']) ? c['CommonTableExpr'] : undefined));
      if (ctes.some((c) => c === undefined)) this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, 'unexpected WITH clause');
      const names = ctes.map((c) => String(c!['ctename']));
      const recursive = w['recursive'] === true;
      if (recursive) this.recursive = true;
      ctes.forEach((c, i) => this.visit(c!['ctequery'], recursive ? scope.with(names) : scope.with(names.slice(0, i))));
      inner = scope.with(names);
    }
    for (const [key, value] of Object.entries(s)) {
      if (key === 'withClause' || key === 'intoClause' || key === 'lockingClause') continue;
      if (key === 'larg' || key === 'rarg') {
        if (isObj(value)) this.select(value, inner);
        continue;
      }
      this.visit(value, inner);
    }
  }

  visit(v: unknown, scope: Scope): void {
    if (Array.isArray(v)) {
      for (const item of v) this.visit(item, scope);
      return;
    }
    if (!isObj(v)) return;
    if ('relname' in v) this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, 'unexpected relation reference');
    if ('names' in v && 'typemod' in v) this.checkType(v);
    for (const [key, value] of Object.entries(v)) {
      if (key === 'SelectStmt') {
        if (isObj(value)) this.select(value, scope);
      } else if (key === 'RangeVar') {
        if (isObj(value)) this.rangeVar(value, scope);
      } else if (key === 'FuncCall') {
        if (isObj(value)) {
          this.checkFunction(value);
          const { funcname: _skip, ...rest } = value;
          this.visit(rest, scope);
        }
      } else if (key === 'A_Expr') {
        if (isObj(value)) {
          this.checkOperator(value);
          const { name: _skip, ...rest } = value;
          this.visit(rest, scope);
        }
      } else if (key === 'CollateClause') {
        if (isObj(value)) {
          const names = ((value['collname'] as unknown[]) ?? []).map(str);
          if (names.length > 1 && names[0] !== 'pg_catalog') this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `collation ${names.join('.')} is not allowed`);
          this.visit(value['arg'], scope);
        }
      } else if (key === 'ParamRef') {
        if (isObj(value)) this.paramMax = Math.max(this.paramMax, Number(value['number'] ?? 0));
      } else if (key === 'RangeTableSample') {
        this.refuse(SqlState.FEATURE_NOT_SUPPORTED, 'TABLESAMPLE is not supported by the SQL passthrough');
      } else if (key === 'IntoClause') {
        this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, 'SELECT INTO is not allowed: it creates a table');
      } else if (key === 'LockingClause') {
        this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, 'SELECT ... FOR UPDATE/SHARE is not allowed: it locks rows');
      } else if (/Stmt$/.test(key)) {
        this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `${commandWord(key)} is not allowed: the SQL passthrough is read-only`);
      } else {
        this.visit(value, scope);
      }
    }
  }

  private checkFunction(f: AstObject): void {
    const parts = ((f['funcname'] as unknown[] | undefined) ?? []).map(str);
    const loc = f['location'] as number | undefined;
    const shown = parts.join('.');
    const name = parts[parts.length - 1];
    const schema = parts.length === 2 ? parts[0] : undefined;
    const ok = name !== undefined && parts.every((p) => p !== undefined) && (
      (parts.length === 1 && ALLOWED_FUNCTIONS.has(name))
      || (schema === 'pg_catalog' && (ALLOWED_FUNCTIONS.has(name) || SQL_SYNTAX_FUNCTIONS.has(name)))
      || (schema === 'information_schema' && ALLOWED_INFORMATION_SCHEMA_FUNCTIONS.has(name)));
    if (!ok) {
      this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `function ${shown} is not allowed through the SQL passthrough`, loc,
        'Only allowlisted functions can be called (docs/SQL.md).');
    }
    if (name === 'current_setting') {
      const setting = constText((f['args'] as unknown[] | undefined)?.[0])?.toLowerCase();
      if (setting === undefined || !READABLE_SETTINGS.has(setting)) {
        this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `current_setting(${setting === undefined ? '...' : `'${setting}'`}) is not allowed through the SQL passthrough`, loc);
      }
    }
  }

  private checkOperator(e: AstObject): void {
    const parts = ((e['name'] as unknown[] | undefined) ?? []).map(str);
    if (parts.length > 1 && parts[0] !== 'pg_catalog') {
      this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `operator ${parts.join('.')} is not allowed through the SQL passthrough`, e['location'] as number | undefined);
    }
  }

  private checkType(t: AstObject): void {
    const parts = ((t['names'] as unknown[] | undefined) ?? []).map(str);
    const name = parts[parts.length - 1];
    const schema = parts.length === 2 ? parts[0] : undefined;
    const ok = name !== undefined && parts.length <= 2 && t['setof'] !== true && t['pct_type'] !== true && (
      (schema === undefined || schema === 'pg_catalog') ? ALLOWED_TYPES.has(name)
        : schema === 'information_schema' && ALLOWED_INFORMATION_SCHEMA_TYPES.has(name));
    if (!ok) {
      this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `type ${parts.join('.')} is not allowed through the SQL passthrough`, t['location'] as number | undefined);
    }
  }

  private rangeVar(rv: AstObject, scope: Scope): void {
    const loc = Number(rv['location'] ?? -1);
    const schema = rv['schemaname'] as string | undefined;
    const name = String(rv['relname']);
    if (this.verify !== undefined) {
      // Second pass: only our own generated references, and the statement's CTE references.
      const generated = this.verify.spans.some((s) => loc >= s.start && loc < s.end);
      const okGenerated = generated && (schema === 'public' || schema === 'pg_catalog' || schema === 'information_schema');
      const okCte = !generated && schema === undefined && this.verify.cteRefs.has(loc) && scope.has(name);
      if (!okGenerated && !okCte) this.refuse(SqlState.INTERNAL_ERROR, 'the statement could not be rewritten safely');
      return;
    }
    if (rv['catalogname'] !== undefined) this.refuse(SqlState.FEATURE_NOT_SUPPORTED, 'cross-database references are not supported', loc);
    if (rv['inh'] !== true) this.refuse(SqlState.FEATURE_NOT_SUPPORTED, 'ONLY is not supported by the SQL passthrough', loc);
    if (schema === undefined && scope.has(name)) {
      this.cteRefs.push(loc);
      return;
    }
    const shown = schema === undefined ? name : `${schema}.${name}`;
    let replacement: string;
    const view = VIEWS[name as ViewName];
    const isView = view !== undefined && Object.prototype.hasOwnProperty.call(VIEWS, name);
    if ((schema === undefined || schema === 'public') && isView) {
      replacement = viewSubquery(this.ctx.user, view);
    } else if (schema === 'pg_catalog' || schema === 'information_schema' || (schema === undefined && name.startsWith('pg_'))) {
      const s = schema ?? 'pg_catalog';
      const rule = catalogRule(s as 'pg_catalog' | 'information_schema', name);
      if (rule === undefined) {
        this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `permission denied for ${s === 'pg_catalog' ? 'table' : 'view'} ${name}`, loc,
          'The SQL passthrough exposes the published views and the catalog entries describing them (docs/SQL.md).');
      }
      replacement = catalogSubquery(s as 'pg_catalog' | 'information_schema', name, rule);
    } else {
      // Hidden and missing relations look the same: their existence is not revealed.
      this.refuse(SqlState.UNDEFINED_TABLE, `relation "${shown}" does not exist`, loc,
        'The SQL passthrough serves the published views: trip_history, rider_stats, driver_stats, driver_earnings_daily.');
    }
    const span = this.nameSpan(loc, [rv['catalogname'], schema, name].filter((p) => p !== undefined).length);
    const alias = isObj(rv['alias']) ? '' : ` AS ${quoteIdent(name)}`;
    this.edits.push({ start: span.start, end: span.end, text: `${replacement}${alias}` });
  }

  /** Byte span of a (possibly qualified) relation name starting at `loc`, from the scanner. */
  private nameSpan(loc: number, parts: number): { start: number; end: number } {
    this.tokens ??= (scanSync(this.src.sql) as unknown as { tokens: ScanToken[] }).tokens;
    const i = this.tokens.findIndex((t) => t.start === loc);
    const last = this.tokens[i + 2 * (parts - 1)];
    if (i < 0 || last === undefined) this.refuse(SqlState.INTERNAL_ERROR, 'the statement could not be rewritten safely');
    for (let k = 1; k < 2 * parts - 1; k += 2) {
      if (this.tokens[i + k]!.text !== '.') this.refuse(SqlState.INTERNAL_ERROR, 'the statement could not be rewritten safely');
    }
    return { start: loc, end: last.end };
  }
}

/** COERCE_SQL_SYNTAX functions the parser emits for SQL-standard syntax (EXTRACT, AT TIME ZONE, ...). */
const SQL_SYNTAX_FUNCTIONS: ReadonlySet<string> = new Set([
  'extract', 'timezone', 'overlay', 'position', 'substring', 'btrim', 'ltrim', 'rtrim', 'normalize',
  'is_normalized', 'pg_collation_for', 'overlaps', 'like_escape', 'similar_to_escape', 'similar_escape', 'xmlexists',
]);

function checkSelect(tree: AstObject, src: Source, ctx: GuardContext): SelectStatement {
  const first = new Walker(src, ctx, undefined);
  first.select(tree, Scope.root);
  const text = src.buf.subarray(src.start, src.end).toString('utf8');

  // Apply the edits to this statement's bytes; track generated spans and where CTE references moved.
  const edits = [...first.edits].sort((a, b) => a.start - b.start);
  const parts: Buffer[] = [];
  const spans: Array<{ start: number; end: number }> = [];
  let cursor = src.start;
  let outLen = 0;
  const shift = (orig: number) => {
    let delta = -src.start;
    for (const e of edits) if (e.end <= orig) delta += Buffer.byteLength(e.text) - (e.end - e.start);
    return orig + delta;
  };
  for (const e of edits) {
    const before = src.buf.subarray(cursor, e.start);
    parts.push(before);
    outLen += before.length;
    const gen = Buffer.from(e.text, 'utf8');
    spans.push({ start: outLen, end: outLen + gen.length });
    parts.push(gen);
    outLen += gen.length;
    cursor = e.end;
  }
  const end = lastTokenEnd(src);
  parts.push(src.buf.subarray(cursor, Math.max(cursor, end)));
  let engineSql = Buffer.concat(parts).toString('utf8');

  // Row cap: ask for one row more than allowed, so an oversized result is detected, not truncated.
  const cap = ctx.maxRows + 1;
  const limit = tree['limitCount'];
  const limitValue = isObj(limit) && isObj(limit['A_Const']) && isObj(limit['A_Const']['ival']) ? Number(limit['A_Const']['ival']['ival'] ?? 0) : undefined;
  let wrapped = false;
  if (limit === undefined && tree['limitOption'] !== 'LIMIT_OPTION_WITH_TIES') {
    engineSql = `${engineSql}\nLIMIT ${cap}`;
  } else if (limitValue === undefined || limitValue > cap) {
    engineSql = `SELECT * FROM (\n${engineSql}\n) AS __wg_capped LIMIT ${cap}`;
    wrapped = true;
  }

  // Verify: the rewritten statement parses to one SELECT whose every relation is ours or a CTE.
  const outBuf = Buffer.from(engineSql, 'utf8');
  const offset = wrapped ? Buffer.byteLength('SELECT * FROM (\n') : 0;
  const plan: VerifyPlan = {
    spans: spans.map((s) => ({ start: s.start + offset, end: s.end + offset })),
    cteRefs: new Set(first.cteRefs.map((l) => shift(l) + offset)),
  };
  let reparsed: ParsedStatements;
  try {
    reparsed = parseSync(engineSql) as unknown as ParsedStatements;
  } catch {
    // The reference's surroundings do not take a subquery (TABLE v, v*, ...).
    throw new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, 'this form of relation reference is not supported by the SQL passthrough',
      { hint: 'Write SELECT ... FROM <view>.' });
  }
  const only = reparsed.stmts.length === 1 ? reparsed.stmts[0]!.stmt['SelectStmt'] : undefined;
  if (!isObj(only)) throw new SqlRefusal(SqlState.INTERNAL_ERROR, 'the statement could not be rewritten safely');
  new Walker({ sql: engineSql, buf: outBuf, start: 0, end: outBuf.length }, ctx, plan).select(only, Scope.root);

  return { kind: 'select', text, sql: engineSql, tree, paramCount: first.paramMax, recursive: first.recursive };
}

/** End of the statement's last real token (so trailing comments and `;` are left out). */
function lastTokenEnd(src: Source): number {
  const tokens = (scanSync(src.sql) as unknown as { tokens: ScanToken[] }).tokens;
  let end = src.start;
  for (const t of tokens) {
    if (t.start < src.start || t.end > src.end) continue;
    if (t.tokenName === 'SQL_COMMENT' || t.tokenName === 'C_COMMENT' || t.text === ';') continue;
    end = Math.max(end, t.end);
  }
  return end;
}
