import { findView } from '../../views/find';
import { viewSubquery } from '../access';
import { type AstObject, isObj, list, only } from '../ast';
import { catalogRelationMissing, catalogRule, catalogSubquery, type CatalogSchema } from '../catalog';
import { SqlRefusal, SqlState } from '../sqlstate';
import { ExpressionRules, type RuleEdit } from './expressionRules';
import { isVisibleObjectRef, type RefItem, type RefKind, type RefScope } from './objectRefs';
import { charPosition, commandWord, scanTokens, type ScanToken, type Source } from './parse';
import type { GuardContext } from './statements';
import { aliasOf, NO_COLUMNS, outputName, rangeFunctionName, type Scope, type WalkScope } from './walkScope';

/**
 * The walk over a SELECT's parse tree. It refuses what a read-only BI user may not do (writes,
 * locks, SELECT INTO, functions, operators, types and collations off the allowlists, object OIDs
 * that do not come from the catalog, TABLESAMPLE, nested statements: expressionRules.ts) and, for
 * each relation reference, decides what replaces it:
 * - a published view → the view filtered by the user's row policy (access.ts);
 * - an allowed catalog relation → the relation filtered to what may be seen (catalog.ts);
 * - the statement's own CTE → left alone;
 * - anything else → 42P01, the same answer for hidden and missing relations.
 * It follows Postgres' name scoping (CTEs; FROM-clause names per query level, objectRefs.ts). The
 * replacements are collected as byte-span edits; rewrite.ts applies them. In verify mode (the
 * second pass, over the rewritten text) it accepts only the references it generated and the CTE
 * references, and refuses anything else (fail closed).
 */

/** One replacement of a byte span of the statement. */
export interface Edit extends RuleEdit {
  /** A generated relation reference (the verify pass accepts relations only inside these). */
  readonly relation: boolean;
}

/** In verify mode: where generated relation references and CTE references may be. */
export interface VerifyPlan {
  readonly spans: ReadonlyArray<{ readonly start: number; readonly end: number }>;
  readonly cteRefs: ReadonlySet<number>;
}

/** Identifier quoting, as quote_ident does. */
function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

const OTHER: RefKind = { kind: 'other' };

/** One pass over a SELECT: checks it, and (first pass) collects the edits and CTE references. */
export class SelectWalker {
  /** Replacements of relation references and rewritten casts (first pass). */
  readonly edits: Edit[] = [];
  /** Byte offsets of references to the statement's own CTEs (first pass). */
  readonly cteRefs: number[] = [];
  /** Highest `$n` seen. */
  paramMax = 0;
  /** Whether a WITH RECURSIVE was seen. */
  recursive = false;
  private scanned: ScanToken[] | undefined;
  private readonly rules: ExpressionRules;

  constructor(
    private readonly src: Source,
    private readonly ctx: GuardContext,
    private readonly verify: VerifyPlan | undefined,
  ) {
    this.rules = new ExpressionRules({
      ctx, verifying: verify !== undefined,
      refuse: (state, message, byte, hint) => this.refuse(state, message, byte, hint),
      tokens: () => this.tokens(),
      edit: (e) => this.edits.push({ ...e, relation: false }),
    });
  }

  private tokens(): ScanToken[] {
    this.scanned ??= scanTokens(this.src.sql);
    return this.scanned;
  }

  private refuse(state: string, message: string, byte?: number, hint?: string): never {
    const position = byte !== undefined && byte >= 0 ? charPosition(this.src.buf, byte) : undefined;
    throw new SqlRefusal(state, message, { ...(position !== undefined ? { position } : {}), ...(hint !== undefined ? { hint } : {}) });
  }

  /**
   * Walks a SelectStmt body: its WITH clause first (CTE names are in scope for the rest), then its
   * FROM clause (building the level's names), then everything else. Returns the output columns
   * that carry catalog OIDs unchanged (for `alias.column` one level up).
   */
  select(s: AstObject, scope: WalkScope): ReadonlySet<string> {
    if (s['intoClause'] !== undefined) this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, 'SELECT INTO is not allowed: it creates a table');
    if (list(s['lockingClause']).length > 0) this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, 'SELECT ... FOR UPDATE/SHARE is not allowed: it locks rows');
    const inner: WalkScope = { ctes: this.withClause(s['withClause'], scope), refs: scope.refs };
    const setOp = s['op'] !== undefined && s['op'] !== 'SETOP_NONE';
    const items: RefItem[] = [];
    if (!setOp) for (const item of list(s['fromClause'])) items.push(...this.fromItem(item, inner, items));
    const level: WalkScope = setOp ? inner : { ctes: inner.ctes, refs: inner.refs.child(items) };
    for (const [key, value] of Object.entries(s)) {
      if (key === 'withClause' || key === 'intoClause' || key === 'lockingClause' || key === 'fromClause') continue;
      if (key === 'larg' || key === 'rarg') {
        if (isObj(value)) this.select(value, inner);
        continue;
      }
      this.visit(value, level);
    }
    return setOp ? NO_COLUMNS : this.safeOutputs(s, level.refs);
  }

  /** Visits the CTEs of a WITH clause; returns the CTE scope of the statement body. */
  private withClause(w: unknown, scope: WalkScope): Scope {
    if (!isObj(w)) return scope.ctes;
    const ctes = list(w['ctes']).map((c) => (isObj(c) && isObj(c['CommonTableExpr']) ? c['CommonTableExpr'] : undefined));
    if (ctes.some((c) => c === undefined)) this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, 'unexpected WITH clause');
    const names = ctes.map((c) => String(c!['ctename']));
    const recursive = w['recursive'] === true;
    if (recursive) this.recursive = true;
    // A recursive CTE's outputs are never trusted to carry catalog OIDs (its body reads itself).
    const defined = new Map<string, ReadonlySet<string>>(recursive ? names.map((n) => [n, NO_COLUMNS]) : []);
    ctes.forEach((c, i) => {
      // A CTE's body does not see the FROM clause of the query it belongs to, only outer levels.
      const body: WalkScope = { ctes: scope.ctes.with(new Map(defined)), refs: scope.refs };
      const q = only(c!['ctequery']);
      const safe = q?.[0] === 'SelectStmt' ? this.select(q[1], body) : (this.visit(c!['ctequery'], body), NO_COLUMNS);
      if (!recursive) defined.set(names[i]!, list(c!['aliascolnames']).length > 0 ? NO_COLUMNS : safe);
    });
    return scope.ctes.with(defined);
  }

  /**
   * Visits one FROM item and returns the names it makes visible. `outer` is the scope outside this
   * query level; `preceding` the names of the items before it (what LATERAL items see).
   */
  private fromItem(item: unknown, outer: WalkScope, preceding: readonly RefItem[]): RefItem[] {
    const node = only(item);
    if (node === undefined) return [];
    const [kind, v] = node;
    const lateral: WalkScope = { ctes: outer.ctes, refs: outer.refs.child(preceding) };
    const alias = aliasOf(v);
    switch (kind) {
      case 'RangeVar': {
        const ref = this.rangeVar(v, outer.ctes);
        return [{ refname: alias?.name ?? String(v['relname']), ref: alias?.renamesColumns === true && ref.kind === 'derived' ? OTHER : ref }];
      }
      case 'RangeSubselect': {
        const q = only(v['subquery']);
        const scope = v['lateral'] === true ? lateral : outer;
        const safe = q?.[0] === 'SelectStmt' ? this.select(q[1], scope) : (this.visit(v['subquery'], scope), NO_COLUMNS);
        return [{ refname: alias?.name, ref: { kind: 'derived', safe: alias?.renamesColumns === true ? NO_COLUMNS : safe } }];
      }
      case 'JoinExpr': {
        const left = this.fromItem(v['larg'], outer, preceding);
        const right = this.fromItem(v['rarg'], outer, [...preceding, ...left]);
        // ON sees the join's own inputs and outer levels, not the other items of this level.
        this.visit(v['quals'], { ctes: outer.ctes, refs: outer.refs.child([...left, ...right]) });
        const usingAlias = isObj(v['join_using_alias']) ? [{ refname: String(v['join_using_alias']['aliasname']), ref: OTHER }] : [];
        // An aliased join hides the names inside it.
        return [...(alias === undefined ? [...left, ...right] : [{ refname: alias.name, ref: OTHER }]), ...usingAlias];
      }
      default: {
        // Functions in FROM (and XMLTABLE, JSON_TABLE) see the items before them.
        this.visit(item, lateral);
        return [{ refname: alias?.name ?? (kind === 'RangeFunction' ? rangeFunctionName(v) : undefined), ref: OTHER }];
      }
    }
  }

  /** The output columns of a SELECT that pass a catalog OID column on unchanged. */
  private safeOutputs(s: AstObject, refs: RefScope): ReadonlySet<string> {
    if (this.verify !== undefined) return NO_COLUMNS;
    const out = new Set<string>();
    for (const t of list(s['targetList'])) {
      const rt = isObj(t) && isObj(t['ResTarget']) ? t['ResTarget'] : undefined;
      const name = rt === undefined ? undefined : outputName(rt);
      if (name !== undefined && isVisibleObjectRef(rt!['val'], refs)) out.add(name);
    }
    return out;
  }

  private visit(v: unknown, scope: WalkScope): void {
    if (Array.isArray(v)) {
      for (const item of v) this.visit(item, scope);
      return;
    }
    if (!isObj(v)) return;
    if ('relname' in v) this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, 'unexpected relation reference');
    if ('names' in v && 'typemod' in v) this.rules.checkType(v);
    for (const [key, value] of Object.entries(v)) this.visitEntry(key, value, scope);
  }

  private visitEntry(key: string, value: unknown, scope: WalkScope): void {
    if (!isObj(value)) {
      this.visit(value, scope);
      return;
    }
    switch (key) {
      case 'SelectStmt':
        this.select(value, scope);
        return;
      case 'RangeVar':
        this.rangeVar(value, scope.ctes);
        return;
      case 'FuncCall': {
        this.rules.checkFunction(value, scope.refs);
        const { funcname: _skip, ...rest } = value;
        this.visit(rest, scope);
        return;
      }
      case 'TypeCast':
        this.typeCast(value, scope, false);
        return;
      case 'A_Expr': {
        this.rules.checkOperator(value);
        const { name: _skip, ...rest } = value;
        this.visit(rest, scope);
        return;
      }
      case 'CollateClause': {
        const names = list(value['collname']).map((n) => (isObj(n) && isObj(n['String']) ? String(n['String']['sval']) : undefined));
        if (names.length > 1 && names[0] !== 'pg_catalog') this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `collation ${names.join('.')} is not allowed`);
        this.visit(value['arg'], scope);
        return;
      }
      case 'ParamRef':
        this.paramMax = Math.max(this.paramMax, Number(value['number'] ?? 0));
        return;
      case 'RangeTableSample':
        return this.refuse(SqlState.FEATURE_NOT_SUPPORTED, 'TABLESAMPLE is not supported by the SQL passthrough');
      case 'IntoClause':
        return this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, 'SELECT INTO is not allowed: it creates a table');
      case 'LockingClause':
        return this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, 'SELECT ... FOR UPDATE/SHARE is not allowed: it locks rows');
      default:
        if (/Stmt$/.test(key)) this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `${commandWord(key)} is not allowed: the SQL passthrough is read-only`);
        this.visit(value, scope);
    }
  }

  /** A cast; casts directly applied to another cast's value are marked so (expressionRules.ts). */
  private typeCast(v: AstObject, scope: WalkScope, parentIsCast: boolean): void {
    this.rules.typeCast(v, scope.refs, parentIsCast);
    const arg = only(v['arg']);
    if (arg?.[0] === 'TypeCast') this.typeCast(arg[1], scope, true);
    else this.visit(v['arg'], scope);
  }

  /** A relation reference: replaced (first pass) or checked (verify); returns what its name stands for. */
  private rangeVar(rv: AstObject, ctes: Scope): RefKind {
    const loc = Number(rv['location'] ?? -1);
    const schema = rv['schemaname'] as string | undefined;
    const name = String(rv['relname']);
    if (this.verify !== undefined) {
      // Second pass: only our own generated references, and the statement's CTE references.
      const generated = this.verify.spans.some((s) => loc >= s.start && loc < s.end);
      const okGenerated = generated && (schema === 'public' || schema === 'pg_catalog' || schema === 'information_schema');
      const okCte = !generated && schema === undefined && this.verify.cteRefs.has(loc) && ctes.has(name);
      if (!okGenerated && !okCte) this.refuse(SqlState.INTERNAL_ERROR, 'the statement could not be rewritten safely');
      return OTHER;
    }
    if (rv['catalogname'] !== undefined) this.refuse(SqlState.FEATURE_NOT_SUPPORTED, 'cross-database references are not supported', loc);
    if (rv['inh'] !== true) this.refuse(SqlState.FEATURE_NOT_SUPPORTED, 'ONLY is not supported by the SQL passthrough', loc);
    if (schema === undefined && ctes.has(name)) {
      this.cteRefs.push(loc);
      return { kind: 'derived', safe: ctes.safeColumns(name) };
    }
    const { text, ref } = this.replacement(schema, name, loc);
    const span = this.nameSpan(loc, [rv['catalogname'], schema, name].filter((p) => p !== undefined).length);
    const alias = isObj(rv['alias']) ? '' : ` AS ${quoteIdent(name)}`;
    this.edits.push({ start: span.start, end: span.end, text: `${text}${alias}`, relation: true });
    return ref;
  }

  /** The subquery that replaces a reference to `schema.name`, or a refusal. */
  private replacement(schema: string | undefined, name: string, loc: number): { text: string; ref: RefKind } {
    const view = findView(this.ctx.views, name);
    if ((schema === undefined || schema === 'public') && view !== undefined) {
      return { text: viewSubquery(this.ctx.user, view, this.ctx.views), ref: OTHER };
    }
    if (schema === 'pg_catalog' || schema === 'information_schema' || (schema === undefined && name.startsWith('pg_'))) {
      const s: CatalogSchema = schema === 'information_schema' ? schema : 'pg_catalog';
      const flavor = this.ctx.catalog ?? 'postgres';
      const rule = catalogRule(flavor, s, name);
      if (rule === undefined && catalogRelationMissing(flavor, s, name)) return this.missing(schema, name, loc);
      if (rule === undefined) {
        this.refuse(SqlState.INSUFFICIENT_PRIVILEGE, `permission denied for ${s === 'pg_catalog' ? 'table' : 'view'} ${name}`, loc,
          'The SQL passthrough exposes the published views and the catalog entries describing them (docs/SQL.md).');
      }
      return { text: catalogSubquery(s, name, rule, this.ctx.views), ref: { kind: 'catalog' } };
    }
    return this.missing(schema, name, loc);
  }

  /** Hidden and missing relations look the same: their existence is not revealed. */
  private missing(schema: string | undefined, name: string, loc: number): never {
    const shown = schema === undefined ? name : `${schema}.${name}`;
    return this.refuse(SqlState.UNDEFINED_TABLE, `relation "${shown}" does not exist`, loc,
      `The SQL passthrough serves the published views: ${this.ctx.views.views.map((v) => v.name).join(', ')}.`);
  }

  /** Byte span of a (possibly qualified) relation name starting at `loc`, from the scanner. */
  private nameSpan(loc: number, parts: number): { start: number; end: number } {
    const tokens = this.tokens();
    const i = tokens.findIndex((t) => t.start === loc);
    const last = tokens[i + 2 * (parts - 1)];
    if (i < 0 || last === undefined) this.refuse(SqlState.INTERNAL_ERROR, 'the statement could not be rewritten safely');
    for (let k = 1; k < 2 * parts - 1; k += 2) {
      if (tokens[i + k]!.text !== '.') this.refuse(SqlState.INTERNAL_ERROR, 'the statement could not be rewritten safely');
    }
    return { start: loc, end: last.end };
  }
}
