/**
 * The layering of src/ (docs/ARCHITECTURE.md, "Who may import whom"), enforced on the real import
 * graph, and the checker itself tried on small synthetic trees so a violating import is known to fail.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import {
  importSpecifiers,
  LAYERS,
  layerTable,
  layerViolations,
  moduleCycles,
  moduleOf,
  PACKAGE_OWNERS,
  packageViolations,
  readImports,
  SEPARATE,
  separationViolations,
  sourceFiles,
} from '../helpers/architecture';

const root = join(__dirname, '..', '..');
const src = join(root, 'src');

describe('the layering of src/', () => {
  const { modules, packages } = readImports(src);

  it('reads the imports of every source file (the parser sees the tree)', () => {
    expect(sourceFiles(src).length).toBeGreaterThan(100);
    expect(modules.some((i) => i.file === 'gateway.ts' && i.to === 'engine')).toBe(true);
    expect(packages.some((i) => i.file === 'kafka/client.ts' && i.pkg === 'kafkajs')).toBe(true);
  });

  it('gives every module of src/ a layer', () => {
    const listed = new Set(LAYERS.flat());
    const present = [...new Set(sourceFiles(src).map((f) => moduleOf(relative(src, f).split(sep).join('/'))))].sort();
    expect(present.filter((m) => !listed.has(m))).toEqual([]);
  });

  it('has every import go to the same layer or a lower one', () => {
    expect(layerViolations(modules, LAYERS)).toEqual([]);
  });

  it('has no cycle between modules', () => {
    expect(moduleCycles(modules)).toEqual([]);
  });

  it('keeps network and database libraries in their adapters', () => {
    expect(packageViolations(packages, PACKAGE_OWNERS)).toEqual([]);
  });

  it('keeps the two engines apart', () => {
    expect(separationViolations(modules, SEPARATE)).toEqual([]);
  });

  const doc = readFileSync(join(root, 'docs', 'ARCHITECTURE.md'), 'utf8');

  it('is the layer table docs/ARCHITECTURE.md shows', () => {
    // On failure, paste the expected table into docs/ARCHITECTURE.md.
    expect(doc).toContain(layerTable(LAYERS));
  });

  it('draws only real imports in the module map of docs/ARCHITECTURE.md', () => {
    const mermaid = /```mermaid\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
    const drawn = [...mermaid.matchAll(/^\s*(\w+) --> (\w+)\s*$/gm)].map((m) => `${m[1]} --> ${m[2]}`);
    const real = new Set(modules.filter((i) => i.from !== i.to).map((i) => `${i.from} --> ${i.to}`));
    expect(drawn.length).toBeGreaterThan(20);
    expect(drawn.filter((edge) => !real.has(edge))).toEqual([]);
  });
});

describe('the import checker', () => {
  let dir: string;
  const write = (files: Record<string, string>): string => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  };
  const layers = [['low'], ['mid', 'side'], ['top']];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wavegate-arch-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds every form of import: static, type-only, re-export, dynamic, require, import type', () => {
    const text = [
      "import { a } from './a';",
      "import type { B } from '../b';",
      "export { c } from './c';",
      "export * from './d';",
      "import e = require('./e');",
      "const f = await import('./f');",
      "const g = require('./g');",
      "let h: import('./h').H;",
      "import './i';",
      '// import { x } from "./comment";',
      "const s = \"import { y } from './string'\";",
    ].join('\n');
    expect(importSpecifiers('x.ts', text).map((i) => i.specifier)).toEqual(['./a', '../b', './c', './d', './e', './f', './g', './h', './i']);
    expect(importSpecifiers('x.ts', text).map((i) => i.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('passes a tree that imports only downwards and sideways within a layer', () => {
    const { modules } = readImports(write({
      'low/a.ts': "export const a = 1;\nimport { b } from './b';",
      'low/b.ts': 'export const b = 2;',
      'mid/m.ts': "import { a } from '../low/a';\nimport { s } from '../side';",
      'side.ts': "export const s = 1;",
      'top.ts': "import { m } from './mid/m';\nimport { a } from './low/a';",
    }));
    expect(layerViolations(modules, layers)).toEqual([]);
    expect(moduleCycles(modules)).toEqual([]);
  });

  it('fails an import of a higher layer, naming the file, line and modules', () => {
    const { modules } = readImports(write({
      'low/a.ts': "export const a = 1;\n\nimport type { M } from '../mid/m';",
      'mid/m.ts': 'export interface M { x: number }',
    }));
    expect(layerViolations(modules, layers)).toEqual(["low/a.ts:3 imports '../mid/m': low (layer 0) may not import mid (layer 1)"]);
  });

  it('fails a module that has no layer', () => {
    const { modules } = readImports(write({ 'stray/x.ts': "import { a } from '../low/a';", 'low/a.ts': '' }));
    expect(layerViolations(modules, layers)).toEqual(["stray/x.ts:1 imports '../low/a': module stray has no layer (add it to LAYERS)"]);
  });

  it('finds cycles between modules, of two and of three, even within one layer', () => {
    const { modules } = readImports(write({
      'mid/m.ts': "import { s } from '../side';",
      'side.ts': "import { m } from './mid/m';",
      'a/x.ts': "import '../b/x';",
      'b/x.ts': "import '../c/x';",
      'c/x.ts': "import '../a/x';",
      'low/a.ts': "import './b';",
      'low/b.ts': "import './a';",
    }));
    expect(moduleCycles(modules)).toEqual([['a', 'b', 'c'], ['mid', 'side']]);
  });

  it('treats an import of the src/ folder itself as src/index.ts', () => {
    const { modules } = readImports(write({ 'low/a.ts': "import { x } from '..';", 'index.ts': 'export const x = 1;' }));
    expect(layerViolations(modules, [...layers, ['index']])).toEqual(["low/a.ts:1 imports '..': low (layer 0) may not import index (layer 3)"]);
  });

  it('fails a package imported outside its owners, and a separated folder importing its sibling', () => {
    const { modules, packages } = readImports(write({
      'net/client.ts': "import { Kafka } from 'kafkajs';\nimport { x } from '@scope/pkg/sub';",
      'core/hub.ts': "import type { Consumer } from 'kafkajs';\nimport { readFileSync } from 'node:fs';\nimport { y } from 'free';",
      'eng/one/a.ts': "import { b } from '../two/b';\nimport { t } from '../types';",
      'eng/two/b.ts': 'export const b = 1;',
    }));
    expect(packages.map((p) => p.pkg)).toEqual(['kafkajs', 'free', 'kafkajs', '@scope/pkg']);
    expect(packageViolations(packages, { kafkajs: ['net/'], '@scope/pkg': ['net/client.ts'] }))
      .toEqual(["core/hub.ts:1 imports 'kafkajs': only net/ may import kafkajs"]);
    expect(separationViolations(modules, [['eng/one/', 'eng/two/']]))
      .toEqual(["eng/one/a.ts:1 imports '../two/b': eng/one/ and eng/two/ may not import each other"]);
  });
});
