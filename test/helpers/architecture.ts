import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * The layers of src/, lowest first. A module (a directory directly under src/, or a file directly
 * under src/ without its `.ts`) may import modules of its own layer's index or lower, never higher;
 * and no two modules may import each other, directly or around a cycle.
 *
 * This list is the one source of truth: docs/ARCHITECTURE.md prints it (a unit test checks the two
 * agree) and test/unit/architecture.test.ts enforces it. A module that is missing here fails the test;
 * a name listed here that does not exist (yet) is allowed, so a module can be placed before it lands.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['util', 'errors', 'log', 'paths', 'db', 'legs'],
  ['views'],
  ['config'],
  ['kafka', 'outbox'],
  ['auth'],
  ['permissions'],
  ['engine'],
  ['subscriptions'],
  ['metrics'],
  ['graphql'],
  ['http', 'passthrough', 'simulator', 'consumer', 'doctor'],
  ['gateway'],
  ['cli'],
  ['index'],
];

/**
 * Third-party packages that only some places of src/ may import (paths relative to src/; a path ending
 * in `/` is a folder). Adapters stay thin: the transport-free core (subscriptions/hub.ts, the pg-wire
 * session, the engine interface) never touches a network library. Packages not named here are free.
 */
export const PACKAGE_OWNERS: Readonly<Record<string, readonly string[]>> = {
  kafkajs: ['kafka/'],
  ws: ['graphql/websocket.ts', 'graphql/wsTransport.ts'],
  'graphql-ws': ['graphql/websocket.ts', 'graphql/wsTransport.ts'],
  graphql: ['graphql/'],
  'graphql-jit': ['graphql/compiled/'],
  '@apollo/server': ['graphql/apollo.ts', 'http/app.ts'],
  express: ['http/'],
  pg: ['engine/risingwave/'],
  '@electric-sql/pglite': ['engine/embedded/'],
  '@electric-sql/pglite-pg_ivm': ['engine/embedded/'],
  'libpg-query': ['passthrough/guard/', 'views/'],
  mysql2: ['outbox/', 'consumer/'],
};

/** Folders of src/ that may not import each other: the two engines share only engine/*.ts. */
export const SEPARATE: readonly (readonly string[])[] = [['engine/embedded/', 'engine/risingwave/']];

/** One import of one file: where it appears, the path (relative to src/, without `.ts`) and module it reaches. */
export interface ModuleImport {
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  readonly target: string;
  readonly from: string;
  readonly to: string;
}

/** One import of a third-party package (`node:` built-ins left out). */
export interface PackageImport {
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  readonly pkg: string;
}

/** Every module specifier a TypeScript source imports or re-exports, with its 1-based line. */
export function importSpecifiers(fileName: string, text: string): { specifier: string; line: number }[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: { specifier: string; line: number }[] = [];
  const add = (node: ts.Node, literal: ts.Expression | undefined): void => {
    if (literal !== undefined && ts.isStringLiteralLike(literal)) {
      found.push({ specifier: literal.text, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
      add(node, node.moduleSpecifier);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression);
    } else if (ts.isCallExpression(node)
      && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
      add(node, node.arguments[0]);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The module of a path relative to src/ (forward slashes): its first segment, less `.ts` for a file. */
export function moduleOf(pathInSrc: string): string {
  const first = pathInSrc.split('/')[0]!;
  return first.endsWith('.ts') ? first.slice(0, -'.ts'.length) : first;
}

/** The package a bare specifier names: `@scope/name` or `name`, without a subpath. */
export function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Every .ts file below a directory, as absolute paths, sorted. */
export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.isFile() && entry.name.endsWith('.ts')) out.push(path);
  }
  return out.sort();
}

/** Every import of every .ts file below `srcDir`: relative ones resolved to src/ paths, and packages. */
export function readImports(srcDir: string): { modules: ModuleImport[]; packages: PackageImport[] } {
  const modules: ModuleImport[] = [];
  const packages: PackageImport[] = [];
  const toSrc = (abs: string): string => relative(srcDir, abs).split(sep).join('/');
  for (const abs of sourceFiles(srcDir)) {
    const file = toSrc(abs);
    for (const { specifier, line } of importSpecifiers(abs, readFileSync(abs, 'utf8'))) {
      if (specifier.startsWith('node:')) continue;
      if (!specifier.startsWith('.')) {
        packages.push({ file, line, specifier, pkg: packageOf(specifier) });
        continue;
      }
      const target = toSrc(resolve(dirname(abs), specifier));
      if (target.startsWith('..')) throw new Error(`${file}:${line} imports ${specifier}, outside src/`);
      // A specifier that resolves to src/ itself (`'..'` from a module's folder) is src/index.ts.
      const to = target === '' ? 'index' : moduleOf(target);
      modules.push({ file, line, specifier, target: target === '' ? 'index' : target, from: moduleOf(file), to });
    }
  }
  return { modules, packages };
}

/** The layer table docs/ARCHITECTURE.md shows, as markdown. */
export function layerTable(layers: readonly (readonly string[])[]): string {
  const row = (names: readonly string[], i: number): string => `| ${i} | ${names.map((n) => `\`${n}\``).join(', ')} |`;
  return ['| Layer | Modules |', '|---|---|', ...layers.map(row)].join('\n');
}

/** The layer index of each listed module. */
export function layerIndex(layers: readonly (readonly string[])[]): Map<string, number> {
  const index = new Map<string, number>();
  layers.forEach((names, i) => {
    for (const name of names) {
      if (index.has(name)) throw new Error(`module ${name} is listed in two layers`);
      index.set(name, i);
    }
  });
  return index;
}

/** One message per import that goes to a higher layer or touches a module not in the list. */
export function layerViolations(imports: readonly ModuleImport[], layers: readonly (readonly string[])[]): string[] {
  const index = layerIndex(layers);
  const out: string[] = [];
  for (const imp of imports) {
    if (imp.from === imp.to) continue;
    const where = `${imp.file}:${imp.line} imports '${imp.specifier}'`;
    const from = index.get(imp.from);
    const to = index.get(imp.to);
    if (from === undefined) out.push(`${where}: module ${imp.from} has no layer (add it to LAYERS)`);
    else if (to === undefined) out.push(`${where}: module ${imp.to} has no layer (add it to LAYERS)`);
    else if (to > from) out.push(`${where}: ${imp.from} (layer ${from}) may not import ${imp.to} (layer ${to})`);
  }
  return out;
}

/** The cycles of the module graph: each strongly connected component of two or more modules, sorted. */
export function moduleCycles(imports: readonly Pick<ModuleImport, 'from' | 'to'>[]): string[][] {
  const edges = new Map<string, Set<string>>();
  for (const { from, to } of imports) {
    if (from === to) continue;
    if (!edges.has(from)) edges.set(from, new Set());
    if (!edges.has(to)) edges.set(to, new Set());
    edges.get(from)!.add(to);
  }
  // Tarjan's strongly connected components.
  let counter = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (node: string): void => {
    order.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node)!) {
      if (!order.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, order.get(next)!));
      }
    }
    if (low.get(node) === order.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const node of [...edges.keys()].sort()) if (!order.has(node)) connect(node);
  return components.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** One message per package import from outside the package's owners. */
export function packageViolations(imports: readonly PackageImport[], owners: Readonly<Record<string, readonly string[]>>): string[] {
  const out: string[] = [];
  for (const imp of imports) {
    const allowed = owners[imp.pkg];
    if (allowed === undefined || allowed.some((place) => (place.endsWith('/') ? imp.file.startsWith(place) : imp.file === place))) continue;
    out.push(`${imp.file}:${imp.line} imports '${imp.specifier}': only ${allowed.join(', ')} may import ${imp.pkg}`);
  }
  return out;
}

/** One message per import from one folder of a SEPARATE group into another folder of the same group. */
export function separationViolations(imports: readonly ModuleImport[], groups: readonly (readonly string[])[]): string[] {
  const out: string[] = [];
  for (const imp of imports) {
    for (const group of groups) {
      const from = group.find((folder) => imp.file.startsWith(folder));
      const to = group.find((folder) => `${imp.target}/`.startsWith(folder));
      if (from !== undefined && to !== undefined && from !== to) {
        out.push(`${imp.file}:${imp.line} imports '${imp.specifier}': ${from} and ${to} may not import each other`);
      }
    }
  }
  return out;
}
