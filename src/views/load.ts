import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { projectRoot } from '../paths';
import { checkViews, parseProjectDeclaration, parseViewDeclaration, Where, type ViewDeclaration } from './declaration';
import type { Registry, ViewModel } from './model';

/**
 * Loading a schema directory (`WAVEGATE_SCHEMA_DIR`, default the bundled `schema/`) into the
 * {@link Registry}: `wavegate.yaml` (roles), and for each view `<view>.yaml` (its declaration,
 * src/views/declaration.ts) next to `<view>.sql` (its query). docs/VIEWS.md describes the format.
 */

/** The project declaration's file name inside a schema directory. */
export const PROJECT_FILE = 'wavegate.yaml';

/** The bundled ride-hailing schema directory (`schema/` of the package). */
export function bundledSchemaDir(): string {
  return join(projectRoot(), 'schema');
}

let bundled: Registry | undefined;

/** The bundled registry, loaded once (defaults and tests; the gateway uses `config.views`). */
export function bundledRegistry(): Registry {
  bundled ??= loadRegistry(bundledSchemaDir());
  return bundled;
}

/** How a file is named in errors: relative to the working directory when below it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * Loads and checks every declaration of `dir`. Views come in dependency order: alphabetical, except
 * that the views a view's SQL reads are placed (in turn) right before it. Every problem is a
 * BAD_CONFIG GatewayError naming the file.
 */
export function loadRegistry(dir: string): Registry {
  const root = resolve(dir);
  const dirWhere = new Where(shown(root));
  if (!existsSync(root) || !statSync(root).isDirectory()) throw dirWhere.error('is not a directory (set WAVEGATE_SCHEMA_DIR to a schema directory)');
  const files = readdirSync(root).sort();
  if (!files.includes(PROJECT_FILE)) throw dirWhere.error(`has no ${PROJECT_FILE} (the roles): see docs/VIEWS.md`);
  const projectPath = join(root, PROJECT_FILE);
  const project = parseProjectDeclaration(shown(projectPath), readFileSync(projectPath, 'utf8'));

  const names = files.filter((f) => f.endsWith('.yaml') && f !== PROJECT_FILE).map((f) => f.slice(0, -'.yaml'.length));
  for (const f of files) {
    if (f.endsWith('.yml')) throw new Where(shown(join(root, f))).error('declarations end in .yaml: rename the file');
    if (f.endsWith('.sql') && !names.includes(f.slice(0, -'.sql'.length))) {
      throw new Where(shown(join(root, f))).error(`has no declaration: add ${f.slice(0, -'.sql'.length)}.yaml next to it (docs/VIEWS.md)`);
    }
  }
  if (names.length === 0) throw dirWhere.error('declares no view: add <view>.sql and <view>.yaml (docs/VIEWS.md)');

  const fileOf = (view: string): string => shown(join(root, `${view}.yaml`));
  const declared: Array<ViewDeclaration & { sql: string }> = names.map((name) => {
    const yamlPath = join(root, `${name}.yaml`);
    const decl = parseViewDeclaration(shown(yamlPath), readFileSync(yamlPath, 'utf8'), name, project);
    const sqlPath = join(root, `${name}.sql`);
    if (!existsSync(sqlPath)) throw new Where(shown(yamlPath)).error(`the view's query is missing: add ${name}.sql next to it`);
    return { ...decl, sql: viewSql(shown(sqlPath), readFileSync(sqlPath, 'utf8'), decl) };
  });
  const checked = checkViews(declared, fileOf);
  const views: ViewModel[] = checked.map((v) => ({
    ...v,
    dependsOn: referencedNames(v.sql).filter((n) => n !== v.name && names.includes(n)).sort(),
  }));
  return {
    dir: root,
    roles: project.roles,
    views: dependencyOrder(views, fileOf),
    sqlDefaultRole: project.sqlDefaultRole,
    authOffRole: project.authOffRole,
  };
}

/** Views sorted alphabetically, then each after the views it reads; a cycle is BAD_CONFIG. */
function dependencyOrder(views: readonly ViewModel[], fileOf: (view: string) => string): ViewModel[] {
  const byName = new Map(views.map((v) => [v.name, v]));
  const out: ViewModel[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (v: ViewModel, path: readonly string[]): void => {
    const s = state.get(v.name);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = [...path.slice(path.indexOf(v.name)), v.name];
      throw new Where(fileOf(v.name)).error(`views read each other in a cycle (${cycle.join(' → ')}): a view may only read views that do not read it`);
    }
    state.set(v.name, 'visiting');
    for (const d of v.dependsOn) visit(byName.get(d)!, [...path, v.name]);
    state.set(v.name, 'done');
    out.push(v);
  };
  for (const v of [...views].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) visit(v, []);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The view's SQL

/** A piece of SQL text: code, a string literal, a quoted identifier or a comment. */
interface Segment {
  readonly kind: 'code' | 'string' | 'quoted' | 'comment';
  readonly text: string;
}

/**
 * Splits SQL into code, literals ('…', E'…', $tag$…$tag$), quoted identifiers and comments (-- and
 * nested block comments), as Postgres lexes them. Unterminated literals or comments run to the end.
 */
export function scanSql(sql: string): Segment[] {
  const out: Segment[] = [];
  let code = '';
  const flush = (): void => {
    if (code !== '') out.push({ kind: 'code', text: code });
    code = '';
  };
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    const prev = i > 0 ? sql[i - 1]! : '';
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      flush();
      out.push({ kind: 'comment', text: sql.slice(i, end === -1 ? sql.length : end) });
      i = end === -1 ? sql.length : end;
    } else if (c === '/' && next === '*') {
      let depth = 1;
      let j = i + 2;
      while (j < sql.length && depth > 0) {
        if (sql[j] === '/' && sql[j + 1] === '*') (depth++, j += 2);
        else if (sql[j] === '*' && sql[j + 1] === '/') (depth--, j += 2);
        else j++;
      }
      flush();
      out.push({ kind: 'comment', text: sql.slice(i, j) });
      i = j;
    } else if (c === "'") {
      const escapes = /[eE]/.test(prev) && !/[A-Za-z0-9_$]/.test(i > 1 ? sql[i - 2]! : '');
      let j = i + 1;
      while (j < sql.length) {
        if (escapes && sql[j] === '\\') j += 2;
        else if (sql[j] === "'" && sql[j + 1] === "'") j += 2;
        else if (sql[j] === "'") break;
        else j++;
      }
      flush();
      out.push({ kind: 'string', text: sql.slice(i, j + 1) });
      i = j + 1;
    } else if (c === '"') {
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === '"' && sql[j + 1] === '"') j += 2;
        else if (sql[j] === '"') break;
        else j++;
      }
      flush();
      out.push({ kind: 'quoted', text: sql.slice(i, j + 1) });
      i = j + 1;
    } else if (c === '$' && !/[A-Za-z0-9_$]/.test(prev)) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))?.[0];
      if (tag === undefined) {
        code += c;
        i++;
        continue;
      }
      const end = sql.indexOf(tag, i + tag.length);
      const stop = end === -1 ? sql.length : end + tag.length;
      flush();
      out.push({ kind: 'string', text: sql.slice(i, stop) });
      i = stop;
    } else {
      code += c;
      i++;
    }
  }
  flush();
  return out;
}

/**
 * The SQL without comments: lines that held only comments are dropped, lines that lost a comment
 * lose their trailing blanks, other lines (blank ones too) stay byte for byte; then trimmed and
 * without a final `;`.
 */
export function stripSqlComments(sql: string): string {
  const lines: Array<{ text: string; touched: boolean }> = [{ text: '', touched: false }];
  for (const seg of scanSql(sql)) {
    const parts = seg.text.split('\n');
    parts.forEach((part, k) => {
      if (k > 0) lines.push({ text: '', touched: seg.kind === 'comment' });
      const line = lines[lines.length - 1]!;
      if (seg.kind === 'comment') line.touched = true;
      else line.text += part;
    });
  }
  return lines
    .filter((l) => !l.touched || l.text.trim() !== '')
    .map((l) => (l.touched ? l.text.trimEnd() : l.text))
    .join('\n')
    .trim()
    .replace(/;\s*$/, '');
}

/** Lower-cased unquoted identifiers and exact quoted ones that appear in the SQL's code. */
export function referencedNames(sql: string): string[] {
  const names = new Set<string>();
  for (const seg of scanSql(sql)) {
    if (seg.kind === 'code') for (const m of seg.text.matchAll(/[A-Za-z_][A-Za-z0-9_$]*/g)) names.add(m[0].toLowerCase());
    else if (seg.kind === 'quoted') names.add(seg.text.slice(1, -1).replace(/""/g, '"'));
  }
  return [...names];
}

/**
 * Checks and prepares `<view>.sql`: the query only (Wavegate writes `CREATE MATERIALIZED VIEW`),
 * one statement, comments stripped. Optional `-- wavegate:view <name>` / `-- wavegate:key a, b`
 * header lines must agree with the declaration.
 */
function viewSql(file: string, raw: string, decl: ViewDeclaration): string {
  const w = new Where(file);
  const header = (tag: string): string | undefined => raw.match(new RegExp(`^--\\s*wavegate:${tag}\\s+(.+)$`, 'm'))?.[1]?.trim();
  const headerView = header('view');
  if (headerView !== undefined && headerView !== decl.name) throw w.error(`header says view ${headerView}, but the file is for view ${decl.name}`);
  const headerKey = header('key');
  if (headerKey !== undefined) {
    const key = headerKey.split(',').map((s) => s.trim()).filter(Boolean);
    if (key.join(',') !== decl.key.join(',')) {
      throw w.error(`header key (${key.join(', ')}) differs from the declaration's key (${decl.key.join(', ')}): fix one or drop the header`);
    }
  }
  const sql = stripSqlComments(raw);
  if (sql === '') throw w.error('is empty: write the view\'s query (SELECT ... or WITH ... SELECT ...)');
  if (/^create\b/i.test(sql)) throw w.error('holds a CREATE statement: write only the query (SELECT ... or WITH ...); Wavegate creates the materialized view');
  if (scanSql(sql).some((s) => s.kind === 'code' && s.text.includes(';'))) {
    throw w.error('holds more than one statement: write one query (no ; inside)');
  }
  return sql;
}
