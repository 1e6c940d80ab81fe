/**
 * The package as users get it: the public entry points in package.json `exports` (each a source
 * under src/ for `wavegate-source`, and the compiled file and its declarations that
 * `npm run build` writes to dist/), the examples importing Wavegate only through them, and a
 * lockfile whose every package runs on the Node versions package.json `engines` admits (so
 * `npm install` prints no EBADENGINE warning).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

interface Semver {
  minVersion(range: string): { version: string } | null;
  satisfies(version: string, range: string): boolean;
}
// semver is an exact-pinned devDependency; its types are not installed, so only what is used is declared.
const semver = require('semver') as Semver;

const ROOT = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  main: string;
  types: string;
  engines: { node: string };
  exports: Record<string, string | Record<string, string>>;
};
const entries = Object.entries(pkg.exports).filter((e): e is [string, Record<string, string>] => typeof e[1] !== 'string');
const SUBPATHS = ['.', './consumer', './outbox', './simulator', './kafka'];

describe('package.json exports', () => {
  it('publishes wavegate, wavegate/consumer, wavegate/outbox, wavegate/simulator and wavegate/kafka', () => {
    expect(entries.map(([k]) => k)).toEqual(SUBPATHS);
    expect(pkg.exports['./package.json']).toBe('./package.json');
  });

  it('maps each entry to a source under src/, and to the file and declarations tsc -p tsconfig.build.json writes for it', () => {
    const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { declaration?: boolean }; include: string[] };
    expect(build.compilerOptions.declaration).toBe(true);
    expect(build.include).toContain('src');
    for (const [subpath, entry] of entries) {
      // Condition order matters (the first match wins): the source condition, then types, then the rest.
      expect(Object.keys(entry)).toEqual(['wavegate-source', 'types', 'default']);
      const source = entry['wavegate-source']!;
      expect(source).toMatch(/^\.\/src\/.+\.ts$/);
      expect(existsSync(join(ROOT, source))).toBe(true);
      // outDir dist, rootDir . (tsconfig.json): src/x.ts compiles to dist/src/x.js and dist/src/x.d.ts.
      expect([subpath, entry['default']]).toEqual([subpath, source.replace(/^\.\//, './dist/').replace(/\.ts$/, '.js')]);
      expect([subpath, entry['types']]).toEqual([subpath, source.replace(/^\.\//, './dist/').replace(/\.ts$/, '.d.ts')]);
    }
    const root = pkg.exports['.'] as Record<string, string>;
    expect([pkg.main, pkg.types]).toEqual([root['default'], root['types']]);
  });

  it('resolves every entry by its package name under the wavegate-source condition (Node\'s own resolver)', () => {
    const names = entries.map(([k]) => (k === '.' ? pkg.name : `${pkg.name}/${k.slice(2)}`));
    const out = execFileSync(process.execPath, ['--conditions=wavegate-source', '-p', `JSON.stringify(${JSON.stringify(names)}.map((n) => require.resolve(n)))`], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect((JSON.parse(out) as string[]).map((p) => relative(ROOT, p).split(sep).join('/'))).toEqual(entries.map(([, e]) => e['wavegate-source']!.slice(2)));
  });
});

/** Every .ts/.js/.mjs file under `dir`, node_modules excluded. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return d.name === 'node_modules' ? [] : sourceFiles(p);
    return /\.(ts|js|mjs|cjs)$/.test(d.name) ? [p] : [];
  });
}

/** Module specifiers of `import ... from`, `export ... from`, `import(...)` and `require(...)`. */
function specifiers(text: string): string[] {
  const re = /\b(?:from\s+|import\s*\(\s*|require\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;
  return [...text.matchAll(re)].map((m) => m[1]!);
}

describe('examples/ import Wavegate through its package name', () => {
  const files = sourceFiles(join(ROOT, 'examples'));

  it('finds the example sources', () => {
    expect(files.length).toBeGreaterThan(5);
    expect(specifiers("import a from 'x';\nexport { b } from \"y\";\nconst c = require('z'); await import('w');\nimport 'v';")).toEqual(['x', 'y', 'z', 'w', 'v']);
  });

  it('has no import that reaches into src/ (use wavegate, wavegate/consumer, wavegate/outbox, ...)', () => {
    const intoSrc = files.flatMap((f) => specifiers(readFileSync(f, 'utf8'))
      .filter((s) => s.startsWith('.') && !relative(join(ROOT, 'src'), resolve(dirname(f), s)).startsWith('..'))
      .map((s) => `${relative(ROOT, f)}: ${s}`));
    expect(intoSrc).toEqual([]);
  });

  it('imports only exported entry points', () => {
    const exported = new Set(entries.map(([k]) => (k === '.' ? pkg.name : `${pkg.name}/${k.slice(2)}`)));
    const used = files.flatMap((f) => specifiers(readFileSync(f, 'utf8')).filter((s) => s === pkg.name || s.startsWith(`${pkg.name}/`)));
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((s) => !exported.has(s))).toEqual([]);
  });
});

describe('package-lock.json', () => {
  it('has no package whose engines exclude the oldest Node that package.json engines admits', () => {
    const oldest = semver.minVersion(pkg.engines.node)?.version;
    expect(oldest).toBeDefined();
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; engines?: unknown }> };
    const excluding = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && typeof (p.engines as { node?: unknown } | undefined)?.node === 'string')
      .filter(([, p]) => !semver.satisfies(oldest!, (p.engines as { node: string }).node))
      .map(([path, p]) => `${path}@${p.version ?? '?'} wants node ${(p.engines as { node: string }).node}`);
    expect(excluding).toEqual([]);
    expect(semver.satisfies(oldest!, '>=22')).toBe(false); // the check can fail: PostGraphile's >=22 would
  });

  it('does not hold PostGraphile: the peers bench installs it into bench/peers on demand', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    expect(Object.keys(lock.packages).filter((p) => p.endsWith('node_modules/postgraphile'))).toEqual([]);
    const peers = JSON.parse(readFileSync(join(ROOT, 'bench', 'peers', 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    expect(peers.packages['node_modules/postgraphile']?.version).toBe('5.1.5');
  });
});
