import { isGatewayError, GatewayErrorCode } from '../../src/errors';
import {
  advance,
  coveredOffset,
  decodeCursor,
  encodeCursor,
  formatPosition,
  isAfter,
  MAX_CURSOR_LENGTH,
  parsePosition,
  RecentChanges,
} from '../../src/engine/risingwave/feed/position';

const cursor = (entries: Record<string, Record<number, number>>) =>
  encodeCursor(new Map(Object.entries(entries).map(([t, ps]) => [t, new Map(Object.entries(ps).map(([p, o]) => [Number(p), o]))])));

const cov = (entries: Record<string, Record<number, number>>) => decodeCursor(cursor(entries));

function badInput(fn: () => unknown): boolean {
  try {
    fn();
  } catch (err) {
    return isGatewayError(err, GatewayErrorCode.BAD_USER_INPUT);
  }
  return false;
}

describe('positions', () => {
  it('formats and parses <topic>:<partition>:<offset>', () => {
    const p = { topic: 'view.trip_history', partition: 3, offset: 1204 };
    expect(formatPosition(p)).toBe('view.trip_history:3:1204');
    expect(parsePosition('view.trip_history:3:1204')).toEqual(p);
    expect(parsePosition('t-x_1.view.a:0:0')).toEqual({ topic: 't-x_1.view.a', partition: 0, offset: 0 });
  });

  it.each(['', 'view.a:1', 'view.a:-1:2', 'view.a:1:-2', 'view a:1:2', 'view.a:1:2:3', 'view.a:x:2', 'view.a:1:99999999999999999', 'view.a:10000:1'])(
    'refuses %j as BAD_USER_INPUT', (s) => expect(badInput(() => parsePosition(s))).toBe(true),
  );
});

describe('cursors', () => {
  it('encodes canonically: topics sorted, offsets in base 36 by partition, empty topics omitted', () => {
    const c = new Map([
      ['view.z', new Map([[2, 5], [0, 1_000_000]])],
      ['view.a', new Map([[1, -1]])],
      ['view.empty', new Map<number, number>()],
    ]);
    expect(encodeCursor(c)).toBe('k1;view.a:,-;view.z:lfls,,5');
    expect(encodeCursor(new Map())).toBe('k1');
  });

  it('stays short: 4 topics x 24 partitions at offsets near 10^9 fit in ~800 characters', () => {
    const topics = ['trip_history', 'rider_stats', 'driver_stats', 'driver_earnings_daily'];
    const c = new Map(topics.map((v) => [`view.${v}`, new Map(Array.from({ length: 24 }, (_, p) => [p, 999_999_999 - p]))]));
    expect(encodeCursor(c).length).toBeLessThan(800);
  });

  it('decodes what it encodes', () => {
    const s = cursor({ 'view.trip_history': { 0: 12, 1: 40 }, 'view.rider_stats': { 0: 3 }, 'view.x': { 3: 9_007_199_254_740_991 } });
    const c = decodeCursor(s);
    expect(coveredOffset(c, 'view.trip_history', 1)).toBe(40);
    expect(coveredOffset(c, 'view.rider_stats', 0)).toBe(3);
    expect(coveredOffset(c, 'view.rider_stats', 1)).toBeUndefined();
    expect(coveredOffset(c, 'view.x', 3)).toBe(9_007_199_254_740_991);
    expect(coveredOffset(c, 'view.x', 0)).toBeUndefined();
    expect(encodeCursor(c)).toBe(s);
  });

  it.each([
    '', 'k2', 'k1;', 'k1;view.a', 'k1;view.a:', 'k1;view.a:,', 'k1;view.a:-2', 'k1;view.a:1=2', 'k1;view.a:A', 'k1;view.a:1.5',
    'k1;view.a:1;view.a:2', 'k1;vi ew:1', 'k1;:1', 'view.a:0:1', 'k1;view.a:zzzzzzzzzzz', 'k1;view.a:zzzzzzzzzzzz',
    `k1;view.a:${',1'.repeat(10_000)}`, `k1;view.a:1${',1'.repeat(MAX_CURSOR_LENGTH / 2)}`,
  ])('refuses %j as BAD_USER_INPUT', (s) => expect(badInput(() => decodeCursor(s))).toBe(true));
});

describe('isAfter / advance', () => {
  const c = cursor({ 'view.a': { 0: 10, 1: -1 } });

  it('compares a position with the cursor offset of its own partition only', () => {
    expect(isAfter('view.a:0:11', c)).toBe(true);
    expect(isAfter('view.a:0:10', c)).toBe(false);
    expect(isAfter('view.a:0:3', c)).toBe(false);
    expect(isAfter('view.a:1:0', c)).toBe(true); // -1 covers nothing
    expect(isAfter('view.a:2:0', c)).toBe(true); // partition not named: not covered
    expect(isAfter('view.b:0:0', c)).toBe(true);
  });

  it('advances to the per-partition maximum and never moves back', () => {
    expect(advance(c, 'view.a:0:12')).toBe('k1;view.a:c,-');
    expect(advance(c, 'view.a:0:9')).toBe(c);
    expect(advance(c, 'view.a:0:10')).toBe(c);
    expect(advance(c, 'view.b:3:0')).toBe('k1;view.a:a,-;view.b:,,,0');
    expect(advance('k1', 'view.a:2:5')).toBe('k1;view.a:,,5');
  });

  it('a cursor advanced by a position covers it: isAfter(p, advance(c, p)) is false', () => {
    let cur = 'k1';
    for (const p of ['view.a:0:1', 'view.a:1:7', 'view.b:0:0', 'view.a:0:2']) {
      expect(isAfter(p, cur)).toBe(true);
      cur = advance(cur, p);
      expect(isAfter(p, cur)).toBe(false);
    }
    expect(cur).toBe('k1;view.a:2,7;view.b:0');
  });

  it('refuses malformed arguments as BAD_USER_INPUT', () => {
    expect(badInput(() => isAfter('nope', c))).toBe(true);
    expect(badInput(() => isAfter('view.a:0:1', 'nope'))).toBe(true);
    expect(badInput(() => advance('nope', 'view.a:0:1'))).toBe(true);
  });
});

describe('RecentChanges (replay from memory)', () => {
  /** A buffer holding offsets 10..19 of view.a partition 0 and 0..4 of view.a partition 1 and view.b partition 0. */
  function filled(limit: number): RecentChanges<string> {
    const r = new RecentChanges<string>(limit);
    r.startAt('view.a', 0, 10);
    r.startAt('view.a', 1, 0);
    r.startAt('view.b', 0, 0);
    for (let i = 0; i < 10; i++) {
      r.push({ topic: 'view.a', partition: 0, offset: 10 + i }, `a0:${10 + i}`);
      if (i < 5) r.push({ topic: 'view.a', partition: 1, offset: i }, `a1:${i}`);
      if (i < 5) r.push({ topic: 'view.b', partition: 0, offset: i }, `b0:${i}`);
    }
    return r;
  }
  const bound = new Map([[0, 19], [1, 4]]);

  it('answers with the changes after the cursor up to the bound, in delivery order, for one topic', () => {
    const r = filled(100);
    expect(r.since('view.a', bound, cov({ 'view.a': { 0: 16, 1: 2 } }))).toEqual(['a1:3', 'a1:4', 'a0:17', 'a0:18', 'a0:19']);
    expect(r.since('view.a', new Map([[0, 17], [1, 4]]), cov({ 'view.a': { 0: 16, 1: 4 } }))).toEqual(['a0:17']);
    expect(r.since('view.a', bound, cov({ 'view.a': { 0: 19, 1: 4 } }))).toEqual([]);
  });

  it('knows it cannot answer for offsets before delivery started', () => {
    const r = filled(100);
    expect(r.since('view.a', bound, cov({ 'view.a': { 0: 9, 1: 4 } }))).toHaveLength(10); // covers 9: needs 10.., held
    expect(r.since('view.a', bound, cov({ 'view.a': { 0: 8, 1: 4 } }))).toBeUndefined(); // needs 9: never held
    expect(r.since('view.a', bound, cov({}))).toBeUndefined(); // partition 0 from offset 0
    expect(r.since('view.a', new Map([[0, 19], [1, 4], [2, 0]]), cov({ 'view.a': { 0: 19, 1: 4 } }))).toBeUndefined(); // partition 2 unknown
  });

  it('evicts the oldest changes and then refuses cursors that need them', () => {
    // Pushes end ..., a0:14, a1:4, b0:4, a0:15 .. a0:19: the last 6 are b0:4 and a0:15..19.
    const r = filled(6);
    expect(r.since('view.a', bound, cov({ 'view.a': { 0: 16, 1: 4 } }))).toEqual(['a0:17', 'a0:18', 'a0:19']);
    expect(r.since('view.a', bound, cov({ 'view.a': { 0: 14, 1: 4 } }))).toEqual(['a0:15', 'a0:16', 'a0:17', 'a0:18', 'a0:19']);
    expect(r.since('view.a', bound, cov({ 'view.a': { 0: 13, 1: 4 } }))).toBeUndefined(); // a0:14 evicted
    expect(r.since('view.a', bound, cov({ 'view.a': { 0: 16, 1: 3 } }))).toBeUndefined(); // a1:4 evicted
    expect(r.since('view.b', new Map([[0, 4]]), cov({ 'view.b': { 0: 3 } }))).toEqual(['b0:4']);
    expect(r.since('view.b', new Map([[0, 4]]), cov({ 'view.b': { 0: 2 } }))).toBeUndefined();
  });

  it('holds nothing with limit 0 but still answers "nothing to replay"', () => {
    const r = filled(0);
    expect(r.since('view.a', bound, cov({ 'view.a': { 0: 19, 1: 4 } }))).toEqual([]);
    expect(r.since('view.a', bound, cov({ 'view.a': { 0: 18, 1: 4 } }))).toBeUndefined();
  });

  it('stays correct across internal compaction (many pushes)', () => {
    const r = new RecentChanges<number>(1000);
    r.startAt('t', 0, 0);
    for (let i = 0; i < 10_000; i++) r.push({ topic: 't', partition: 0, offset: i }, i);
    const got = r.since('t', new Map([[0, 9_999]]), cov({ 't': { 0: 8999 } }));
    expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => 9_000 + i));
    expect(r.since('t', new Map([[0, 9_999]]), cov({ 't': { 0: 8998 } }))).toBeUndefined();
  });
});
