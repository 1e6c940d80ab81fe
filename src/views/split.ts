/**
 * A view's SQL read with the Postgres parser (libpg-query): the embedded engine maintains the
 * `base` CTE of `WITH base AS (...) SELECT ... FROM base` with pg_ivm and serves the projection
 * as a plain view over it (src/engine/embedded/ddl.ts).
 */
import { loadModule, parseSync, scanSync, type ParseResult } from 'libpg-query';

/** Loads libpg-query's WASM module, which {@link splitBaseCte} needs; call (and await) once first. Idempotent. */
export async function loadViewParser(): Promise<void> {
  await loadModule();
}

/**
 * Splits `WITH base AS (<body>) <projection>` into the `base` CTE's body and the projection over
 * it, as the embedded engine needs them (pg_ivm maintains `base`; the projection becomes a plain
 * view). Undefined when the statement does not start with a CTE named `base`. The statement is read
 * by libpg-query (the Postgres parser: quotes, dollar quotes and comments as Postgres reads them),
 * and the body's parentheses are matched on the Postgres scanner's tokens. Throws when the SQL does
 * not parse, is not one SELECT, or its `base` has sibling CTEs or is RECURSIVE (nothing to split
 * into one IMMV and a view). Needs {@link loadViewParser} to have resolved.
 */
export function splitBaseCte(sql: string): { base: string; projection: string } | undefined {
  let tree: ParseResult;
  try {
    tree = parseSync(sql);
  } catch (err) {
    throw new Error(`view SQL does not parse: ${err instanceof Error ? err.message : String(err)}`);
  }
  const stmts = tree.stmts ?? [];
  const node = stmts[0]?.stmt;
  if (stmts.length !== 1 || node === undefined || !('SelectStmt' in node)) throw new Error('view SQL must be exactly one SELECT statement');
  const withClause = node.SelectStmt.withClause;
  const ctes = withClause?.ctes ?? [];
  const first = ctes[0];
  if (withClause === undefined || first === undefined || !('CommonTableExpr' in first) || first.CommonTableExpr.ctename !== 'base') return undefined;
  if (withClause.recursive === true || ctes.length !== 1) throw new Error('WITH base AS (...) must be the only CTE, and not RECURSIVE');
  const buf = Buffer.from(sql, 'utf8');
  const at = first.CommonTableExpr.location ?? 0; // byte offset of the name `base`
  const tokens = scanSync(sql).tokens;
  const open = tokens.findIndex((t) => t.start > at && t.tokenName === 'ASCII_40');
  let depth = 0;
  for (let i = open; open >= 0 && i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.tokenName === 'ASCII_40') depth++;
    else if (t.tokenName === 'ASCII_41' && --depth === 0) {
      return {
        base: buf.subarray(tokens[open]!.end, t.start).toString('utf8').trim(),
        projection: buf.subarray(t.end).toString('utf8').trim(),
      };
    }
  }
  throw new Error('unbalanced parentheses in WITH base AS (...)');
}
