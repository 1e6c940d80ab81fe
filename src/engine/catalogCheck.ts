import { errors } from '../errors';
import type { ColumnType, Registry } from '../views/model';

/** information_schema `data_type` → the declared column type it serves (PostgreSQL and RisingWave spell them alike). */
export const SQL_COLUMN_TYPES: Readonly<Record<string, ColumnType>> = {
  text: 'text', 'character varying': 'text', bigint: 'int', integer: 'int', smallint: 'int',
  'double precision': 'float', real: 'float', numeric: 'numeric', 'timestamp with time zone': 'timestamptz', date: 'date',
  boolean: 'bool',
};

/** What the engine's catalog says against the declarations: missing views, and columns that differ. */
export interface CatalogProblems {
  /** Views the engine does not have (RisingWave: `wavegate migrate apply` has not run). */
  readonly missing: readonly string[];
  /** One line per view whose columns differ from its declaration, saying how. */
  readonly mismatches: readonly string[];
}

/**
 * Compares the published views' columns in the engine's `information_schema.columns` (current
 * schema) with the declarations: the same names, in the same order, with the declared types.
 */
export async function catalogProblems(
  query: (sql: string, params: readonly unknown[]) => Promise<Array<{ table_name: string; column_name: string; data_type: string }>>,
  registry: Registry,
): Promise<CatalogProblems> {
  const names = registry.views.map((v) => v.name);
  const rows = await query(
    `SELECT table_name, column_name, data_type FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ANY($1) ORDER BY table_name, ordinal_position`, [names]);
  const missing: string[] = [];
  const mismatches: string[] = [];
  for (const view of registry.views) {
    const actual = rows.filter((r) => r.table_name === view.name);
    if (actual.length === 0) {
      missing.push(view.name);
      continue;
    }
    const got = actual.map((r) => `${r.column_name} ${SQL_COLUMN_TYPES[r.data_type] ?? r.data_type}`);
    const want = view.columns.map((c) => `${c.name} ${c.type}`);
    if (got.join(', ') === want.join(', ')) continue;
    const diffs: string[] = [];
    for (let i = 0; i < Math.max(got.length, want.length); i++) {
      if (got[i] !== want[i]) diffs.push(`column ${i + 1} is ${got[i] ?? '(none)'} in the engine, declared ${want[i] ?? '(none)'}`);
    }
    mismatches.push(`view ${view.name}: ${diffs.slice(0, 3).join('; ')}${diffs.length > 3 ? `; and ${diffs.length - 3} more` : ''}`);
  }
  return { missing, mismatches };
}

/** BAD_CONFIG for columns that differ from the declarations, saying what to change; undefined when none do. */
export function catalogMismatchError(problems: CatalogProblems, registry: Registry, remedy: string): Error | undefined {
  if (problems.mismatches.length === 0) return undefined;
  return errors.badConfig(`The engine's views differ from the declarations in ${registry.dir}: ${problems.mismatches.join('. ')}. `
    + `Make each <view>.yaml list the columns its SQL returns, in order, with their types (docs/VIEWS.md)${remedy}`);
}
