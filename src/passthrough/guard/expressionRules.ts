import {
  ALLOWED_FUNCTIONS, ALLOWED_INFORMATION_SCHEMA_FUNCTIONS, ALLOWED_INFORMATION_SCHEMA_TYPES, ALLOWED_TYPES,
  READABLE_SETTINGS,
} from '../allowlist';
import { type AstObject, constText, isObj, list, only, sval } from '../ast';
import { SqlRefusal, SqlState } from '../sqlstate';
import { seriesRefusal } from './boundedSeries';
import { checkRegName, isVisibleObjectRef, OBJECT_OID_ARGS, type RefScope, regTypeOf } from './objectRefs';
import type { ScanToken } from './parse';
import type { GuardContext } from './statements';

/**
 * The checks the SELECT walker (selectWalker.ts) applies to expressions: functions, operators,
 * types and collations against the allowlists (allowlist.ts), the narrow `generate_series` forms
 * (boundedSeries.ts), and the rules for object OIDs and `reg*` casts (objectRefs.ts). On a
 * PostgreSQL catalog an allowed `reg*` cast is also rewritten so that its value can never meet a
 * string literal (which Postgres would resolve as a name, an existence oracle): a looked-up name
 * becomes its `oid`, a catalog column's value its printed `text`.
 */

/** COERCE_SQL_SYNTAX functions the parser emits for SQL-standard syntax (EXTRACT, AT TIME ZONE, ...). */
const SQL_SYNTAX_FUNCTIONS: ReadonlySet<string> = new Set([
  'extract', 'timezone', 'overlay', 'position', 'substring', 'btrim', 'ltrim', 'rtrim', 'normalize',
  'is_normalized', 'pg_collation_for', 'overlaps', 'like_escape', 'similar_to_escape', 'similar_escape', 'xmlexists',
]);

/** An insertion or replacement the rules ask for. */
export interface RuleEdit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** What the rules need from the walker. */
export interface RuleHost {
  readonly ctx: GuardContext;
  /** Second pass (over generated text): only the allowlists apply, no OID rules, no edits. */
  readonly verifying: boolean;
  refuse(state: string, message: string, byte?: number, hint?: string): never;
  tokens(): readonly ScanToken[];
  edit(e: RuleEdit): void;
}

const OID_HINT = 'Pass a catalog column qualified with its alias (c.oid, a.atttypid); see docs/SQL.md, "The catalog".';

/** Expression checks for one statement pass. */
export class ExpressionRules {
  constructor(private readonly host: RuleHost) {}

  /** A function call: allowlisted (or an allowed generate_series form), object OIDs from catalog columns. */
  checkFunction(f: AstObject, refs: RefScope): void {
    const parts = list(f['funcname']).map(sval);
    const loc = f['location'] as number | undefined;
    const shown = parts.join('.');
    const name = parts[parts.length - 1];
    const schema = parts.length === 2 ? parts[0] : undefined;
    if (name === 'generate_series' && (parts.length === 1 || schema === 'pg_catalog')) {
      const why = seriesRefusal(f);
      if (why !== undefined) this.host.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `${why} through the SQL passthrough`, loc);
      return;
    }
    const ok = name !== undefined && parts.every((p) => p !== undefined) && (
      (parts.length === 1 && ALLOWED_FUNCTIONS.has(name))
      || (schema === 'pg_catalog' && (ALLOWED_FUNCTIONS.has(name) || SQL_SYNTAX_FUNCTIONS.has(name)))
      || (schema === 'information_schema' && ALLOWED_INFORMATION_SCHEMA_FUNCTIONS.has(name)));
    if (!ok) {
      this.host.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `function ${shown} is not allowed through the SQL passthrough`, loc,
        'Only allowlisted functions can be called (docs/SQL.md).');
    }
    if (name === 'current_setting') {
      const setting = constText(list(f['args'])[0])?.toLowerCase();
      if (setting === undefined || !READABLE_SETTINGS.has(setting)) {
        this.host.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `current_setting(${setting === undefined ? '...' : `'${setting}'`}) is not allowed through the SQL passthrough`, loc);
      }
    }
    const positions = name === undefined || schema === 'information_schema' ? undefined : OBJECT_OID_ARGS.get(name);
    if (positions === undefined || this.host.verifying) return;
    const args = list(f['args']);
    for (const p of positions) {
      if (p < args.length && !isVisibleObjectRef(args[p], refs)) {
        this.host.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `${shown}() takes object OIDs only from catalog columns through the SQL passthrough`, loc, OID_HINT);
      }
    }
  }

  /** An operator: built-in (unqualified or pg_catalog) only. */
  checkOperator(e: AstObject): void {
    const parts = list(e['name']).map(sval);
    if (parts.length > 1 && parts[0] !== 'pg_catalog') {
      this.host.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `operator ${parts.join('.')} is not allowed through the SQL passthrough`, e['location'] as number | undefined);
    }
  }

  /** A type name: allowlisted; a `reg*` type only where {@link typeCast} approved it. */
  checkType(t: AstObject, regApproved = false): void {
    const parts = list(t['names']).map(sval);
    const name = parts[parts.length - 1];
    const schema = parts.length === 2 ? parts[0] : undefined;
    const ok = name !== undefined && parts.length <= 2 && t['setof'] !== true && t['pct_type'] !== true && (
      (schema === undefined || schema === 'pg_catalog') ? ALLOWED_TYPES.has(name)
        : schema === 'information_schema' && ALLOWED_INFORMATION_SCHEMA_TYPES.has(name));
    const loc = t['location'] as number | undefined;
    if (!ok) this.host.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `type ${parts.join('.')} is not allowed through the SQL passthrough`, loc);
    if (!regApproved && !this.host.verifying && regTypeOf(t) !== undefined) {
      this.host.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `type ${parts.join('.')} is allowed only in a cast through the SQL passthrough`, loc);
    }
  }

  /**
   * A cast. To a `reg*` type it must be of a catalog column (or a chain of such casts) or of a
   * string literal naming a visible object; `parentIsCast` says whether another cast applies to
   * its value at once (then nothing can compare that value with a literal).
   */
  typeCast(v: AstObject, refs: RefScope, parentIsCast: boolean): void {
    const t = isObj(v['typeName']) ? v['typeName'] : {};
    const reg = regTypeOf(t);
    this.checkType(t, reg !== undefined);
    if (reg === undefined || this.host.verifying) return;
    const arg = only(v['arg']);
    const isArray = list(t['arrayBounds']).length > 0;
    const literal = arg?.[0] === 'A_Const' && isObj(arg[1]['sval']) ? String(arg[1]['sval']['sval'] ?? '') : undefined;
    let kind: 'name' | 'column';
    if (literal !== undefined && !isArray) {
      try {
        checkRegName(reg, literal, this.host.ctx.catalog ?? 'postgres', this.host.ctx.views);
      } catch (err) {
        const at = Number(arg?.[1]['location'] ?? -1);
        if (err instanceof SqlRefusal) this.host.refuse(err.sqlState, err.message, at);
        throw err;
      }
      kind = 'name';
    } else if (arg?.[0] === 'A_Const' && arg[1]['isnull'] === true) {
      kind = 'name';
    } else if (isVisibleObjectRef(v['arg'], refs)) {
      kind = 'column';
    } else {
      return this.host.refuse(SqlState.INSUFFICIENT_PRIVILEGE,
        `a cast to ${reg} is allowed only of a catalog column or of the name of a published object through the SQL passthrough`,
        Number(v['location'] ?? t['location'] ?? -1), OID_HINT);
    }
    // RisingWave has no reg* values (regclass casts to an integer, regproc is a no-op on varchar:
    // src/frontend/src/binder/expr/mod.rs bind_cast), so only a PostgreSQL catalog needs this.
    if ((this.host.ctx.catalog ?? 'postgres') === 'postgres' && !parentIsCast) {
      const at = this.castEnd(v, t);
      this.host.edit({ start: at, end: at, text: kind === 'name' ? '::pg_catalog.oid' : '::pg_catalog.text' });
    }
  }

  /** Byte offset just after a cast (`x::t`, `x::s.t[]`, `CAST(x AS t)`, `t 'literal'`), from the scanner. */
  private castEnd(v: AstObject, t: AstObject): number {
    const toks = this.host.tokens().filter((k) => k.tokenName !== 'SQL_COMMENT' && k.tokenName !== 'C_COMMENT');
    const fail = (): never => this.host.refuse(SqlState.INTERNAL_ERROR, 'the statement could not be rewritten safely');
    const at = (loc: number) => toks.findIndex((k) => k.start === loc);
    const closing = (open: number, l: string, r: string): number => {
      let depth = 0;
      for (let i = open; i < toks.length; i++) {
        if (toks[i]!.text === l) depth++;
        else if (toks[i]!.text === r && --depth === 0) return i;
      }
      return fail();
    };
    const loc = Number(v['location'] ?? -1);
    if (loc < 0) {
      // `regclass 'name'`: the literal ends the cast.
      const lit = at(Number(only(v['arg'])?.[1]['location'] ?? -1));
      return lit < 0 ? fail() : toks[lit]!.end;
    }
    const i = at(loc);
    if (i < 0) return fail();
    if (toks[i]!.text.toLowerCase() === 'cast') return toks[i + 1]?.text === '(' ? toks[closing(i + 1, '(', ')')]!.end : fail();
    if (toks[i]!.text !== '::') return fail();
    let j = at(Number(t['location'] ?? -1));
    if (j < 0) return fail();
    while (toks[j + 1]?.text === '.' && toks[j + 2] !== undefined) j += 2;
    while (toks[j + 1]?.text === '[') j = closing(j + 1, '[', ']');
    return toks[j]!.end;
  }
}
