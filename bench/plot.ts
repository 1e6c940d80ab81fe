/**
 * Turns a soak result (bench/soak.ts: its JSON line, with `series`) into a PNG line chart, with
 * bench/png.ts and nothing else:
 * - top panel: the gateway's heap after its latest major GC (blue) and RSS (red), MB, over minutes;
 * - bottom panel: delivery p99 (green, ms, left axis) and queries answered/s (orange, right axis).
 * The warm-up (grey band) is left of the dashed line; tick labels in the built-in bitmap font.
 *
 * Run: `node dist/bench/plot.js <soak-result.json> [docs/img/soak.png]` (the file may hold other
 * lines, e.g. the whole stdout of a run: the last line with `"bench":"soak"` is used).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Raster, type Rgb } from './png';
import { runMain } from './util';

/** One line of a panel. */
export interface Series {
  label: string;
  colour: Rgb;
  points: ReadonlyArray<readonly [number, number]>;
}

/** Roughly `count` round tick values (1, 2 or 5 × 10^k apart) covering [lo, hi]. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toFixed(10));
  return out;
}

const fmt = (v: number) => (Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : String(+v.toFixed(2)));

const AXIS: Rgb = [60, 60, 60];
const GRID: Rgb = [225, 225, 225];

/** One panel: frame, grid, ticks, left series and optional right-axis series, title. */
export function panel(r: Raster, box: { x: number; y: number; w: number; h: number }, o: {
  title: string; xMax: number; left: readonly Series[]; right?: readonly Series[]; warmup?: number;
}): void {
  const scale = 2;
  const span = (ss: readonly Series[]) => {
    const ys = ss.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
    const lo = ys.length === 0 ? 0 : Math.min(0, ...ys);
    const hi = ys.length === 0 ? 1 : Math.max(...ys) * 1.08;
    const t = ticks(lo, hi);
    return { lo: Math.min(lo, t[0]!), hi: Math.max(hi, t[t.length - 1]!), t };
  };
  const L = span(o.left);
  const R = o.right !== undefined && o.right.length > 0 ? span(o.right) : undefined;
  const X = ticks(0, o.xMax);
  const xMax = Math.max(o.xMax, X[X.length - 1]!);
  const px = (x: number) => box.x + (x / xMax) * box.w;
  const py = (y: number, a: { lo: number; hi: number }) => box.y + box.h - ((y - a.lo) / (a.hi - a.lo)) * box.h;
  if (o.warmup !== undefined && o.warmup > 0) {
    r.fill(box.x, box.y, Math.max(0, px(o.warmup) - box.x), box.h, [245, 245, 245]);
    for (let y = box.y; y < box.y + box.h; y += 8) r.line(px(o.warmup), y, px(o.warmup), Math.min(y + 4, box.y + box.h), [150, 150, 150]);
  }
  for (const t of L.t) {
    r.line(box.x, py(t, L), box.x + box.w, py(t, L), GRID);
    const s = fmt(t);
    r.text(box.x - 8 - Raster.textWidth(s, scale), py(t, L) - 5, s, AXIS, scale);
  }
  if (R !== undefined) {
    for (const t of R.t) r.text(box.x + box.w + 8, py(t, R) - 5, fmt(t), o.right![0]!.colour, scale);
  }
  for (const t of X) {
    r.line(px(t), box.y + box.h, px(t), box.y + box.h + 5, AXIS);
    const s = fmt(t);
    r.text(px(t) - Raster.textWidth(s, scale) / 2, box.y + box.h + 10, s, AXIS, scale);
  }
  r.line(box.x, box.y, box.x, box.y + box.h, AXIS);
  r.line(box.x, box.y + box.h, box.x + box.w, box.y + box.h, AXIS);
  r.line(box.x + box.w, box.y, box.x + box.w, box.y + box.h, AXIS);
  r.line(box.x, box.y, box.x + box.w, box.y, AXIS);
  const draw = (ss: readonly Series[], a: { lo: number; hi: number }) => {
    for (const s of ss) {
      const pts = s.points.filter((p) => Number.isFinite(p[1]));
      for (let i = 1; i < pts.length; i++) r.line(px(pts[i - 1]![0]), py(pts[i - 1]![1], a), px(pts[i]![0]), py(pts[i]![1], a), s.colour, 2);
      if (pts.length === 1) r.fill(px(pts[0]![0]) - 2, py(pts[0]![1], a) - 2, 5, 5, s.colour);
    }
  };
  draw(o.left, L);
  if (R !== undefined) draw(o.right!, R);
  // Title: the series in their colours.
  let tx = box.x;
  r.text(tx, box.y - 22, o.title, AXIS, scale);
  tx += Raster.textWidth(o.title, scale) + 16;
  for (const s of [...o.left, ...(o.right ?? [])]) {
    r.fill(tx, box.y - 20, 14, 6, s.colour);
    r.text(tx + 20, box.y - 22, s.label, s.colour, scale);
    tx += 20 + Raster.textWidth(s.label, scale) + 16;
  }
}

/** What plot() reads from a soak result. */
export interface SoakResult {
  series: ReadonlyArray<{ min: number; heapAfterMajorGcMB: number | null; rssMB: number; deliveryP99Ms: number | null; queriesPerSecond: number }>;
  check?: { warmupMinutes?: number };
}

/** The soak chart: 1000 × 640, two panels. */
export function plotSoak(result: SoakResult): Buffer {
  const r = new Raster(1000, 640);
  const s = result.series;
  const xMax = s.length === 0 ? 1 : s[s.length - 1]!.min;
  const warmup = result.check?.warmupMinutes;
  const pts = (f: (p: SoakResult['series'][number]) => number | null) => s.map((p) => [p.min, f(p) ?? Number.NaN] as const);
  panel(r, { x: 90, y: 40, w: 820, h: 220 }, {
    title: 'GATEWAY MEMORY (MB)', xMax, ...(warmup !== undefined ? { warmup } : {}),
    left: [{ label: 'HEAP AFTER MAJOR GC', colour: [31, 119, 180], points: pts((p) => p.heapAfterMajorGcMB) }, { label: 'RSS', colour: [214, 39, 40], points: pts((p) => p.rssMB) }],
  });
  panel(r, { x: 90, y: 350, w: 820, h: 220 }, {
    title: 'DELIVERY P99 (MS) - QUERIES/S', xMax, ...(warmup !== undefined ? { warmup } : {}),
    left: [{ label: 'P99 MS', colour: [44, 160, 44], points: pts((p) => p.deliveryP99Ms) }],
    right: [{ label: 'QUERIES/S', colour: [230, 120, 20], points: pts((p) => p.queriesPerSecond) }],
  });
  r.text(500 - Raster.textWidth('MINUTES', 2) / 2, 612, 'MINUTES', AXIS, 2);
  return r.png();
}

async function main(): Promise<void> {
  const [input, output = 'docs/img/soak.png'] = process.argv.slice(2);
  if (input === undefined) throw new Error('usage: plot <soak-result.json> [out.png]');
  const line = readFileSync(input, 'utf8').split('\n').filter((l) => l.includes('"bench":"soak"')).pop();
  if (line === undefined) throw new Error(`${input} has no soak result line`);
  const png = plotSoak(JSON.parse(line) as SoakResult);
  writeFileSync(output, png);
  process.stderr.write(`wrote ${output} (${png.length} bytes)\n`);
}

if (require.main === module) runMain(main);
