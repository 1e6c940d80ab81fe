import { VIEWS, type ViewName } from '../../views/registry';
import { viewSubquery } from '../access';
import {
  ALLOWED_FUNCTIONS, ALLOWED_INFORMATION_SCHEMA_FUNCTIONS, ALLOWED_INFORMATION_SCHEMA_TYPES, ALLOWED_TYPES,
  READABLE_SETTINGS,
} from '../allowlist';
import { type AstObject, constText, isObj, sval } from '../ast';
import { catalogRule, catalogSubquery } from '../catalog';
import { SqlRefusal, SqlState } from '../sqlstate';
import { charPosition, commandWord, scanTokens, type ScanToken, type Source } from './parse';
import type { GuardContext } from './statements';

/**
 * The walk over a SELECT's parse tree. It refuses what a read-only BI user may not do (writes,
 * locks, SELECT INTO, functions, operators, types and collations off the allowlists, TABLESAMPLE,
 * nested statements) and, for each relation reference, decides what replaces it:
 * - a published view → the view filtered by the user's row policy (access.ts);
 * - an allowed catalog relation → the relation filtered to what may be seen (catalog.ts);
 * - the statement's own CTE → left alone;
 * - anything else → 42P01, the same answer for hidden and missing relations.
 * The replacements are collected as byte-span edits; rewrite.ts applies them. In verify mode (the
 * second pass, over the rewritten text) it accepts only the references it generated and the CTE
 * references, and refuses anything else (fail closed).
 */

/** One replacement of a byte span of the statement. */
export interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** CTE names visible at a point of the tree. */
export class Scope {
  constructor(private readonly names: ReadonlySet<string>, private readonly parent?: Scope) {}
  /** The scope of a statement's top level: no CTEs. */
  static readonly root = new Scope(new Set());
  /** A scope that also sees `names`. */
  with(names: readonly string[]): Scope {
    return names.length === 0 ? this : new Scope(new Set(names), this);
  }
  /** Whether `name` is a CTE visible here. */
  has(name: string): boolean {
    return this.names.has(name) || (this.parent?.has(name) ?? false);
  }
}

/** In verify mode: where generated relation references and CTE references may be. */
export interface VerifyPlan {
  readonly spans: ReadonlyArray<{ readonly start: number; readonly end: number }>;
  readonly cteRefs: ReadonlySet<number>;
}

/** COERCE_SQL_SYNTAX functions the parser emits for SQL-standard syntax (EXTRACT, AT TIME ZONE, ...). */
const SQL_SYNTAX_FUNCTIONS: ReadonlySet<string> = new Set([
  'extract', 'timezone', 'overlay', 'position', 'substring', 'btrim', 'ltrim', 'rtrim', 'normalize',
  'is_normalized', 'pg_collation_for', 'overlaps', 'like_escape', 'similar_to_escape', 'similar_escape', 'xmlexists',
]);

/** Identifier quoting, as quote_ident does. */
function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** One pass over a SELECT: checks it, and (first pass) collects the edits and CTE references. */
export class SelectWalker {
  /** Replacements of relation references (first pass). */
  readonly edits: Edit[] = [];
  /** Byte offsets of references to the statement's own CTEs (first pass). */
  readonly cteRefs: number[] = [];
  /** Highest `$n` seen. */
  paramMax = 0;
  /** Whether a WITH RECURSIVE was seen. */
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

  /** Walks a SelectStmt body (its WITH clause first, so CTE names are in scope for the rest). */
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

  private visit(v: unknown, scope: Scope): void {
    if (Array.isArray(v)) {
      for (const item of v) this.visit(item, scope);
      return;
    }
    if (!isObj(v)) return;
    if ('relname' in v) this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, 'unexpected relation reference');
    if ('names' in v && 'typemod' in v) this.checkType(v);
    for (const [key, value] of Object.entries(v)) this.visitEntry(key, value, scope);
  }

  private visitEntry(key: string, value: unknown, scope: Scope): void {
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
        const names = ((value['collname'] as unknown[]) ?? []).map(sval);
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

  private checkFunction(f: AstObject): void {
    const parts = ((f['funcname'] as unknown[] | undefined) ?? []).map(sval);
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
    const parts = ((e['name'] as unknown[] | undefined) ?? []).map(sval);
    if (parts.length > 1 && parts[0] !== 'pg_catalog') {
      this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `operator ${parts.join('.')} is not allowed through the SQL passthrough`, e['location'] as number | undefined);
    }
  }

  private checkType(t: AstObject): void {
    const parts = ((t['names'] as unknown[] | undefined) ?? []).map(sval);
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
    const replacement = this.replacement(schema, name, loc);
    const span = this.nameSpan(loc, [rv['catalogname'], schema, name].filter((p) => p !== undefined).length);
    const alias = isObj(rv['alias']) ? '' : ` AS ${quoteIdent(name)}`;
    this.edits.push({ start: span.start, end: span.end, text: `${replacement}${alias}` });
  }

  /** The subquery that replaces a reference to `schema.name`, or a refusal. */
  private replacement(schema: string | undefined, name: string, loc: number): string {
    const view = VIEWS[name as ViewName];
    const isView = view !== undefined && Object.prototype.hasOwnProperty.call(VIEWS, name);
    if ((schema === undefined || schema === 'public') && isView) return viewSubquery(this.ctx.user, view);
    if (schema === 'pg_catalog' || schema === 'information_schema' || (schema === undefined && name.startsWith('pg_'))) {
      const s = schema ?? 'pg_catalog';
      const rule = catalogRule(s as 'pg_catalog' | 'information_schema', name);
      if (rule === undefined) {
        this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `permission denied for ${s === 'pg_catalog' ? 'table' : 'view'} ${name}`, loc,
          'The SQL passthrough exposes the published views and the catalog entries describing them (docs/SQL.md).');
      }
      return catalogSubquery(s as 'pg_catalog' | 'information_schema', name, rule);
    }
    // Hidden and missing relations look the same: their existence is not revealed.
    const shown = schema === undefined ? name : `${schema}.${name}`;
    return this.refuse(SqlState.UNDEFINED_TABLE, `relation "${shown}" does not exist`, loc,
      'The SQL passthrough serves the published views: trip_history, rider_stats, driver_stats, driver_earnings_daily.');
  }

  /** Byte span of a (possibly qualified) relation name starting at `loc`, from the scanner. */
  private nameSpan(loc: number, parts: number): { start: number; end: number } {
    this.tokens ??= scanTokens(this.src.sql);
    const i = this.tokens.findIndex((t) => t.start === loc);
    const last = this.tokens[i + 2 * (parts - 1)];
    if (i < 0 || last === undefined) this.refuse(SqlState.INTERNAL_ERROR, 'the statement could not be rewritten safely');
    for (let k = 1; k < 2 * parts - 1; k += 2) {
      if (this.tokens[i + k]!.text !== '.') this.refuse(SqlState.INTERNAL_ERROR, 'the statement could not be rewritten safely');
    }
    return { start: loc, end: last.end };
  }
}
