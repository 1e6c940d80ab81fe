import { type AstObject, isObj } from '../ast';
import type { CatalogFlavor } from '../catalog';
import { SqlRefusal, SqlState } from '../sqlstate';
import { reparse, scanTokens, type Source } from './parse';
import { SelectWalker, type VerifyPlan } from './selectWalker';
import type { GuardContext, SelectStatement } from './statements';
import { ROOT_SCOPE } from './walkScope';

/**
 * Rewriting an allowed SELECT into the engine's SQL. libpg-query 18 has no deparser, so the tree is
 * not printed back. Instead each relation reference found in the tree is replaced, at the exact
 * byte span the parser and scanner report for its name, by a subquery we generate (the view
 * filtered by the user's row policy, or the catalog relation filtered to what may be seen), the row
 * cap is applied, and the result is parsed and checked again: every relation in the final text must
 * be one we generated or a reference to the statement's own CTE, otherwise the statement is refused
 * (fail closed). The catalog subqueries, and so the text, depend on the engine's catalog flavour:
 * the statement is rewritten for the context's flavour at once and for another on first request.
 */

/** Checks a SelectStmt and returns it rewritten for the engine; throws {@link SqlRefusal}. */
export function rewriteSelect(tree: AstObject, src: Source, ctx: GuardContext): SelectStatement {
  const own = ctx.catalog ?? 'postgres';
  const { sql, paramCount, recursive } = rewriteFor(tree, src, ctx);
  const text = src.buf.subarray(src.start, src.end).toString('utf8');
  const other = new Map<CatalogFlavor, string>([[own, sql]]);
  const sqlFor = (flavor: CatalogFlavor): string => {
    let out = other.get(flavor);
    if (out === undefined) {
      out = rewriteFor(tree, src, { ...ctx, catalog: flavor }).sql;
      other.set(flavor, out);
    }
    return out;
  };
  return { kind: 'select', text, sql, sqlFor, tree, paramCount, recursive };
}

function rewriteFor(tree: AstObject, src: Source, ctx: GuardContext): { sql: string; paramCount: number; recursive: boolean } {
  const first = new SelectWalker(src, ctx, undefined);
  first.select(tree, ROOT_SCOPE);
  const applied = applyEdits(src, first);
  const capped = capRows(applied.sql, tree, ctx.maxRows);

  // Verify: the rewritten statement parses to one SELECT whose every relation is ours or a CTE.
  const engineSql = capped.sql;
  const outBuf = Buffer.from(engineSql, 'utf8');
  const offset = capped.wrapped ? Buffer.byteLength(WRAP_HEAD) : 0;
  const plan: VerifyPlan = {
    spans: applied.spans.map((s) => ({ start: s.start + offset, end: s.end + offset })),
    cteRefs: new Set(applied.cteRefs.map((l) => l + offset)),
  };
  const reparsed = reparse(engineSql);
  if (reparsed === undefined) {
    // The reference's surroundings do not take a subquery (TABLE v, v*, ...).
    throw new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, 'this form of relation reference is not supported by the SQL passthrough',
      { hint: 'Write SELECT ... FROM <view>.' });
  }
  const only = reparsed.stmts.length === 1 ? reparsed.stmts[0]!.stmt['SelectStmt'] : undefined;
  if (!isObj(only)) throw new SqlRefusal(SqlState.INTERNAL_ERROR, 'the statement could not be rewritten safely');
  new SelectWalker({ sql: engineSql, buf: outBuf, start: 0, end: outBuf.length }, ctx, plan).select(only, ROOT_SCOPE);
  return { sql: engineSql, paramCount: first.paramMax, recursive: first.recursive };
}

/** The statement's text with the edits applied; where the generated spans are and where CTE references moved. */
function applyEdits(src: Source, walk: SelectWalker): {
  sql: string;
  spans: Array<{ start: number; end: number }>;
  cteRefs: number[];
} {
  const edits = [...walk.edits].sort((a, b) => a.start - b.start || a.end - b.end);
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
    if (e.relation) spans.push({ start: outLen, end: outLen + gen.length });
    parts.push(gen);
    outLen += gen.length;
    cursor = e.end;
  }
  const end = lastTokenEnd(src);
  parts.push(src.buf.subarray(cursor, Math.max(cursor, end)));
  return { sql: Buffer.concat(parts).toString('utf8'), spans, cteRefs: walk.cteRefs.map(shift) };
}

const WRAP_HEAD = 'SELECT * FROM (\n';

/** Row cap: ask for one row more than allowed, so an oversized result is detected, not truncated. */
function capRows(sql: string, tree: AstObject, maxRows: number): { sql: string; wrapped: boolean } {
  const cap = maxRows + 1;
  const limit = tree['limitCount'];
  const limitValue = isObj(limit) && isObj(limit['A_Const']) && isObj(limit['A_Const']['ival']) ? Number(limit['A_Const']['ival']['ival'] ?? 0) : undefined;
  if (limit === undefined && tree['limitOption'] !== 'LIMIT_OPTION_WITH_TIES') return { sql: `${sql}\nLIMIT ${cap}`, wrapped: false };
  if (limitValue === undefined || limitValue > cap) return { sql: `${WRAP_HEAD}${sql}\n) AS __wg_capped LIMIT ${cap}`, wrapped: true };
  return { sql, wrapped: false };
}

/** End of the statement's last real token (so trailing comments and `;` are left out). */
function lastTokenEnd(src: Source): number {
  let end = src.start;
  for (const t of scanTokens(src.sql)) {
    if (t.start < src.start || t.end > src.end) continue;
    if (t.tokenName === 'SQL_COMMENT' || t.tokenName === 'C_COMMENT' || t.text === ';') continue;
    end = Math.max(end, t.end);
  }
  return end;
}
