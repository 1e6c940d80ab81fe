import { fastUtcTimestamp, isCanonicalTimestamp, normalizeColumnValue } from '../../src/graphql/build/rows';
import { normalizeTimestamp } from '../../src/views/normalize';
import { prng } from '../helpers/prng';

describe('fastUtcTimestamp (PostgreSQL text of a UTC timestamptz → ISO)', () => {
  it('makes exactly what normalizeTimestamp makes, for every fraction length and edge field', () => {
    const samples = [
      '2026-10-05 14:03:07+00', '2026-10-05 14:03:07.1+00', '2026-10-05 14:03:07.12+00', '2026-10-05 14:03:07.123+00',
      '2026-10-05 14:03:07.1239+00', '2026-10-05 14:03:07.99999+00', '2026-10-05 14:03:07.999999+00', '2024-02-29 23:59:59.5+00',
      '2000-02-29 00:00:00+00', '9999-12-31 23:59:59.999999+00', '1000-01-01 00:00:00+00',
    ];
    for (const s of samples) expect([s, fastUtcTimestamp(s)]).toEqual([s, normalizeTimestamp(s)]);
  });

  it('leaves every other shape to the general path (undefined), which still normalises it', () => {
    const others = [
      '2026-10-05 14:03:07+02', '2026-10-05 14:03:07.123+05:30', '2026-10-05T14:03:07Z', '0999-01-01 00:00:00+00', '2026-10-05 14:03:07.+00',
      '2026-10-05 14:03:07.1234567+00', '2025-02-29 00:00:00+00', '2026-04-31 00:00:00+00', '2026-13-01 00:00:00+00', '2026-01-01 24:00:00+00',
      '2026-01-01 23:60:00+00', '2026-01-01 23:00:60+00', '2026-1a-01 00:00:00+00', '', 'not a timestamp at all!+00',
    ];
    for (const s of others) expect([s, fastUtcTimestamp(s)]).toEqual([s, undefined]);
    expect(normalizeColumnValue('timestamptz', '2026-10-05 14:03:07+02')).toBe('2026-10-05T12:03:07.000Z');
  });

  it('agrees with normalizeTimestamp on random valid timestamps', () => {
    const rand = prng(13);
    const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
    const pad = (n: number, w = 2) => String(n).padStart(w, '0');
    for (let i = 0; i < 5000; i++) {
      const frac = int(0, 6);
      const s = `${int(1000, 9999)}-${pad(int(1, 12))}-${pad(int(1, 31))} ${pad(int(0, 23))}:${pad(int(0, 59))}:${pad(int(0, 59))}` +
        `${frac === 0 ? '' : `.${String(int(0, 10 ** frac - 1)).padStart(frac, '0')}`}+00`;
      expect([s, normalizeColumnValue('timestamptz', s)]).toEqual([s, normalizeTimestamp(s)]);
    }
  });
});

describe('isCanonicalTimestamp (the DateTime scalar sends these as they are)', () => {
  it('is true only when normalizeTimestamp returns the value unchanged, and for every real instant of 1000–9999', () => {
    const rand = prng(31);
    const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
    const pad = (n: number, w = 2) => String(n).padStart(w, '0');
    const samples = ['2026-10-05T14:03:07.123Z', '2026-10-05T14:03:07Z', '2026-10-05T14:03:07.123+00:00', '2026-02-30T00:00:00.000Z',
      '0999-01-01T00:00:00.000Z', '2026-10-05 14:03:07.123Z', '2026-10-05T24:00:00.000Z', '2026-10-05t14:03:07.123z'];
    for (let i = 0; i < 3000; i++) {
      samples.push(`${int(1000, 9999)}-${pad(int(1, 12))}-${pad(int(1, 31))}T${pad(int(0, 23))}:${pad(int(0, 59))}:${pad(int(0, 59))}.${pad(int(0, 999), 3)}Z`);
    }
    for (const s of samples) {
      let same: boolean;
      try {
        same = normalizeTimestamp(s) === s;
      } catch {
        same = false;
      }
      // Sound: never true for a value the scalar would change. Years before 1000 take the general path.
      expect([s, isCanonicalTimestamp(s)]).toEqual([s, same && !s.startsWith('0')]);
    }
  });
});

describe('normalizeColumnValue on canonical ISO text (the Kafka feed decodes timestamps to it)', () => {
  it('returns what normalizeTimestamp returns, for canonical and near-canonical values', () => {
    const rand = prng(47);
    const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
    const pad = (n: number, w = 2) => String(n).padStart(w, '0');
    const samples = ['2026-10-05T14:03:07.123Z', '2024-02-29T23:59:59.999Z', '2026-10-05T14:03:07Z', '2026-10-05T14:03:07.123456Z'];
    for (let i = 0; i < 3000; i++) {
      samples.push(`${int(1000, 9999)}-${pad(int(1, 12))}-${pad(int(1, 28))}T${pad(int(0, 23))}:${pad(int(0, 59))}:${pad(int(0, 59))}.${pad(int(0, 999), 3)}Z`);
    }
    for (const s of samples) expect([s, normalizeColumnValue('timestamptz', s)]).toEqual([s, normalizeTimestamp(s)]);
  });
});
