/**
 * The per-record fast paths of the Kafka feed (decode.ts timestampFromText, parseJson's unsafe-integer
 * check, decodeKey; position.ts advance and isAfter) against the implementations they replaced, kept
 * here as oracles: same results, same errors, over many random valid and invalid inputs.
 */
import { GatewayError } from '../../src/errors';
import { decodeChange, parseExactJson, parseJson, PoisonMessageError, PoisonReason, timestampFromText } from '../../src/engine/risingwave/feed/decode';
import {
  advance,
  coveredOffset,
  decodeCursor,
  encodeCursor,
  isAfter,
  parsePosition,
  type Coverage,
} from '../../src/engine/risingwave/feed/position';
import { prng as rng } from '../helpers/prng';

type Outcome = { ok: unknown } | { error: Record<string, unknown> };

/** What `fn` returns, or the observable fields of what it throws. */
function outcome(fn: () => unknown): Outcome {
  try {
    return { ok: fn() };
  } catch (err) {
    if (err instanceof PoisonMessageError) return { error: { type: 'poison', message: err.message, reason: err.reason, detail: err.detail, column: err.column } };
    if (err instanceof GatewayError) return { error: { type: 'gateway', message: err.message, code: err.code, details: err.details } };
    return { error: { type: 'other', message: String(err) } };
  }
}

// ---- timestampFromText: the implementation before the fast path ----

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z?$/;

function oldTimestampFromText(s: string, column: string): string {
  const m = TIMESTAMP.exec(s);
  if (m === null) throw new PoisonMessageError(PoisonReason.BAD_VALUE, `${column} = ${JSON.stringify(s.slice(0, 40))} is not a UTC timestamp`, column);
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const t = Date.UTC(y, mo - 1, d, h, mi, sec, ms);
  const iso = new Date(t).toISOString();
  if (iso.slice(0, 19) !== `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`) {
    throw new PoisonMessageError(PoisonReason.BAD_VALUE, `${column} = ${JSON.stringify(s)} is not a valid timestamp`, column);
  }
  return iso;
}

describe('timestampFromText fast path = the regex and Date implementation', () => {
  const pad = (n: number, w: number) => String(n).padStart(w, '0');
  const same = (s: string) => expect(outcome(() => timestampFromText(s, 'updated_at'))).toEqual(outcome(() => oldTimestampFromText(s, 'updated_at')));

  it.each([
    '2026-10-05T14:03:07.123456Z', '2026-10-05 14:03:07.123456', '2026-10-05T14:03:07Z', '2026-10-05T14:03:07', '2026-10-05 14:03:07Z',
    '2026-10-05T14:03:07.1Z', '2026-10-05T14:03:07.12', '2026-10-05T14:03:07.123', '2026-10-05T14:03:07.123Z', '2026-10-05T14:03:07.123456789Z',
    '2026-10-05T14:03:07.1234567890Z', '2026-10-05T14:03:07.Z', '2026-10-05T14:03:07.', '2026-10-05T14:03:07ZZ', '2026-10-05t14:03:07Z',
    '2024-02-29T00:00:00Z', '2023-02-29T00:00:00Z', '2000-02-29T00:00:00Z', '1900-02-29T00:00:00Z', '2100-02-29 12:00:00', '2400-02-29T23:59:59.999Z',
    '2026-13-01T00:00:00Z', '2026-00-01T00:00:00Z', '2026-04-31T00:00:00Z', '2026-04-30T00:00:00Z', '2026-01-00T00:00:00Z', '2026-12-32T00:00:00Z',
    '2026-10-05T24:00:00Z', '2026-10-05T23:60:00Z', '2026-10-05T23:59:60Z', '2026-10-05T23:59:59.999999999Z',
    '0000-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '0099-12-31T23:59:59Z', '0100-01-01T00:00:00Z', '0100-02-29T00:00:00Z', '9999-12-31T23:59:59.999Z',
    '', '2026-10-05', '2026-10-05T14:03', ' 2026-10-05T14:03:07Z', '2026-10-05T14:03:07Z ', '2026/10/05T14:03:07Z', '2026-10-05T14-03-07Z',
    '2026-1a-05T14:03:07Z', '２026-10-05T14:03:07Z', '2026-10-05T14:03:07.12a', '2026-10-05T14:03:07+00:00', '+02026-10-05T14:03:07Z',
  ])('%j', (s) => same(s));

  it('agrees on 100,000 random near-valid and valid strings', () => {
    const r = rng(1);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const years = [0, 1, 99, 100, 399, 400, 1600, 1700, 1900, 1970, 1999, 2000, 2023, 2024, 2026, 2100, 2400, 9999];
    for (let i = 0; i < 100_000; i++) {
      const y = r() < 0.5 ? pick(years) : Math.floor(r() * 10_000);
      const mo = r() < 0.9 ? 1 + Math.floor(r() * 12) : pick([0, 13, 19, 99]);
      const d = r() < 0.3 ? pick([28, 29, 30, 31]) : r() < 0.95 ? 1 + Math.floor(r() * 31) : pick([0, 32, 99]);
      const h = r() < 0.95 ? Math.floor(r() * 24) : pick([24, 25, 99]);
      const mi = r() < 0.95 ? Math.floor(r() * 60) : pick([60, 99]);
      const sec = r() < 0.95 ? Math.floor(r() * 60) : pick([60, 61, 99]);
      const digits = Math.floor(r() * 11); // 0 = no fraction, 10 = one too many
      const frac = digits === 0 ? (r() < 0.05 ? '.' : '') : `.${Array.from({ length: digits }, () => Math.floor(r() * 10)).join('')}`;
      let s = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}${r() < 0.5 ? 'T' : ' '}${pad(h, 2)}:${pad(mi, 2)}:${pad(sec, 2)}${frac}${r() < 0.5 ? 'Z' : ''}`;
      if (r() < 0.05) {
        // One character replaced by something else.
        const at = Math.floor(r() * s.length);
        s = s.slice(0, at) + pick(['x', '-', ':', '.', 'Z', ' ', '0', '9', '/', 'T']) + s.slice(at + 1);
      }
      const got = outcome(() => timestampFromText(s, 'c'));
      const want = outcome(() => oldTimestampFromText(s, 'c'));
      if (JSON.stringify(got) !== JSON.stringify(want)) expect({ s, got }).toEqual({ s, got: want });
    }
  });
});

// ---- parseJson and decodeKey ----

function oldHasUnsafeInteger(v: unknown): boolean {
  if (typeof v === 'number') return Number.isInteger(v) && !Number.isSafeInteger(v);
  if (typeof v !== 'object' || v === null) return false;
  for (const x of Array.isArray(v) ? v : Object.values(v)) if (oldHasUnsafeInteger(x)) return true;
  return false;
}

function oldParseJson(text: string): unknown {
  const v: unknown = JSON.parse(text);
  return oldHasUnsafeInteger(v) ? parseExactJson(text) : v;
}

describe('parseJson and decodeKey: results unchanged', () => {
  const b = (s: string) => Buffer.from(s, 'utf8');

  it.each([
    '1234567890123456', '9007199254740991', '9007199254740992', '9007199254740993', '-9007199254740993', '"9007199254740993"', '1e16', '-1e16', '1.5e300',
    '12345678901234567.5', '123456789012345678901234567890', '{"a":[1,2,{"b":[9007199254740993]}]}', '[[[[-9007199254740993]]]]',
    '{"a":"9007199254740993","b":1e16}', '{"x":{"y":{"z":null,"w":[true,false,"s",1.25,-0,9007199254740992]}}}', '"x"', 'null', '[]', '{}',
    '{"schema":{"type":"struct"},"payload":{"id":9007199254740993}}', '{"id":"ride-1","n":1e400,"m":-1e400}', '[9007199254740993,1e16,"a"]',
  ])('%s', (text) => {
    const got = parseJson(b(text), 'value');
    const want = oldParseJson(text);
    expect(got).toEqual(want);
    expect(JSON.stringify(got, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))).toBe(JSON.stringify(want, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
  });

  it('keeps an integer beyond 2^53 in a text key exact and a 16-digit safe one as digits', () => {
    const key = (id: string) => decodeChange('driver_stats', 'upsert', { key: b(`{"driver_id":${id}}`), value: null })?.key;
    expect(key('9007199254740993')).toEqual({ driver_id: '9007199254740993' }); // JSON.parse alone gives ...992
    expect(key('-9007199254740993')).toEqual({ driver_id: '-9007199254740993' });
    expect(key('1234567890123456')).toEqual({ driver_id: '1234567890123456' });
  });

  it.each([
    ['{"avg_rating":"4.5","day":739894,"driver_id":"drv-42","gross_fares":"123.45","ratings":2}', 'missing_column: row lacks column trips', 'trips'],
    ['{"avg_rating":"4.5","day":739894,"gross_fares":"123.45","ratings":2,"trips":7}', 'bad_key: row lacks column driver_id', 'driver_id'],
    ['{"avg_rating":"4.5","day":739894,"driver_id":"drv-42","gross_fares":"123.45","ratings":2,"trips":1.5}', 'bad_type: trips (int) cannot be number 1.5', 'trips'],
    ['{"avg_rating":"4.5","day":739894,"driver_id":"drv-42","gross_fares":"123.45","ratings":2,"trips":"7"}', 'bad_type: trips (int) cannot be string "7"', 'trips'],
    ['{"avg_rating":"4.5","day":739894,"driver_id":"drv-42","gross_fares":[1],"ratings":2,"trips":7}', 'bad_type: gross_fares (numeric) cannot be an array', 'gross_fares'],
    ['{"avg_rating":{"a":1},"day":739894,"driver_id":"drv-42","gross_fares":"123.45","ratings":2,"trips":7}', 'bad_type: avg_rating (numeric) cannot be an object', 'avg_rating'],
    ['{"avg_rating":"4.5","day":739894,"driver_id":"drv-42","gross_fares":"123.45","ratings":9007199254740993,"trips":7}', 'unsafe_integer: ratings = 9007199254740993 is beyond ±(2^53 − 1)', 'ratings'],
  ])('row %s: the message the decoder gave before (%s)', (value, message, column) => {
    const key = b('{"day":739894,"driver_id":"drv-42"}');
    const err = outcome(() => decodeChange('driver_earnings_daily', 'upsert', { key, value: b(value) }));
    expect(err).toEqual({ error: expect.objectContaining({ type: 'poison', message, column }) });
  });

  it('names every extra key column in the same message', () => {
    const err = outcome(() => decodeChange('driver_stats', 'upsert', { key: b('{"x":1,"driver_id":"d","y":2}'), value: null }));
    expect(err).toEqual({
      error: {
        type: 'poison', reason: PoisonReason.BAD_KEY, column: undefined,
        detail: "key has x, y; driver_stats's key is (driver_id): the sink's primary_key must match",
        message: "bad_key: key has x, y; driver_stats's key is (driver_id): the sink's primary_key must match",
      },
    });
    expect(outcome(() => decodeChange('driver_stats', 'upsert', { key: b('{}'), value: null }))).toEqual({
      error: { type: 'poison', reason: PoisonReason.BAD_KEY, column: 'driver_id', detail: 'key lacks key column driver_id', message: 'bad_key: key lacks key column driver_id' },
    });
  });
});

// ---- advance / isAfter: the decode, update, encode implementation before the string splice ----

function oldAdvance(cursor: string, position: string): string {
  const p = parsePosition(position);
  const c = decodeCursor(cursor);
  const current = coveredOffset(c, p.topic, p.partition);
  if (current !== undefined && current >= p.offset) return cursor;
  const next = new Map<string, ReadonlyMap<number, number>>(c);
  next.set(p.topic, new Map(c.get(p.topic) ?? []).set(p.partition, p.offset));
  return encodeCursor(next);
}

function oldIsAfter(position: string, cursor: string): boolean {
  const p = parsePosition(position);
  return p.offset > (coveredOffset(decodeCursor(cursor), p.topic, p.partition) ?? -1);
}

describe('advance and isAfter fast paths = decode, update, encode', () => {
  const TOPICS = ['a', 'b', 'view.a', 'view.a.b', 'view.ab', 'view.b', 'view.trip_history', 'view.trip_history2', 'view.rider_stats', 't-x_1', 'Z', 'view-a', 'view_a'];

  it.each(([
    ['k1', 'view.a:0:0'], ['k1', 'view.a:3:5'], ['k1;view.a:a,-', 'view.a:1:0'], ['k1;view.a:a,-', 'view.a:0:10'], ['k1;view.a:a,-', 'view.a:0:11'],
    ['k1;view.a:a,-', 'view.a:5:1'], ['k1;view.a:a,-', 'a:0:1'], ['k1;view.a:a,-', 'view.b:2:1'], ['k1;view.a:a,-', 'view.:2:1'], ['k1;view.a:,,5', 'view.a:1:4'],
    ['k1;view.b:1;view.a:2', 'view.a:0:9'], ['k1;view.a:01', 'view.a:0:9'], ['k1;view.a:01', 'view.a:0:0'], ['k1;view.a:1,', 'view.a:0:9'], ['k1;view.a:1;view.a:2', 'view.a:0:9'],
    ['k1;', 'view.a:0:1'], ['k1;view.a:', 'view.a:0:1'], ['k2;view.a:1', 'view.a:0:1'], ['nope', 'view.a:0:1'], ['k1;view.a:1', 'nope'], ['nope', 'nope'],
    ['k1;view.a:zzzzzzzzzz', 'view.a:0:9007199254740991'], ['k1;view.a:zzzzzzzzzzz', 'view.a:0:1'], ['k1;view.a:2gosa7pa2gv', 'view.a:0:1'], ['k1;view.a:A', 'view.a:0:1'],
    ['k1;view.a:-1', 'view.a:0:1'], ['k1;view.a:1-', 'view.a:0:1'], ['k1;view.a:--', 'view.a:0:1'], ['k1;vi ew:1', 'view.a:0:1'], ['k1;:1', 'view.a:0:1'],
    ['k1;view.a:1', 'view.a:0:0009'], ['k1;view.a:1', 'view.a:00:9'], ['k1;view.a:1', 'view.a:9999:9'], ['k1;view.a:1', 'view.a:10000:9'],
    ['k1;view.a:1', 'view.a:0:9007199254740991'], ['k1;view.a:1', 'view.a:0:9007199254740992'], ['k1;view.a:1', 'view.a:0:99999999999999999'],
    ['k1;view.a:1', 'view.a:1:2:3'], ['k1;view.a:1', ':0:1'], ['k1;view.a:1', 'vi ew:0:1'], ['k1;view.a:1', `${'t'.repeat(249)}:0:1`], ['k1;view.a:1', `${'t'.repeat(250)}:0:1`],
    [`k1;view.a:${',1'.repeat(9_999)}`, 'view.a:0:1'], [`k1;view.a:${',1'.repeat(10_000)}`, 'view.a:0:1'], [`k1;view.a:1${',1'.repeat(8_191)}`, 'view.a:0:9'],
    [`k1;view.a:${','.repeat(9_999)}1`, 'view.a:3:1'], [`k1;view.a:${','.repeat(10_000)}1`, 'view.a:3:1'], [`k1;${'t'.repeat(249)}:1`, 'view.a:0:1'], [`k1;${'t'.repeat(250)}:1`, 'view.a:0:1'],
  ] as Array<[string, string]>).map(([c, p]) => [c.length > 60 ? `${c.slice(0, 30)}…(${c.length} characters)` : c, p.length > 60 ? `${p.slice(0, 30)}…(${p.length} characters)` : p, c, p] as const))(
    'advance(%s, %s) and isAfter', (_c, _p, cursor, position) => {
    expect(outcome(() => advance(cursor, position))).toEqual(outcome(() => oldAdvance(cursor, position)));
    expect(outcome(() => isAfter(position, cursor))).toEqual(outcome(() => oldIsAfter(position, cursor)));
    },
  );

  it('agrees on 40,000 random cursors (canonical and not) and positions', () => {
    const r = rng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const offset = (): number =>
      pick([() => -1, () => Math.floor(r() * 40), () => Math.floor(r() * 1e9), () => Math.floor(r() * 36 ** 10), () => 36 ** 10 - 1 + Math.floor(r() * 3), () => Math.floor(r() * Number.MAX_SAFE_INTEGER)])();
    const coverage = (): Coverage => {
      const c = new Map<string, Map<number, number>>();
      const n = Math.floor(r() * 5);
      for (let t = 0; t < n; t++) {
        const ps = new Map<number, number>();
        const m = 1 + Math.floor(r() * 6);
        for (let k = 0; k < m; k++) ps.set(Math.floor(r() * (r() < 0.8 ? 8 : 40)), offset());
        c.set(pick(TOPICS), ps);
      }
      return c;
    };
    const mutate = (s: string): string => {
      switch (Math.floor(r() * 8)) {
        case 0: { const at = Math.floor(r() * (s.length + 1)); return s.slice(0, at) + pick([',', ';', ':', '-', '0', 'A', ' ', 'a;view.a:1', ',,']) + s.slice(at); }
        case 1: { const at = Math.floor(r() * s.length); return s.slice(0, at) + s.slice(at + 1); }
        case 2: return s.split(';').reverse().join(';'); // topics out of order
        case 3: return s.replace(/([:,])([1-9a-z])/, '$10$2'); // a leading zero
        case 4: return `${s},`; // a trailing empty entry
        case 5: { const parts = s.split(';'); return parts.length > 1 ? `${s};${parts[1]!}` : s; } // a topic twice
        case 6: return s.replace(/[0-9a-z]+$/, (o) => o.padStart(11, '1')); // an 11-digit offset
        default: return s.replace(/;/, ';;');
      }
    };
    const position = (): string => {
      if (r() < 0.05) return pick(['nope', 'view.a:1', 'view.a:-1:2', 'view.a:1:2:3', 'view.a:10000:1', 'view.a:1:99999999999999999', 'view a:1:2', 'view.a:007:0012']);
      return `${pick(TOPICS)}:${Math.floor(r() * (r() < 0.8 ? 8 : 45))}:${r() < 0.1 ? 9_007_199_254_740_991 - Math.floor(r() * 3) : Math.max(0, offset())}`;
    };
    let canonical = 0;
    for (let i = 0; i < 40_000; i++) {
      let cursor = encodeCursor(coverage());
      if (r() < 0.3) cursor = mutate(cursor);
      else canonical++;
      const p = position();
      const got = outcome(() => advance(cursor, p));
      const want = outcome(() => oldAdvance(cursor, p));
      if (JSON.stringify(got) !== JSON.stringify(want)) expect({ cursor, p, got }).toEqual({ cursor, p, got: want });
      const after = outcome(() => isAfter(p, cursor));
      const afterWant = outcome(() => oldIsAfter(p, cursor));
      if (JSON.stringify(after) !== JSON.stringify(afterWant)) expect({ cursor, p, after }).toEqual({ cursor, p, after: afterWant });
    }
    expect(canonical).toBeGreaterThan(24_000);
  });

  it('advancing one cursor through a long random walk stays byte-identical', () => {
    const r = rng(11);
    let fast = 'k1';
    let slow = 'k1';
    for (let i = 0; i < 20_000; i++) {
      const p = `${TOPICS[Math.floor(r() * TOPICS.length)]!}:${Math.floor(r() * 30)}:${Math.floor(r() * 1e6)}`;
      fast = advance(fast, p);
      slow = oldAdvance(slow, p);
      if (fast !== slow) expect({ i, p, fast }).toEqual({ i, p, fast: slow });
    }
    expect(decodeCursor(fast).size).toBe(TOPICS.length);
  });
});
