import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Golden-file comparison. `UPDATE_GOLDEN=1` rewrites the file instead of comparing — never in CI
 * (refused when `CI` is set), so a change to generated SQL always shows up as a reviewed diff.
 */
export function expectGolden(path: string, actual: string): void {
  const update = process.env['UPDATE_GOLDEN'] === '1';
  if (update) {
    if (process.env['CI']) throw new Error('UPDATE_GOLDEN=1 is refused in CI: regenerate golden files locally and commit them');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) throw new Error(`golden file ${path} is missing: run UPDATE_GOLDEN=1 npx jest <test> and review it`);
  const expected = readFileSync(path, 'utf8');
  if (expected !== actual) {
    throw new Error(`generated output differs from ${path} (run with UPDATE_GOLDEN=1 to accept, then review the diff):\n${lineDiff(expected, actual)}`);
  }
}

/** A minimal line diff (LCS): `-` lines only in `a`, `+` lines only in `b`, 2 lines of context. */
export function lineDiff(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  const n = x.length;
  const m = y.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: Array<{ tag: ' ' | '-' | '+'; line: string }> = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) ops.push({ tag: ' ', line: x[i++]! }), j++;
    else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) ops.push({ tag: '-', line: x[i++]! });
    else ops.push({ tag: '+', line: y[j++]! });
  }
  const near = (k: number) => ops.slice(Math.max(0, k - 2), k + 3).some((o) => o.tag !== ' ');
  return ops.map((o, k) => (near(k) ? `${o.tag} ${o.line}` : undefined))
    .filter((l, k, all) => l !== undefined || all[k - 1] !== undefined)
    .map((l) => l ?? '  ...')
    .join('\n');
}
