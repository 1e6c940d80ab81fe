/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): the top items by self time and by
 * inclusive time, as shares of the samples kept. With `--from`/`--to` (wall-clock `HH:MM:SS`, as the
 * benches print in their notes) only the samples of that window are kept; the profile's start is
 * read from its file name (`CPU.<yyyymmdd>.<hhmmss>.…`), so windows are accurate to about a second.
 *
 * Run: `node dist/bench/profile-summary.js <file.cpuprofile> [--from=10:02:43 --to=10:02:49]...
 *       [--top=15] [--by=function|file]` (several --from/--to pairs: their union).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Seconds since midnight of `HH:MM:SS`. */
function clock(s: string): number {
  const m = /^(\d\d):(\d\d):(\d\d)$/.exec(s);
  if (m === null) throw new Error(`not HH:MM:SS: ${s}`);
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

/** A short name for a frame's script: the package (node_modules/<pkg>) or the path under the project. */
function where(url: string): string {
  if (url === '') return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const d = url.indexOf('/dist/');
  if (d >= 0) return url.slice(d + 6);
  return url.replace(/^file:\/\//, '').replace(/^node:/, 'node:');
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (file === undefined) throw new Error('usage: profile-summary <file.cpuprofile> [--from=HH:MM:SS --to=HH:MM:SS]... [--top=N] [--by=function|file]');
  const froms = args.filter((a) => a.startsWith('--from=')).map((a) => clock(a.slice(7)));
  const tos = args.filter((a) => a.startsWith('--to=')).map((a) => clock(a.slice(5)));
  const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 15);
  const by = args.find((a) => a.startsWith('--by='))?.slice(5) ?? 'function';
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const startName = /CPU\.\d{8}\.(\d\d)(\d\d)(\d\d)\./.exec(basename(file));
  const start = startName === null ? undefined : clock(`${startName[1]}:${startName[2]}:${startName[3]}`);
  if (froms.length > 0 && start === undefined) throw new Error('--from needs the profile file name to carry its start time');

  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode) => by === 'file' ? where(n.callFrame.url)
    : `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let kept = 0;
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (froms.length > 0) {
      const wall = start! + (t - p.startTime) / 1e6;
      if (!froms.some((f, k) => wall >= f && wall < (tos[k] ?? Infinity))) continue;
    }
    const leaf = byId.get(p.samples[i]!)!;
    const name = leaf.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') continue;
    kept++;
    self.set(label(leaf), (self.get(label(leaf)) ?? 0) + 1);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const l = label(byId.get(id)!);
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + 1);
    }
  }
  const pct = (n: number) => `${((100 * n) / kept).toFixed(1)} %`;
  const list = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, n]) => `| ${pct(n)} | ${k} |`).join('\n');
  process.stdout.write(`${kept} busy samples (idle and "(program)" left out)${froms.length > 0 ? ` in ${froms.length} window(s)` : ''}\n\n`
    + `Self time, by ${by}:\n\n| share | item |\n|---:|---|\n${list(self)}\n\n`
    + `Inclusive time, by ${by}:\n\n| share | item |\n|---:|---|\n${list(inclusive)}\n`);
}

main();
