import { GraphQLError, Kind } from 'graphql';
import { isGatewayError, GatewayErrorCode } from '../../src/errors';
import { decodePageCursor, encodePageCursor, keysetColumns } from '../../src/graphql/build/keyset';
import { DateScalar, DateTimeScalar, IdScalar, MAX_ID_LENGTH } from '../../src/graphql/build/scalars';
import { bundledRegistry } from '../../src/views/load';

const refused = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GraphQLError);
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('ID', () => {
  it('accepts strings and integers as GraphQL’s ID does, and serializes like it', () => {
    expect(IdScalar.parseValue('rider-0001')).toBe('rider-0001');
    expect(IdScalar.parseValue(42)).toBe('42');
    expect(IdScalar.parseLiteral({ kind: Kind.STRING, value: 'trip-1' }, {})).toBe('trip-1');
    expect(IdScalar.parseLiteral({ kind: Kind.INT, value: '7' }, {})).toBe('7');
    expect(IdScalar.serialize('x')).toBe('x');
    expect(IdScalar.parseValue('x'.repeat(MAX_ID_LENGTH))).toHaveLength(MAX_ID_LENGTH);
  });

  it('refuses NUL and other control characters, empty and over-long values, and non-strings', () => {
    expect(refused(() => IdScalar.parseValue('a\u0000b'))).toMatch(/NUL/);
    expect(refused(() => IdScalar.parseValue('a\nb'))).toMatch(/control/);
    expect(refused(() => IdScalar.parseLiteral({ kind: Kind.STRING, value: 'a\u0000' }, {}))).toMatch(/NUL/);
    expect(refused(() => IdScalar.parseValue(''))).toMatch(/1 to 128/);
    expect(refused(() => IdScalar.parseValue('x'.repeat(MAX_ID_LENGTH + 1)))).toMatch(/1 to 128/);
    refused(() => IdScalar.parseValue({ id: 1 }));
    refused(() => IdScalar.parseLiteral({ kind: Kind.BOOLEAN, value: true }, {}));
  });
});

describe('DateTime', () => {
  it('normalises RFC 3339 instants to UTC with milliseconds, over the whole 0001-9999 range', () => {
    expect(DateTimeScalar.parseValue('2026-10-05T16:03:07+02:00')).toBe('2026-10-05T14:03:07.000Z');
    expect(DateTimeScalar.parseValue('0001-01-01T00:00:00Z')).toBe('0001-01-01T00:00:00.000Z');
    expect(DateTimeScalar.parseValue('9999-12-31T23:59:59.999Z')).toBe('9999-12-31T23:59:59.999Z');
    expect(DateTimeScalar.parseValue('2028-02-29T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
  });

  it.each([
    '0000-01-01T00:00:00Z', // Postgres has no year 0
    '9999-12-31T23:59:59-01:00', // year 10000 in UTC
    '2026-02-30T00:00:00Z', // JavaScript would make it March 2
    '2027-02-29T00:00:00Z',
    '2026-10-05T24:00:00Z',
    '2026-10-05T12:60:00Z',
    '2026-10-05T12:00:00+16:00',
    '2026-10-05 12:00:00Z',
    '2026-10-05T12:00:00',
  ])('refuses %s', (value) => {
    expect(refused(() => DateTimeScalar.parseValue(value))).toMatch(/DateTime/);
  });
});

describe('Date', () => {
  it('accepts calendar dates 0001-9999 (Date.UTC would read year 1 as 1901) and refuses the rest', () => {
    expect(DateScalar.parseValue('0001-01-01')).toBe('0001-01-01');
    expect(DateScalar.parseValue('2028-02-29')).toBe('2028-02-29');
    for (const bad of ['0000-01-01', '2026-02-30', '2026-13-01', '2026-1-01', '20260101']) {
      expect(refused(() => DateScalar.parseValue(bad))).toMatch(/Date must be/);
    }
  });
});

describe('page cursors', () => {
  const trips = bundledRegistry().views.find((v) => v.name === 'trip_history')!;
  // The trips order (requested_at DESC NULLS LAST, trip_id DESC): cursors keep the format they always had.
  const order = keysetColumns(trips, trips.graphql!.connection!.ordering);
  const encodePage = (c: { t: string | null; id: string }) => encodePageCursor(order, [c.t, c.id]);
  const decodePage = (cursor: string) => {
    const [t, id] = decodePageCursor(order, cursor);
    return { t, id };
  };
  const forge = (t: unknown) => Buffer.from(JSON.stringify({ v: 1, t, id: 'r1' })).toString('base64url');

  it('round-trip the timestamps both engines print', () => {
    for (const t of ['2026-10-05 14:03:07.123456+00', '2026-10-05 14:03:07+00:00', '2026-10-05T14:03:07Z', '0001-01-01 00:00:00+05:30', null]) {
      expect(decodePage(encodePage({ t, id: 'r1' }))).toEqual({ t, id: 'r1' });
      expect(JSON.parse(Buffer.from(encodePage({ t, id: 'r1' }), 'base64url').toString())).toEqual({ v: 1, t, id: 'r1' });
    }
  });

  it.each(['2026-13-45 99:99:99', '0000-01-01 00:00:00+00', '2026-02-30 00:00:00+00', '2026-10-05 24:00:00+00', '2026-10-05 12:00:00+99'])(
    'refuse a forged timestamp %s with BAD_USER_INPUT (it would fail the engine\'s cast)', (t) => {
      let err: unknown;
      try {
        decodePage(forge(t));
      } catch (e) {
        err = e;
      }
      expect(isGatewayError(err, GatewayErrorCode.BAD_USER_INPUT)).toBe(true);
    });
});
