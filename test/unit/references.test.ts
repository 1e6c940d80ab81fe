/**
 * Every reference in the repository can be followed from the repository alone (docs/DEVELOPMENT.md,
 * "Conventions"): no section numbers of documents kept elsewhere, no style guide or file outside
 * the tree; a doc section is cited by its heading, and the heading exists.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

const root = join(__dirname, '..', '..');

/** The files git tracks (without git, e.g. in an unpacked tarball: every file outside node_modules, dist and .git). */
function trackedFiles(): string[] {
  try {
    return execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\0').filter((f) => f !== '' && !f.split('/').includes('node_modules'));
  } catch {
    const walk = (dir: string): string[] => readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
      const path = dir === '' ? e.name : `${dir}/${e.name}`;
      if (e.isDirectory()) return ['node_modules', 'dist', '.git'].includes(e.name) ? [] : walk(path);
      return e.isFile() ? [path] : [];
    });
    return walk('');
  }
}

/** Text files only: a NUL byte marks a binary file. */
function readText(file: string): string | undefined {
  const text = readFileSync(join(root, file), 'utf8');
  return text.includes('\0') ? undefined : text;
}

/**
 * What may not be cited. Built from pieces so this file does not match itself: a section sign
 * followed by a digit (the numbering of a document that is not here), the team style guide, and
 * paths that climb out of the repository into the shared folder.
 */
const FORBIDDEN: readonly { readonly name: string; readonly pattern: RegExp }[] = [
  { name: 'a section number', pattern: new RegExp('\u00a7\\s*\\d') },
  { name: 'the style guide', pattern: new RegExp(['STYLE', 'md'].join('\\.')) },
  { name: 'a path outside the repository', pattern: new RegExp(['\\.\\.', 'shared\\b'].join('/')) },
  { name: 'the shared reference folder', pattern: new RegExp(['shared', 'reference'].join('/')) },
  { name: 'a numbered practice of the style guide', pattern: new RegExp('\\bpractices? \\d') },
];

/** Each forbidden citation in `text`, as `file:line: what`. */
function forbiddenCitations(file: string, text: string): string[] {
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    for (const { name, pattern } of FORBIDDEN) if (pattern.test(line)) out.push(`${file}:${i + 1}: ${name}: ${line.trim()}`);
  });
  return out;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function headingSlug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\- _]/gu, '').replace(/ /g, '-');
}

/** The headings of a markdown file (outside code fences), as written. */
function headingsOf(markdown: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (m !== null) out.push(m[1]!);
  }
  return out;
}

/** Every `docs/<file>.md, "<heading>"` citation in `text` (a comment may wrap it over lines). */
function sectionCitations(text: string): { doc: string; section: string }[] {
  return [...text.matchAll(/\bdocs\/([A-Za-z_-]+\.md),?\s+"([^"]+)"/g)]
    .map((m) => ({ doc: m[1]!, section: m[2]!.replace(/\s*\n\s*(?:\*|\/\/|#|--)?\s*/g, ' ') }));
}

/** Every markdown link with an anchor to a markdown file (or to the same file): `[..](path.md#anchor)`. */
function anchorLinks(text: string): { path: string; anchor: string }[] {
  return [...text.matchAll(/\]\(((?:[^()\s#]*\.md)?)#([^()\s]+)\)/g)].map((m) => ({ path: m[1]!, anchor: m[2]! }));
}

const files = trackedFiles();
const texts = new Map(files.flatMap((f) => {
  const text = readText(f);
  return text === undefined ? [] : [[f, text] as const];
}));

describe('references in the repository', () => {
  it('reads the tracked files', () => {
    expect(texts.has('README.md')).toBe(true);
    expect(texts.has('src/gateway.ts')).toBe(true);
    expect(texts.size).toBeGreaterThan(200);
  });

  it('cite no section numbers, style guide or files outside the repository', () => {
    expect([...texts].flatMap(([f, t]) => forbiddenCitations(f, t))).toEqual([]);
  });

  it('cite doc sections by a heading that exists', () => {
    const bad: string[] = [];
    let seen = 0;
    for (const [file, text] of texts) {
      for (const { doc, section } of sectionCitations(text)) {
        seen += 1;
        const target = texts.get(`docs/${doc}`);
        const titles = target === undefined ? [] : headingsOf(target).map((h) => h.replace(/^\d+\.\s+/, ''));
        if (!titles.some((t) => t.startsWith(section))) bad.push(`${file}: docs/${doc}, "${section}"`);
      }
    }
    expect(seen).toBeGreaterThan(20);
    expect(bad).toEqual([]);
  });

  it('link to markdown anchors that exist', () => {
    const bad: string[] = [];
    let seen = 0;
    for (const [file, text] of texts) {
      if (!file.endsWith('.md')) continue;
      for (const { path, anchor } of anchorLinks(text)) {
        const target = path === '' ? file : posix.normalize(posix.join(posix.dirname(file), path));
        const markdown = texts.get(target);
        if (markdown === undefined) continue; // a link to another repository's file
        seen += 1;
        if (!headingsOf(markdown).map(headingSlug).includes(decodeURIComponent(anchor))) bad.push(`${file}: ${path}#${anchor}`);
      }
    }
    expect(seen).toBeGreaterThan(20);
    expect(bad).toEqual([]);
  });
});

describe('the reference checks', () => {
  it('catch a section number, the style guide and a path outside the repository', () => {
    const text = ['ok line', `see ${'\u00a7'}2.4`, `(${['STYLE', 'md'].join('.')} rule)`, `[x](${['..', 'shared', 'a.md'].join('/')})`, `(${'practice'} 13)`].join('\n');
    expect(forbiddenCitations('f.ts', text).map((m) => m.split(':').slice(0, 3).join(':'))).toEqual([
      'f.ts:2: a section number', 'f.ts:3: the style guide', 'f.ts:4: a path outside the repository',
      'f.ts:5: a numbered practice of the style guide',
    ]);
    expect(forbiddenCitations('f.ts', 'a section sign alone: \u00a7 and text')).toEqual([]);
  });

  it('read wrapped citations, headings and anchors as GitHub does', () => {
    const docs = 'docs'; // not spelled out, so this file cites nothing itself
    expect(sectionCitations(` * see ${docs}/SQL.md, "Users, roles\n * and what they read"; ${docs}/X.md "Y"`))
      .toEqual([{ doc: 'SQL.md', section: 'Users, roles and what they read' }, { doc: 'X.md', section: 'Y' }]);
    expect(headingsOf('# Title\n```\n# not a heading\n```\n## 3. Resume: `after: cursor`\n')).toEqual(['Title', '3. Resume: `after: cursor`']);
    expect(headingSlug("4. Kafka topics (the sinks' contract)")).toBe('4-kafka-topics-the-sinks-contract');
    expect(headingSlug('3. `wavegate migrate plan|apply|status`')).toBe('3-wavegate-migrate-planapplystatus');
    expect(anchorLinks('[a](#x-y) [b](../docs/A.md#z) [c](https://e.com/p#q) [d](B.md)'))
      .toEqual([{ path: '', anchor: 'x-y' }, { path: '../docs/A.md', anchor: 'z' }]);
  });
});
