/**
 * Positions and cursors of the Kafka change feed. Pure: no kafkajs, no I/O.
 *
 * - A **position** names one change: `<topic>:<partition>:<offset>`, e.g. `view.trip_history:3:1204`.
 * - A **cursor** covers, per topic-partition, every offset up to and including the one it holds:
 *   `k1;<topic>:<o0>,<o1>,...;<topic>:...` where `<oN>` is the offset covered in partition N, in
 *   base 36 (`-` = nothing covered, empty = partition not named). Topics are sorted, so equal
 *   cursors are equal strings. Compact on purpose: the GraphQL layer wraps it in its own cursor,
 *   and head() names every partition of every view topic. A partition the cursor does not name is
 *   not covered at all (its changes are all "after" the cursor).
 *
 * Offsets are broker-assigned, so a cursor made by one gateway instance means the same on every
 * other instance reading the same cluster (no sticky sessions needed).
 */
import { GatewayError, GatewayErrorCode } from '../../../errors';

/** One change's place in Kafka. */
export interface TopicPartitionOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** Decoded cursor: topic → partition → last covered offset. */
export type Coverage = ReadonlyMap<string, ReadonlyMap<number, number>>;

/** Cursor format version tag; a new encoding gets a new tag and the old one keeps parsing. */
const TAG = 'k1';
/** Longest cursor accepted from a client (a few hundred partitions). */
export const MAX_CURSOR_LENGTH = 16_384;

/** Kafka's legal topic names (org.apache.kafka.common.internals.Topic: [a-zA-Z0-9._-], ≤ 249). */
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
const POSITION = /^([A-Za-z0-9._-]{1,249}):(\d{1,5}):(\d{1,16})$/;
const OFFSET36 = /^[0-9a-z]{1,11}$/;
/** Most partitions a cursor may name per topic. */
const MAX_PARTITIONS = 10_000;

function malformed(what: string, detail: string): GatewayError {
  return new GatewayError(GatewayErrorCode.BAD_USER_INPUT, `Malformed ${what}`, { details: { reason: detail } });
}

function offsetOf(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw malformed(what, `offset ${text} out of range`);
  return n;
}

/** `<topic>:<partition>:<offset>`. */
export function formatPosition(p: TopicPartitionOffset): string {
  return `${p.topic}:${p.partition}:${p.offset}`;
}

/** Parses a position; GatewayError BAD_USER_INPUT when malformed. */
export function parsePosition(s: string): TopicPartitionOffset {
  const m = POSITION.exec(s);
  if (m === null) throw malformed('position', 'expected <topic>:<partition>:<offset>');
  const partition = Number(m[2]);
  if (partition >= MAX_PARTITIONS) throw malformed('position', `partition ${partition} out of range`);
  return { topic: m[1]!, partition, offset: offsetOf(m[3]!, 'position') };
}

/** Encodes a coverage map as a cursor string (canonical: equal coverage, equal string). */
export function encodeCursor(c: Coverage): string {
  const parts = [TAG];
  for (const topic of [...c.keys()].sort()) {
    const partitions = c.get(topic)!;
    if (partitions.size === 0) continue;
    const entries = new Array<string>(Math.max(...partitions.keys()) + 1).fill('');
    for (const [p, o] of partitions) entries[p] = o < 0 ? '-' : o.toString(36);
    parts.push(`${topic}:${entries.join(',')}`);
  }
  return parts.join(';');
}

// Cursors are immutable values and the hub parses the same few repeatedly (one per subscriber, advanced
// per change): a small memo avoids re-parsing. Bounded; cleared wholesale when full.
const memo = new Map<string, Coverage>();
const MEMO_LIMIT = 512;

/** Parses a cursor; GatewayError BAD_USER_INPUT when malformed or too long. */
export function decodeCursor(s: string): Coverage {
  const hit = memo.get(s);
  if (hit !== undefined) return hit;
  if (s.length > MAX_CURSOR_LENGTH) throw malformed('cursor', `longer than ${MAX_CURSOR_LENGTH} characters`);
  const [tag, ...topics] = s.split(';');
  if (tag !== TAG) throw malformed('cursor', `expected a cursor starting with "${TAG}"`);
  const out = new Map<string, Map<number, number>>();
  for (const entry of topics) {
    const colon = entry.lastIndexOf(':');
    const topic = entry.slice(0, colon);
    if (colon < 0 || !TOPIC.test(topic)) throw malformed('cursor', `bad topic in "${entry.slice(0, 60)}"`);
    if (out.has(topic)) throw malformed('cursor', `topic ${topic} appears twice`);
    const offsets = entry.slice(colon + 1).split(',');
    if (offsets.length > MAX_PARTITIONS) throw malformed('cursor', `more than ${MAX_PARTITIONS} partitions for ${topic}`);
    const partitions = new Map<number, number>();
    offsets.forEach((o, partition) => {
      if (o === '') return;
      if (o !== '-' && !OFFSET36.test(o)) throw malformed('cursor', `bad offset "${o.slice(0, 20)}" for ${topic} partition ${partition}`);
      partitions.set(partition, o === '-' ? -1 : offsetOf36(o));
    });
    if (partitions.size === 0) throw malformed('cursor', `no offsets for ${topic}`);
    out.set(topic, partitions);
  }
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(s, out);
  return out;
}

function offsetOf36(text: string): number {
  const n = parseInt(text, 36);
  if (!Number.isSafeInteger(n)) throw malformed('cursor', `offset ${text} out of range`);
  return n;
}

/** The last offset `cursor` covers in a partition; undefined when it does not name the partition. */
export function coveredOffset(cursor: Coverage, topic: string, partition: number): number | undefined {
  return cursor.get(topic)?.get(partition);
}

/** Is the change at `position` after everything `cursor` covers? */
export function isAfter(position: string, cursor: string): boolean {
  // Replays compare many positions with one cursor: decoding it once (memo) beats scanning it per call.
  const p = quickPosition(position) ?? parsePosition(position);
  return p.offset > (coveredOffset(decodeCursor(cursor), p.topic, p.partition) ?? -1);
}

/** The cursor covering `cursor` and the change at `position` (per-partition maximum). */
export function advance(cursor: string, position: string): string {
  const p = quickPosition(position) ?? parsePosition(position);
  const hit = memo.get(cursor); // a cursor decoded before that already covers the position: no scan
  if (hit !== undefined) {
    const current = coveredOffset(hit, p.topic, p.partition);
    if (current !== undefined && current >= p.offset) return cursor;
  }
  const spot = scanCursor(cursor, p.topic, p.partition);
  if (spot !== undefined) {
    // The cursor is canonical (what encodeCursor writes), so splicing the one entry gives what the
    // decode, update and encode below would: once per delivery per subscriber, without the parse.
    if (spot.current !== undefined && spot.current >= p.offset) return cursor;
    const o = p.offset.toString(36);
    if (spot.entryStart >= 0) return cursor.slice(0, spot.entryStart) + o + cursor.slice(spot.entryEnd);
    if (spot.segmentEnd >= 0) return cursor.slice(0, spot.segmentEnd) + ','.repeat(p.partition - spot.entries + 1) + o + cursor.slice(spot.segmentEnd);
    return `${cursor.slice(0, spot.insertAt)};${p.topic}:${','.repeat(p.partition)}${o}${cursor.slice(spot.insertAt)}`;
  }
  return slowAdvance(cursor, p);
}

function slowAdvance(cursor: string, p: TopicPartitionOffset): string {
  const c = decodeCursor(cursor);
  const current = coveredOffset(c, p.topic, p.partition);
  if (current !== undefined && current >= p.offset) return cursor;
  const next = new Map<string, ReadonlyMap<number, number>>(c);
  next.set(p.topic, new Map(c.get(p.topic) ?? []).set(p.partition, p.offset));
  return encodeCursor(next);
}

/**
 * {@link parsePosition} for positions it accepts with partition and offset of at most 15 digits (what
 * formatPosition writes); undefined for anything else, which parsePosition then decides.
 */
function quickPosition(s: string): TopicPartitionOffset | undefined {
  const c2 = s.lastIndexOf(':');
  const c1 = c2 > 0 ? s.lastIndexOf(':', c2 - 1) : -1;
  if (c1 < 1 || c1 > 249 || c2 - c1 - 1 < 1 || c2 - c1 - 1 > 5 || s.length - c2 - 1 < 1 || s.length - c2 - 1 > 15) return undefined;
  for (let i = 0; i < c1; i++) if (!isTopicChar(s.charCodeAt(i))) return undefined;
  const partition = decimal(s, c1 + 1, c2);
  const offset = decimal(s, c2 + 1, s.length);
  if (partition < 0 || partition >= MAX_PARTITIONS || offset < 0) return undefined;
  return { topic: s.slice(0, c1), partition, offset };
}

/** The decimal number of s[from, to) (at most 15 digits: exact), or -1 when a character is not a digit. */
function decimal(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** [A-Za-z0-9._-]: Kafka's topic characters (the TOPIC pattern). */
function isTopicChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 46 || c === 95 || c === 45;
}

/** [0-9a-z]: base-36 digits as encodeCursor writes them. */
function isBase36Char(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 122);
}

/** Where one partition of one topic sits in a canonical cursor (see {@link scanCursor}). */
interface CursorSpot {
  /** The offset the cursor covers in the partition (-1 for `-`); undefined when it does not name it. */
  readonly current: number | undefined;
  /** The partition's non-empty or empty entry: [entryStart, entryEnd); -1 when the topic has fewer entries. */
  readonly entryStart: number;
  readonly entryEnd: number;
  /** End of the topic's segment (before `;` or the end) when the topic is present, else -1. */
  readonly segmentEnd: number;
  /** The topic's number of entries (when present). */
  readonly entries: number;
  /** Where a segment for the absent topic goes (before the `;` of the first greater topic, or the end). */
  readonly insertAt: number;
}

/** Does s[aFrom, aTo) sort before s[bFrom, bTo) (as Array.prototype.sort compares strings)? */
function before(s: string, aFrom: number, aTo: number, b: string, bFrom: number, bTo: number): boolean {
  const n = Math.min(aTo - aFrom, bTo - bFrom);
  for (let i = 0; i < n; i++) {
    const x = s.charCodeAt(aFrom + i);
    const y = b.charCodeAt(bFrom + i);
    if (x !== y) return x < y;
  }
  return aTo - aFrom < bTo - bFrom;
}

/**
 * One pass over `cursor` that both checks it is canonical — exactly what {@link encodeCursor} writes
 * for what {@link decodeCursor} reads from it: valid length and tag, legal topics in strictly increasing
 * order, entries empty, `-` or base 36 without a leading zero of at most 10 digits (so within 2^53), at
 * most MAX_PARTITIONS of them, the last one not empty — and finds `topic`'s `partition` in it.
 * Undefined when the cursor is anything else: advance then takes the decoding path, which
 * answers or rejects it as it always has.
 */
function scanCursor(cursor: string, topic: string, partition: number): CursorSpot | undefined {
  const n = cursor.length;
  if (n > MAX_CURSOR_LENGTH || cursor.charCodeAt(0) !== 107 || cursor.charCodeAt(1) !== 49) return undefined;
  let current: number | undefined;
  let entryStart = -1;
  let entryEnd = -1;
  let segmentEnd = -1;
  let entries = 0;
  let insertAt = -1;
  let prevFrom = -1;
  let prevTo = -1;
  let i = 2;
  while (i < n) {
    if (cursor.charCodeAt(i) !== 59) return undefined; // ';'
    const segment = i;
    const from = ++i;
    while (i < n && isTopicChar(cursor.charCodeAt(i))) i++;
    const to = i;
    if (to === from || to - from > 249 || i >= n || cursor.charCodeAt(i) !== 58) return undefined; // ':'
    if (prevFrom >= 0 && !before(cursor, prevFrom, prevTo, cursor, from, to)) return undefined;
    prevFrom = from;
    prevTo = to;
    const mine = to - from === topic.length && cursor.startsWith(topic, from);
    if (!mine && insertAt < 0 && before(topic, 0, topic.length, cursor, from, to)) insertAt = segment;
    // Entries: [start, i) each, separated by ','.
    let index = 0;
    let start = ++i;
    for (;;) {
      while (i < n && isBase36Char(cursor.charCodeAt(i))) i++;
      const len = i - start;
      let empty = false;
      if (len === 0) {
        if (i < n && cursor.charCodeAt(i) === 45) {
          i++; // '-'
        } else {
          empty = true;
        }
      } else if (len > 10 || (len > 1 && cursor.charCodeAt(start) === 48)) {
        return undefined;
      }
      if (mine && index === partition) {
        entryStart = start;
        entryEnd = i;
        if (!empty) current = len === 0 ? -1 : parseInt(cursor.slice(start, i), 36);
      }
      index++;
      if (i < n && cursor.charCodeAt(i) === 44) {
        start = ++i; // ','
        continue;
      }
      if (empty || index > MAX_PARTITIONS) return undefined; // a trailing empty entry is not canonical
      break;
    }
    if (i < n && cursor.charCodeAt(i) !== 59) return undefined;
    if (mine) {
      segmentEnd = i;
      entries = index;
    }
  }
  return { current, entryStart, entryEnd, segmentEnd, entries, insertAt: insertAt < 0 ? n : insertAt };
}

/**
 * The most recent delivered changes, so a resume within them is answered from memory instead of
 * re-reading Kafka. Knows, per partition, from which offset on it holds every delivered change,
 * and answers only when that reaches back to the cursor. Eviction is oldest-first over all partitions.
 */
export class RecentChanges<E> {
  private items: Array<{ readonly tp: TopicPartitionOffset; readonly event: E }> = [];
  private head = 0;
  /** topic → partition → first offset from which every delivered change is held. */
  private readonly from = new Map<string, Map<number, number>>();

  /** @param limit changes kept (0 = none: every resume reads Kafka). */
  constructor(private readonly limit: number) {}

  /** Declares where delivery of a partition starts (everything before it was never held). First call wins. */
  startAt(topic: string, partition: number, offset: number): void {
    let ps = this.from.get(topic);
    if (ps === undefined) this.from.set(topic, (ps = new Map()));
    if (!ps.has(partition)) ps.set(partition, offset);
  }

  /** Records a delivered change (offsets increase per partition). */
  push(tp: TopicPartitionOffset, event: E): void {
    this.items.push({ tp, event });
    while (this.items.length - this.head > this.limit) {
      const old = this.items[this.head++]!.tp;
      this.from.get(old.topic)?.set(old.partition, old.offset + 1);
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Changes of `topic` after `cursor` and at or before `bound` (partition → last offset) that
   * `keep` accepts, in delivery order; undefined when some partition's changes after the cursor are
   * no longer (or never were) all held.
   */
  since(topic: string, bound: ReadonlyMap<number, number>, cursor: Coverage, keep: (event: E) => boolean = () => true): E[] | undefined {
    const held = this.from.get(topic);
    for (const [partition, last] of bound) {
      const after = coveredOffset(cursor, topic, partition) ?? -1;
      if (after >= last) continue; // nothing to replay in this partition
      const start = held?.get(partition);
      if (start === undefined || after + 1 < start) return undefined;
    }
    const out: E[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const { tp, event } = this.items[i]!;
      if (tp.topic !== topic) continue;
      const last = bound.get(tp.partition);
      if (last !== undefined && tp.offset <= last && tp.offset > (coveredOffset(cursor, topic, tp.partition) ?? -1) && keep(event)) out.push(event);
    }
    return out;
  }
}
