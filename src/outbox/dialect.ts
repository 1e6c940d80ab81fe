import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../paths';

/** The databases services write the outbox in: one folder of migrations each under `migrations/source/`. */
export type SourceDialect = 'mysql' | 'postgres';

/** One source-database migration file (`migrations/source/<dialect>/NNNN_<verb>_<thing>.sql`). */
export interface SourceMigration {
  /** File name without directory, e.g. `0001_create_outbox.sql`. */
  readonly file: string;
  /** The file's text. */
  readonly sql: string;
  /** The file split into statements, comments removed, without trailing semicolons. */
  readonly statements: readonly string[];
}

/** Reads the source migrations of `dialect`, in file-name order. */
export function sourceMigrations(dialect: SourceDialect, root = projectRoot()): SourceMigration[] {
  const dir = join(root, 'migrations', 'source', dialect);
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const sql = readFileSync(join(dir, file), 'utf8');
      return { file, sql, statements: splitStatements(sql) };
    });
}

/** Removes `-- line comments` outside quotes. */
export function stripLineComments(sql: string): string {
  let out = '';
  let quote: string | undefined;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (quote !== undefined) {
      out += c;
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      quote = c;
      out += c;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * Splits a migration script on top-level semicolons (quotes respected). Our source migrations use
 * no procedures or `$$` bodies, so this is enough (and mysql2 runs one statement per call).
 */
export function splitStatements(sql: string): string[] {
  const text = stripLineComments(sql);
  const out: string[] = [];
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"' || c === '`') {
      quote = c;
    } else if (c === ';') {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

/** A column of the upstream outbox table as its migration declares it. */
export interface SourceColumn {
  readonly name: string;
  /** The declared type, upper-case, e.g. `VARCHAR(36)`, `JSON`, `TIMESTAMP(6)`. */
  readonly type: string;
}

/** The upstream outbox table as the source migrations create it. */
export interface SourceTable {
  readonly name: string;
  readonly columns: readonly SourceColumn[];
  readonly primaryKey: readonly string[];
}

/** Splits on commas outside parentheses. */
function topLevelParts(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(body.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(body.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean);
}

/**
 * Reads the `CREATE TABLE <table>` statement of `dialect`'s source migrations: column names and
 * declared types, and the primary key. The RisingWave CDC table is generated from this, so the
 * source migration stays the one definition of the outbox.
 */
export function sourceTable(dialect: SourceDialect, table = 'outbox', root = projectRoot()): SourceTable {
  const create = new RegExp(`^CREATE\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?[\`"]?${table}[\`"]?\\s*\\(`, 'i');
  for (const m of sourceMigrations(dialect, root)) {
    for (const stmt of m.statements) {
      const head = create.exec(stmt);
      if (!head) continue;
      const body = stmt.slice(head[0].length, stmt.lastIndexOf(')'));
      const columns: SourceColumn[] = [];
      let primaryKey: string[] = [];
      for (const part of topLevelParts(body)) {
        const pk = /^PRIMARY\s+KEY\s*\(([^)]*)\)/i.exec(part);
        if (pk) {
          primaryKey = pk[1]!.split(',').map((s) => s.trim().replace(/[`"]/g, ''));
          continue;
        }
        if (/^(KEY|INDEX|UNIQUE|CONSTRAINT|CHECK|FOREIGN)\b/i.test(part)) continue;
        const col = /^[`"]?([a-z_][a-z0-9_]*)[`"]?\s+([A-Za-z]+(?:\s*\([^)]*\))?)/i.exec(part);
        if (!col) throw new Error(`${dialect}/${m.file}: cannot read column definition "${part}"`);
        columns.push({ name: col[1]!, type: col[2]!.replace(/\s+/g, '').toUpperCase() });
        if (/\bPRIMARY\s+KEY\b/i.test(part)) primaryKey = [col[1]!];
      }
      if (primaryKey.length === 0) throw new Error(`${dialect}/${m.file}: table ${table} has no primary key`);
      return { name: table, columns, primaryKey };
    }
  }
  throw new Error(`no CREATE TABLE ${table} in migrations/source/${dialect}`);
}
