/**
 * What the objects a bench added between two V8 heap snapshots of one process are, and who holds
 * them: the tool behind docs/benchmarks.md's memory breakdown of an idle subscriber
 * (`kafka-fanout --heapSnapshot=1` writes the two snapshots: 0 subscribers, then N idle ones).
 *
 * V8 keeps object ids stable between snapshots of one isolate, so "added" = a node of the second
 * snapshot whose id the first does not have (both are taken after a full GC: only live objects).
 * The added objects are summed two ways:
 * - by kind: node type and constructor/function name, self size (shallow bytes), count;
 * - by holder: the immediate dominator tree of the second snapshot (Cooper, Harvey & Kennedy, "A
 *   Simple, Fast Dominance Algorithm", https://www.cs.rice.edu/~keith/EMBED/dom.pdf) over non-weak
 *   edges; every added object whose dominator is not itself added roots an added subgraph, and its
 *   retained size (its own plus everything it dominates) is counted under its name. So the
 *   "holders" table says which top-level objects own the new memory: e.g. `WebSocket` retains its
 *   socket, buffers and closures.
 * Bytes are divided by `--per` (the subscriber count) when given.
 *
 * Run: `node --max-old-space-size=4096 dist/bench/heapdiff.js <before.heapsnapshot> <after.heapsnapshot> [--per=N] [--top=25]`
 * Prints one JSON line (the tables) on stdout and a readable table on stderr. Not a bench of its own.
 */
import { readFileSync } from 'node:fs';
import { runMain } from './util';

interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] }; node_count: number };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** A parsed snapshot in flat arrays (node index = position / node field count). */
export interface Heap {
  count: number;
  type: Uint8Array;
  name: Uint32Array;
  id: Uint32Array;
  selfSize: Float64Array;
  firstEdge: Uint32Array;
  edgeType: Uint8Array;
  edgeName: Uint32Array;
  edgeTo: Uint32Array;
  strings: string[];
  nodeTypes: string[];
  edgeTypes: string[];
}

export function parseHeap(text: string): Heap {
  const raw = JSON.parse(text) as RawSnapshot;
  const nf = raw.snapshot.meta.node_fields;
  const ef = raw.snapshot.meta.edge_fields;
  const nStep = nf.length;
  const eStep = ef.length;
  const [iType, iName, iId, iSelf, iEdges] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) => nf.indexOf(f));
  const [jType, jName, jTo] = ['type', 'name_or_index', 'to_node'].map((f) => ef.indexOf(f));
  const count = raw.nodes.length / nStep;
  const h: Heap = {
    count,
    type: new Uint8Array(count),
    name: new Uint32Array(count),
    id: new Uint32Array(count),
    selfSize: new Float64Array(count),
    firstEdge: new Uint32Array(count + 1),
    edgeType: new Uint8Array(raw.edges.length / eStep),
    edgeName: new Uint32Array(raw.edges.length / eStep),
    edgeTo: new Uint32Array(raw.edges.length / eStep),
    strings: raw.strings,
    nodeTypes: raw.snapshot.meta.node_types[0],
    edgeTypes: raw.snapshot.meta.edge_types[0],
  };
  let e = 0;
  for (let i = 0; i < count; i++) {
    const o = i * nStep;
    h.type[i] = raw.nodes[o + iType!]!;
    h.name[i] = raw.nodes[o + iName!]!;
    h.id[i] = raw.nodes[o + iId!]!;
    h.selfSize[i] = raw.nodes[o + iSelf!]!;
    h.firstEdge[i] = e;
    e += raw.nodes[o + iEdges!]!;
  }
  h.firstEdge[count] = e;
  for (let k = 0; k < h.edgeTo.length; k++) {
    const o = k * eStep;
    h.edgeType[k] = raw.edges[o + jType!]!;
    h.edgeName[k] = raw.edges[o + jName!]!;
    h.edgeTo[k] = raw.edges[o + jTo!]! / nStep;
  }
  return h;
}

/** A readable label of node i: `closure foo`, `object WebSocket`, `string`, `array (object elements)`. */
export function label(h: Heap, i: number): string {
  const t = h.nodeTypes[h.type[i]!]!;
  const n = h.strings[h.name[i]!] ?? '';
  switch (t) {
    case 'string': case 'concatenated string': case 'sliced string': return 'string';
    case 'number': case 'bigint': case 'symbol': return t;
    case 'code': return 'code';
    case 'closure': return `closure ${n === '' ? '(anonymous)' : n}`;
    case 'object':
      if (n === 'Object') return `object {${properties(h, i).slice(0, 5).join(',')}}`;
      return `${t} ${n.length > 60 ? `${n.slice(0, 57)}...` : n}`;
    case 'native': case 'hidden': case 'array': case 'synthetic': case 'regexp': case 'object shape':
      return `${t} ${n.length > 60 ? `${n.slice(0, 57)}...` : n}`;
    default: return `${t} ${n}`;
  }
}

/** Named property edges of node i, in snapshot order (plain objects are told apart by them). */
export function properties(h: Heap, i: number): string[] {
  const prop = h.edgeTypes.indexOf('property');
  const out: string[] = [];
  for (let k = h.firstEdge[i]!; k < h.firstEdge[i + 1]!; k++) {
    if (h.edgeType[k] !== prop) continue;
    const name = h.strings[h.edgeName[k]!] ?? '';
    if (name !== '__proto__' && name !== 'map') out.push(name);
  }
  return out;
}

/**
 * Splits the added objects among owners: from every added object whose label matches an owner
 * pattern (tried in order), a walk over added objects reachable through non-weak edges claims each
 * object not yet claimed, stopping at other owners. What no owner reaches is "unowned".
 */
export function owners(h: Heap, added: Uint8Array, patterns: ReadonlyArray<readonly [string, RegExp]>): Map<string, Row> {
  const weak = h.edgeTypes.indexOf('weak');
  const claimed = new Uint8Array(h.count);
  const isOwner = new Int16Array(h.count).fill(-1);
  for (let i = 0; i < h.count; i++) {
    if (added[i] !== 1) continue;
    const l = label(h, i);
    const p = patterns.findIndex(([, re]) => re.test(l));
    if (p >= 0) isOwner[i] = p;
  }
  const out = new Map<string, Row>();
  for (let p = 0; p < patterns.length; p++) {
    const row: Row = { what: patterns[p]![0], count: 0, bytes: 0 };
    out.set(row.what, row);
    for (let i = 0; i < h.count; i++) {
      if (isOwner[i] !== p || claimed[i] === 1) continue;
      row.count++;
      const stack = [i];
      claimed[i] = 1;
      while (stack.length > 0) {
        const v = stack.pop()!;
        row.bytes += h.selfSize[v]!;
        for (let k = h.firstEdge[v]!; k < h.firstEdge[v + 1]!; k++) {
          if (h.edgeType[k] === weak) continue;
          const w = h.edgeTo[k]!;
          if (added[w] !== 1 || claimed[w] === 1 || (isOwner[w] !== -1 && isOwner[w] !== p)) continue;
          claimed[w] = 1;
          stack.push(w);
        }
      }
    }
  }
  const rest: Row = { what: 'unowned', count: 0, bytes: 0 };
  for (let i = 0; i < h.count; i++) {
    if (added[i] === 1 && claimed[i] !== 1) {
      rest.count++;
      rest.bytes += h.selfSize[i]!;
    }
  }
  out.set(rest.what, rest);
  return out;
}

/** Immediate dominators over non-weak edges from node 0 (the synthetic root); unreachable nodes get -1. */
export function dominators(h: Heap): Int32Array {
  const weak = h.edgeTypes.indexOf('weak');
  const n = h.count;
  // Post-order by iterative DFS.
  const post = new Int32Array(n).fill(-1);
  const order: number[] = [];
  const stack = new Uint32Array(n);
  const cursor = new Uint32Array(n);
  const seen = new Uint8Array(n);
  let sp = 0;
  stack[sp++] = 0;
  seen[0] = 1;
  cursor[0] = h.firstEdge[0]!;
  while (sp > 0) {
    const v = stack[sp - 1]!;
    const end = h.firstEdge[v + 1]!;
    let pushed = false;
    while (cursor[v]! < end) {
      const k = cursor[v]!++;
      if (h.edgeType[k] === weak) continue;
      const w = h.edgeTo[k]!;
      if (seen[w] === 1) continue;
      seen[w] = 1;
      cursor[w] = h.firstEdge[w]!;
      stack[sp++] = w;
      pushed = true;
      break;
    }
    if (!pushed) {
      sp--;
      post[v] = order.length;
      order.push(v);
    }
  }
  // Predecessors (CSR).
  const predCount = new Uint32Array(n + 1);
  for (let v = 0; v < n; v++) {
    if (seen[v] !== 1) continue;
    for (let k = h.firstEdge[v]!; k < h.firstEdge[v + 1]!; k++) if (h.edgeType[k] !== weak) predCount[h.edgeTo[k]! + 1]!++;
  }
  for (let v = 0; v < n; v++) predCount[v + 1]! += predCount[v]!;
  const preds = new Uint32Array(predCount[n]!);
  const fill = predCount.slice(0, n);
  for (let v = 0; v < n; v++) {
    if (seen[v] !== 1) continue;
    for (let k = h.firstEdge[v]!; k < h.firstEdge[v + 1]!; k++) if (h.edgeType[k] !== weak) preds[fill[h.edgeTo[k]!]!++] = v;
  }
  const idom = new Int32Array(n).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (post[a]! < post[b]!) a = idom[a]!;
      while (post[b]! < post[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (let p = order.length - 1; p >= 0; p--) {
      const v = order[p]!;
      if (v === 0) continue;
      let d = -1;
      for (let k = predCount[v]!; k < predCount[v + 1]!; k++) {
        const u = preds[k]!;
        if (idom[u] === -1) continue;
        d = d === -1 ? u : intersect(u, d);
      }
      if (d !== -1 && idom[v] !== d) {
        idom[v] = d;
        changed = true;
      }
    }
  }
  return idom;
}

/**
 * The owners the added memory of an idle subscriber is split among, innermost first (an owner's
 * walk stops at the others): see {@link owners}.
 */
export const OWNERS: ReadonlyArray<readonly [string, RegExp]> = [
  ['graphql Document (parsed subscription document, tokens + locations)', /^object \{kind,definitions/],
  ['DataLoader (context.loaders)', /^object DataLoader$/],
  ['RequestDeadline (AbortController + timer)', /^object RequestDeadline$/],
  ['GraphQLContext (rest: engine wrapper, hub wrapper, logger child, loaders map)', /^object \{viewer,engine,hub/],
  ['ExecutionArgs (per operation)', /^object \{schema,document/],
  ['Subscriber (hub: queue, waiters, AbortController)', /^object Subscriber$/],
  ['IncomingMessage (upgrade request kept by ws/graphql-ws)', /^object IncomingMessage$/],
  ['ws Receiver', /^object Receiver$/],
  ['ws Sender', /^object Sender$/],
  ['net.Socket (+ TCP handle, streams state)', /^object Socket$/],
  ['ws WebSocket (rest)', /^object WebSocket$/],
  ['Timeout (other timers: keep-alive, expiry)', /^object Timeout$/],
  ['Generator / async iterator state', /^object (Generator|AsyncGenerator)$/],
  ['Promise', /^object Promise$/],
  ['closures (other)', /^closure /],
];

interface Row {
  what: string;
  count: number;
  bytes: number;
}

function table(m: Map<string, Row>, top: number, per: number): Array<{ what: string; count: number; bytes: number; perSubscriber: number | null; countPerSubscriber: number | null }> {
  return [...m.values()].sort((a, b) => b.bytes - a.bytes).slice(0, top).map((r) => ({
    what: r.what, count: r.count, bytes: r.bytes,
    perSubscriber: per > 0 ? Math.round(r.bytes / per) : null,
    countPerSubscriber: per > 0 ? +(r.count / per).toFixed(2) : null,
  }));
}

function add(m: Map<string, Row>, what: string, bytes: number): void {
  const r = m.get(what);
  if (r === undefined) m.set(what, { what, count: 1, bytes });
  else {
    r.count++;
    r.bytes += bytes;
  }
}

/** The added objects of `after` (ids not in `before`), by kind and by holder. */
export function diff(before: Heap, after: Heap, per: number, top: number) {
  const old = new Set<number>();
  for (let i = 0; i < before.count; i++) old.add(before.id[i]!);
  const added = new Uint8Array(after.count);
  let addedBytes = 0;
  const byKind = new Map<string, Row>();
  for (let i = 0; i < after.count; i++) {
    if (old.has(after.id[i]!)) continue;
    added[i] = 1;
    addedBytes += after.selfSize[i]!;
    add(byKind, label(after, i), after.selfSize[i]!);
  }
  const idom = dominators(after);
  // Retained sizes: children before parents (reverse DFS post-order is not kept; sum by depth instead).
  const depth = new Int32Array(after.count).fill(-1);
  depth[0] = 0;
  const depthOf = (v: number): number => {
    const path: number[] = [];
    let x = v;
    while (depth[x] === -1 && idom[x] !== -1) {
      path.push(x);
      x = idom[x]!;
    }
    let d = depth[x] === -1 ? 0 : depth[x]!;
    for (let k = path.length - 1; k >= 0; k--) depth[path[k]!] = ++d;
    return depth[v]!;
  };
  const byDepth: number[] = [];
  for (let i = 0; i < after.count; i++) if (idom[i] !== -1) byDepth.push(i);
  for (const i of byDepth) depthOf(i);
  byDepth.sort((a, b) => depth[b]! - depth[a]!);
  const retained = Float64Array.from(after.selfSize);
  for (const i of byDepth) if (i !== 0) retained[idom[i]!]! += retained[i]!;
  const byHolder = new Map<string, Row>();
  // The holder of an added root: its dominator's label, so "object WebSocket ← object Set" says which structure keeps them.
  for (let i = 0; i < after.count; i++) {
    if (added[i] !== 1 || idom[i] === -1 || added[idom[i]!] === 1) continue;
    add(byHolder, `${label(after, i)}  ← held by ${label(after, idom[i]!)}`, retained[i]!);
  }
  // Retained size of every instance of the main per-connection objects.
  const perInstance = new Map<string, Row>();
  const interesting = /^(object (WebSocket|Socket|IncomingMessage|Receiver|Sender|Subscriber|Subscription|TLSSocket|HTTPParser|Timeout|DataLoader|Deadline)|native TCP)/;
  for (let i = 0; i < after.count; i++) {
    if (added[i] !== 1) continue;
    const l = label(after, i);
    if (interesting.test(l)) add(perInstance, l, retained[i]!);
  }
  const split = owners(after, added, OWNERS);
  return {
    addedObjects: added.reduce((a, b) => a + b, 0),
    addedBytes,
    addedBytesPerSubscriber: per > 0 ? Math.round(addedBytes / per) : null,
    byKind: table(byKind, top, per),
    byHolder: table(byHolder, top, per),
    owners: table(split, top, per),
    retainedPerInstance: table(perInstance, top, per).map((r) => ({ ...r, bytesEach: Math.round(r.bytes / r.count) })),
  };
}

async function main(): Promise<void> {
  const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const opt = (name: string, d: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? d);
  if (files.length !== 2) throw new Error('usage: heapdiff <before.heapsnapshot> <after.heapsnapshot> [--per=N] [--top=25]');
  const per = opt('per', 0);
  const top = opt('top', 25);
  const before = parseHeap(readFileSync(files[0]!, 'utf8'));
  const after = parseHeap(readFileSync(files[1]!, 'utf8'));
  const d = diff(before, after, per, top);
  process.stdout.write(`${JSON.stringify({ tool: 'heapdiff', before: files[0], after: files[1], per, ...d })}\n`);
  const show = (title: string, rows: Array<{ what: string; count: number; bytes: number; perSubscriber: number | null }>) => {
    process.stderr.write(`\n${title}\n`);
    for (const r of rows) process.stderr.write(`${String(r.perSubscriber ?? r.bytes).padStart(8)}  ${String(r.count).padStart(8)}  ${r.what}\n`);
  };
  process.stderr.write(`added: ${d.addedObjects} objects, ${d.addedBytes} bytes${per > 0 ? `, ${d.addedBytesPerSubscriber} per subscriber` : ''}\n`);
  show('by kind (self bytes per subscriber, count)', d.byKind);
  show('by holder (retained bytes per subscriber, count)', d.byHolder);
  show('owners (bytes per subscriber, owner instances)', d.owners);
  show('retained per instance (bytes per subscriber, count)', d.retainedPerInstance);
}

if (require.main === module) runMain(main);
