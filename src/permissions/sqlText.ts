/**
 * SQL text pieces the permission compiler emits: identifiers, literals and type names. Identifiers
 * come from the loaded registry (checked by the declaration loader), literals from token claims and
 * passthrough user settings (checked too): quoting here is the second line of defence, so it is
 * strict and never guesses.
 */
import type { ColumnType } from '../views/model';

/** Lower-case names that can stay bare; everything else is double-quoted. */
const BARE = /^[a-z_][a-z0-9_]*$/;

/**
 * Key words that cannot be bare column or table names in PostgreSQL or RisingWave (the reserved
 * ones of https://www.postgresql.org/docs/current/sql-keywords-appendix.html). A name among them is
 * quoted; quoting an ordinary name would be harmless too, but keeps the emitted SQL readable.
 */
const RESERVED: ReadonlySet<string> = new Set([
  'all', 'analyse', 'analyze', 'and', 'any', 'array', 'as', 'asc', 'asymmetric', 'authorization', 'binary', 'both', 'case',
  'cast', 'check', 'collate', 'collation', 'column', 'concurrently', 'constraint', 'create', 'cross', 'current_catalog',
  'current_date', 'current_role', 'current_schema', 'current_time', 'current_timestamp', 'current_user', 'default',
  'deferrable', 'desc', 'distinct', 'do', 'else', 'end', 'except', 'false', 'fetch', 'for', 'foreign', 'freeze', 'from',
  'full', 'grant', 'group', 'having', 'ilike', 'in', 'initially', 'inner', 'intersect', 'into', 'is', 'isnull', 'join',
  'lateral', 'leading', 'left', 'like', 'limit', 'localtime', 'localtimestamp', 'natural', 'not', 'notnull', 'null',
  'offset', 'on', 'only', 'or', 'order', 'outer', 'overlaps', 'placing', 'primary', 'references', 'returning', 'right',
  'select', 'session_user', 'similar', 'some', 'symmetric', 'system_user', 'table', 'tablesample', 'then', 'to',
  'trailing', 'true', 'union', 'unique', 'user', 'using', 'variadic', 'verbose', 'when', 'where', 'window', 'with',
]);

/** A SQL identifier: bare when that is unambiguous, else double-quoted with `"` doubled. */
export function ident(name: string): string {
  if (name.length === 0 || name.includes('\0')) throw new Error('invalid SQL identifier');
  return BARE.test(name) && !RESERVED.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/**
 * A SQL string literal for any string without NUL: `'...'` with `'` doubled, or `E'...'` with `\`
 * and `'` escaped when the string holds a backslash, so the value is the same whatever
 * `standard_conforming_strings` says. Throws on NUL (no SQL string can hold it): callers fail closed.
 */
export function sqlLiteral(s: string): string {
  if (s.includes('\0')) throw new Error('NUL in SQL literal');
  if (s.includes('\\')) return `E'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  return `'${s.replace(/'/g, "''")}'`;
}

/** The SQL type a column of `type` has in every engine (casts of masks and NULL columns). */
export function sqlType(type: ColumnType): string {
  switch (type) {
    case 'text':
      return 'text';
    case 'int':
      return 'bigint';
    case 'float':
      return 'double precision';
    case 'numeric':
      return 'numeric';
    case 'timestamptz':
      return 'timestamptz';
    case 'date':
      return 'date';
    case 'bool':
      return 'boolean';
    default:
      return unreachable(type);
  }
}

export function unreachable(x: never): never {
  throw new Error(`unreachable: ${JSON.stringify(x)}`);
}
