import {
  decodeChange,
  parseExactJson,
  PoisonMessageError,
  PoisonReason,
  type DecodedChange,
  type SinkFormat,
} from '../../src/engine/risingwave/feed/decode';
import { debeziumSchemas, upsertRecord, upsertTombstone } from '../fixtures/risingwave/encode';
import { loadFixture } from '../fixtures/risingwave/fixtures';

const b = (s: string) => Buffer.from(s, 'utf8');

/** Decodes every record of a fixture. */
function decodeFixture(name: string, view: string, format: SinkFormat): Array<DecodedChange | null> {
  return loadFixture(name).map((r) => decodeChange(view, format, r));
}

/** The PoisonMessageError that `fn` throws (fails the test when it throws nothing or something else). */
function poisonOf(fn: () => unknown): PoisonMessageError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PoisonMessageError) return err;
    throw new Error(`expected a PoisonMessageError, got ${String(err)}`);
  }
  throw new Error('expected a PoisonMessageError, nothing was thrown');
}

const DED_KEY = { driver_id: 'drv-42', day: '2026-10-05' };
const dedRow = (trips: number) => ({ ...DED_KEY, trips, gross_fares: '123.45', avg_rating: '4.5', ratings: 2 });

/** A valid driver_earnings_daily UPSERT value with `patch` applied (undefined = drop the column). */
function dedValue(patch: Record<string, unknown> = {}): Buffer {
  const row: Record<string, unknown> = { avg_rating: '4.5', day: 739894, driver_id: 'drv-42', gross_fares: '123.45', ratings: 2, trips: 7, ...patch };
  for (const k of Object.keys(row)) if (row[k] === undefined) delete row[k];
  return b(JSON.stringify(row));
}
const DED_KEY_BYTES = b('{"day":739894,"driver_id":"drv-42"}');
const decodeDed = (value: Buffer | null, key: Buffer | null = DED_KEY_BYTES) =>
  decodeChange('driver_earnings_daily', 'upsert', { key, value });

describe('UPSERT JSON [SINK1]', () => {
  it('decodes insert, update and tombstone of the worked example (driver_earnings_daily)', () => {
    expect(decodeFixture('upsert-driver_earnings_daily', 'driver_earnings_daily', 'upsert')).toEqual([
      { view: 'driver_earnings_daily', op: 'update', key: DED_KEY, row: dedRow(7), old: null },
      { view: 'driver_earnings_daily', op: 'update', key: DED_KEY, row: dedRow(8), old: null },
      { view: 'driver_earnings_daily', op: 'delete', key: DED_KEY, row: null, old: DED_KEY },
    ]);
  });

  it('unwraps schemas.enable {schema, payload} on key and value to the same changes', () => {
    expect(decodeFixture('upsert-schemas-driver_earnings_daily', 'driver_earnings_daily', 'upsert')).toEqual(
      decodeFixture('upsert-driver_earnings_daily', 'driver_earnings_daily', 'upsert'),
    );
  });

  it('converts every trip_history type: text, double, numeric string, int, timestamptz, null', () => {
    const [upsert, tombstone] = decodeFixture('upsert-trip_history', 'trip_history', 'upsert');
    expect(upsert).toEqual({
      view: 'trip_history',
      op: 'update',
      key: { trip_id: 'ride-0001' },
      old: null,
      row: {
        trip_id: 'ride-0001', rider_id: 'rider-7', driver_id: 'drv-42', status: 'COMPLETED',
        pickup_lat: 37.7749, pickup_lng: -122.4194, dropoff_lat: 37.8044, dropoff_lng: -122.2712,
        requested_at: '2026-10-05T13:40:00.000Z', assigned_at: '2026-10-05T13:41:30.250Z',
        started_at: '2026-10-05T13:50:02.500Z', completed_at: '2026-10-05T14:03:07.123Z',
        cancelled_at: null, cancelled_by: null,
        fare_amount: '23.50', fare_currency: 'USD', paid_amount: '23.50', distance_km: '12.4',
        rider_rating: 5, driver_rating: null, updated_at: '2026-10-05T14:03:07.123Z', event_count: 5,
      },
    });
    expect(tombstone).toEqual({ view: 'trip_history', op: 'delete', key: { trip_id: 'ride-0001' }, row: null, old: { trip_id: 'ride-0001' } });
  });

  it('reads timestamptz as utc_string, utc_without_suffix and epoch ms alike (µs truncated)', () => {
    const stamps = decodeFixture('upsert-timestamptz-modes-rider_stats', 'rider_stats', 'upsert').map((c) => c?.row?.['updated_at']);
    expect(stamps).toEqual(['2026-10-05T14:03:07.123Z', '2026-10-05T14:03:07.123Z', '2026-10-05T14:03:07.123Z']);
  });

  it('keeps a bigint id beyond 2^53 exact in a text column and rejects one in an int column', () => {
    const [ok, big] = loadFixture('upsert-bigint-driver_stats');
    const change = decodeChange('driver_stats', 'upsert', ok!);
    expect(change?.key).toEqual({ driver_id: '9007199254740993' });
    expect(change?.row?.['driver_id']).toBe('9007199254740993');
    expect(change?.row?.['trips']).toBe(12);
    const err = poisonOf(() => decodeChange('driver_stats', 'upsert', big!));
    expect(err.reason).toBe(PoisonReason.UNSAFE_INTEGER);
    expect(err.column).toBe('trips');
  });

  it('encode.ts (used by the integration tests) writes the fixture bytes exactly', () => {
    const records = loadFixture('upsert-driver_earnings_daily');
    const insert = upsertRecord('driver_earnings_daily', dedRow(7));
    const tombstone = upsertTombstone('driver_earnings_daily', DED_KEY);
    expect(insert.key.toString()).toBe(records[0]!.key!.toString());
    expect(insert.value.toString()).toBe(records[0]!.value!.toString());
    expect(tombstone.key.toString()).toBe(records[2]!.key!.toString());
    expect(tombstone.value).toBeNull();
  });

  it('round-trips canonical trip rows through encode.ts', () => {
    const row = decodeFixture('upsert-trip_history', 'trip_history', 'upsert')[0]!.row!;
    expect(decodeChange('trip_history', 'upsert', upsertRecord('trip_history', row))?.row).toEqual(row);
  });
});

describe('DEBEZIUM JSON [SINK6]', () => {
  it('decodes c, u (with the before image) and d, and the tombstone after d to nothing', () => {
    const oldKey = { driver_id: 'drv-42', day: '2026-10-05' }; // old = key + indexed columns (none here)
    expect(decodeFixture('debezium-driver_earnings_daily', 'driver_earnings_daily', 'debezium')).toEqual([
      { view: 'driver_earnings_daily', op: 'insert', key: DED_KEY, row: dedRow(7), old: null },
      { view: 'driver_earnings_daily', op: 'update', key: DED_KEY, row: dedRow(8), old: oldKey },
      { view: 'driver_earnings_daily', op: 'delete', key: DED_KEY, row: null, old: oldKey },
      null,
    ]);
  });

  it('keeps indexed columns of the before image in old (so filtered subscribers see a row leave)', () => {
    const row = (driver: string) => ({ ...JSON.parse(loadFixture('upsert-trip_history')[0]!.value!.toString()), driver_id: driver });
    const value = { payload: { after: row('drv-2'), before: row('drv-1'), op: 'u', source: { db: 'dev', table: 'trip_history', ts_ms: 1 }, ts_ms: 1 }, schema: {} };
    const change = decodeChange('trip_history', 'debezium', { key: b('{"payload":{"trip_id":"ride-0001"},"schema":{}}'), value: b(JSON.stringify(value)) });
    expect(change?.old).toEqual({ trip_id: 'ride-0001', rider_id: 'rider-7', driver_id: 'drv-1' });
    expect(change?.row?.['driver_id']).toBe('drv-2');
  });

  it('the fixture carries exactly the key and envelope schemas RisingWave v3.0.3\'s formatter builds (ts_ms optional false)', () => {
    const expected = debeziumSchemas('driver_earnings_daily');
    const records = loadFixture('debezium-driver_earnings_daily');
    for (const r of records) {
      // Compared as text: same fields, flags, names, order and sorted keys.
      expect(JSON.stringify((JSON.parse(r.key!.toString()) as { schema: unknown }).schema)).toBe(JSON.stringify(expected.key));
      if (r.value !== null) expect(JSON.stringify((JSON.parse(r.value.toString()) as { schema: unknown }).schema)).toBe(JSON.stringify(expected.envelope));
    }
    expect(records.map((r) => r.value === null)).toEqual([false, false, false, true]);
    expect(JSON.stringify(expected.envelope)).toContain('{"field":"op","optional":false,"type":"string"},{"field":"ts_ms","optional":false,"type":"int64"}],"name":"RisingWave.dev.driver_earnings_daily.Envelope"');
  });

  it('reads DEBEZIUM dates as days since the epoch (not since 0001-01-01)', () => {
    const change = decodeChange('driver_earnings_daily', 'debezium', loadFixture('debezium-driver_earnings_daily')[0]!);
    expect(change?.key['day']).toBe('2026-10-05');
  });

  it('treats op r (snapshot read) as an insert', () => {
    const value = { payload: { after: { avg_rating: null, day: 0, driver_id: 'd', gross_fares: '0', ratings: 0, trips: 0 }, before: null, op: 'r' }, schema: {} };
    const change = decodeChange('driver_earnings_daily', 'debezium', { key: b('{"payload":{"day":0,"driver_id":"d"},"schema":{}}'), value: b(JSON.stringify(value)) });
    expect(change).toMatchObject({ op: 'insert', key: { driver_id: 'd', day: '1970-01-01' } });
  });

  it('rejects an unknown op and c without after', () => {
    const key = b('{"payload":{"day":0,"driver_id":"d"},"schema":{}}');
    expect(poisonOf(() => decodeChange('driver_earnings_daily', 'debezium', { key, value: b('{"payload":{"op":"t","before":null,"after":null},"schema":{}}') })).reason)
      .toBe(PoisonReason.BAD_OP);
    expect(poisonOf(() => decodeChange('driver_earnings_daily', 'debezium', { key, value: b('{"before":null,"after":null,"op":"c"}') })).reason)
      .toBe(PoisonReason.BAD_ENVELOPE);
  });
});

describe('type conversions', () => {
  const day = (v: unknown, format: SinkFormat = 'upsert') => {
    const key = format === 'upsert' ? { day: v, driver_id: 'd' } : { payload: { day: v, driver_id: 'd' }, schema: {} };
    const row = { avg_rating: null, day: v, driver_id: 'd', gross_fares: '1', ratings: 0, trips: 0 };
    const value = format === 'upsert' ? row : { payload: { after: row, before: null, op: 'c' }, schema: {} };
    return decodeChange('driver_earnings_daily', format, { key: b(JSON.stringify(key)), value: b(JSON.stringify(value)) })?.row?.['day'];
  };

  it.each([
    [1, '0001-01-01'],
    [719163, '1970-01-01'],
    [719162, '1969-12-31'],
    [739894, '2026-10-05'],
    [3652059, '9999-12-31'],
  ])('UPSERT date %d (days from 0001-01-01) is %s', (n, iso) => expect(day(n)).toBe(iso));

  it.each([
    [0, '1970-01-01'],
    [-1, '1969-12-31'],
    [20731, '2026-10-05'],
  ])('DEBEZIUM date %d (epoch days) is %s', (n, iso) => expect(day(n, 'debezium')).toBe(iso));

  it('accepts a date projected as varchar (day::varchar) and rejects impossible or out-of-range dates', () => {
    expect(day('2026-10-05')).toBe('2026-10-05');
    expect(poisonOf(() => day('2026-02-30')).reason).toBe(PoisonReason.BAD_VALUE);
    expect(poisonOf(() => day(0)).reason).toBe(PoisonReason.BAD_VALUE); // day 0 = year 0
    expect(poisonOf(() => day(3652060)).reason).toBe(PoisonReason.BAD_VALUE);
    expect(poisonOf(() => day(1.5)).reason).toBe(PoisonReason.BAD_TYPE);
  });

  const stamp = (v: unknown) =>
    decodeChange('driver_stats', 'upsert', {
      key: b('{"driver_id":"d"}'),
      value: b(JSON.stringify({ cancelled_trips: 0, completed_trips: 0, driver_id: 'd', last_trip_at: v, lifetime_earnings: '0', rating: null, ratings: 0, trips: 0 })),
    })?.row?.['last_trip_at'];

  it.each([
    ['2026-10-05T14:03:07.123456Z', '2026-10-05T14:03:07.123Z'],
    ['2026-10-05T14:03:07.999999Z', '2026-10-05T14:03:07.999Z'], // truncated, never rounded into the next second
    ['2026-10-05T14:03:07Z', '2026-10-05T14:03:07.000Z'],
    ['2026-10-05T14:03:07.1Z', '2026-10-05T14:03:07.100Z'],
    ['1970-01-01 00:00:00.123456', '1970-01-01T00:00:00.123Z'],
    ['1969-12-31T23:59:59.500000Z', '1969-12-31T23:59:59.500Z'],
    [0, '1970-01-01T00:00:00.000Z'],
    [1791208987123, '2026-10-05T14:03:07.123Z'],
  ])('timestamptz %j is %s', (v, iso) => expect(stamp(v)).toBe(iso));

  it.each([
    ['2026-13-01T00:00:00.000000Z', PoisonReason.BAD_VALUE],
    ['2026-10-05T25:00:00.000000Z', PoisonReason.BAD_VALUE],
    ['2026-10-05T14:03:07.123456+02:00', PoisonReason.BAD_VALUE],
    ['yesterday', PoisonReason.BAD_VALUE],
    [1791208987123456, PoisonReason.BAD_VALUE], // micro mode: not accepted as ms
    [1.5, PoisonReason.BAD_TYPE],
    [true, PoisonReason.BAD_TYPE],
  ])('timestamptz %j is poison (%s)', (v, reason) => expect(poisonOf(() => stamp(v)).reason).toBe(reason));

  it('keeps numeric strings exactly (trailing zeros, NaN, Infinity) and integers as digits', () => {
    for (const v of ['12.50', '-0.001', '0', 'NaN', 'Infinity', '-Infinity', '12345678901234567890.123456789']) {
      expect(decodeDed(dedValue({ gross_fares: v }))?.row?.['gross_fares']).toBe(v);
    }
    expect(decodeDed(dedValue({ gross_fares: 12 }))?.row?.['gross_fares']).toBe('12');
    expect(decodeChange('driver_earnings_daily', 'upsert', {
      key: DED_KEY_BYTES,
      value: b('{"avg_rating":"4.5","day":739894,"driver_id":"drv-42","gross_fares":123456789012345678901234567,"ratings":2,"trips":7}'),
    })?.row?.['gross_fares']).toBe('123456789012345678901234567');
    expect(poisonOf(() => decodeDed(dedValue({ gross_fares: 1.5 }))).reason).toBe(PoisonReason.BAD_TYPE);
    expect(poisonOf(() => decodeDed(dedValue({ gross_fares: '1e5' }))).reason).toBe(PoisonReason.BAD_VALUE);
    expect(poisonOf(() => decodeDed(dedValue({ gross_fares: '' }))).reason).toBe(PoisonReason.BAD_VALUE);
  });

  it('takes int columns as safe integers only', () => {
    expect(decodeDed(dedValue({ trips: 9007199254740991 }))?.row?.['trips']).toBe(9007199254740991);
    expect(poisonOf(() => decodeDed(dedValue({ trips: 9007199254740992 }))).reason).toBe(PoisonReason.UNSAFE_INTEGER);
    expect(poisonOf(() => decodeDed(dedValue({ trips: 1e300 }))).reason).toBe(PoisonReason.UNSAFE_INTEGER);
    expect(poisonOf(() => decodeDed(dedValue({ trips: 1.5 }))).reason).toBe(PoisonReason.BAD_TYPE);
    expect(poisonOf(() => decodeDed(dedValue({ trips: '7' }))).reason).toBe(PoisonReason.BAD_TYPE);
    expect(decodeDed(dedValue({ trips: null }))?.row?.['trips']).toBeNull();
  });

  it('takes double columns as numbers (RisingWave writes NaN/Infinity as null)', () => {
    const trip = (lat: unknown) => {
      const v = JSON.parse(loadFixture('upsert-trip_history')[0]!.value!.toString());
      return decodeChange('trip_history', 'upsert', { key: b('{"trip_id":"ride-0001"}'), value: b(JSON.stringify({ ...v, pickup_lat: lat })) })?.row?.['pickup_lat'];
    };
    expect(trip(26261.416015625)).toBe(26261.416015625);
    expect(trip(null)).toBeNull();
    expect(trip(-0.5)).toBe(-0.5);
    expect(poisonOf(() => trip('37.7')).reason).toBe(PoisonReason.BAD_TYPE);
  });

  it('takes text columns as strings, or integer ids as their digits', () => {
    const rider = (id: unknown) =>
      decodeChange('rider_stats', 'upsert', {
        key: b(JSON.stringify({ rider_id: id })),
        value: b(JSON.stringify({ avg_rating_given: null, cancelled_trips: 0, completed_trips: 0, ratings_given: 0, rider_id: id, total_spent: '0', trips: 0, updated_at: null })),
      })?.key['rider_id'];
    expect(rider('r-1')).toBe('r-1');
    expect(rider(42)).toBe('42');
    expect(poisonOf(() => rider(true)).reason).toBe(PoisonReason.BAD_TYPE);
    expect(poisonOf(() => rider({ id: 1 })).reason).toBe(PoisonReason.BAD_TYPE);
    expect(poisonOf(() => rider(1.5)).reason).toBe(PoisonReason.BAD_TYPE);
  });

  it('drops columns the registry does not publish', () => {
    expect(decodeDed(dedValue({ hidden_extra: 1 }))?.row).toEqual(dedRow(7));
  });
});

describe('poison messages', () => {
  it.each<[string, () => unknown, PoisonReason]>([
    ['unknown view', () => decodeChange('trips_v2', 'upsert', { key: DED_KEY_BYTES, value: dedValue() }), PoisonReason.UNKNOWN_VIEW],
    ['a prototype name as view', () => decodeChange('constructor', 'upsert', { key: DED_KEY_BYTES, value: dedValue() }), PoisonReason.UNKNOWN_VIEW],
    ['no key', () => decodeDed(dedValue(), null), PoisonReason.BAD_KEY],
    ['key lacks a key column', () => decodeDed(dedValue(), b('{"driver_id":"drv-42"}')), PoisonReason.BAD_KEY],
    ['key has a column outside the view key', () => decodeDed(dedValue(), b('{"day":739894,"driver_id":"drv-42","trips":7}')), PoisonReason.BAD_KEY],
    ['key is not an object', () => decodeDed(dedValue(), b('"drv-42"')), PoisonReason.BAD_KEY],
    ['row lacks a key column', () => decodeDed(dedValue({ day: undefined })), PoisonReason.BAD_KEY],
    ['row lacks a column', () => decodeDed(dedValue({ ratings: undefined })), PoisonReason.MISSING_COLUMN],
    ['row key differs from the message key', () => decodeDed(dedValue({ driver_id: 'drv-43' })), PoisonReason.KEY_MISMATCH],
    ['value is an array', () => decodeDed(b('[1,2]')), PoisonReason.BAD_ENVELOPE],
    ['value is a JSON string', () => decodeDed(b('"x"')), PoisonReason.BAD_ENVELOPE],
    ['value is not JSON', () => decodeDed(b('{"trips":')), PoisonReason.BAD_JSON],
    ['empty value', () => decodeDed(Buffer.alloc(0)), PoisonReason.BAD_JSON],
    ['value is not UTF-8', () => decodeDed(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), PoisonReason.BAD_UTF8],
    ['debezium value is not an object', () => decodeChange('driver_earnings_daily', 'debezium', { key: DED_KEY_BYTES, value: b('1') }), PoisonReason.BAD_ENVELOPE],
  ])('%s', (_name, fn, reason) => {
    const err = poisonOf(fn);
    expect(err.reason).toBe(reason);
    expect(err.message).toContain(reason);
  });

  it('names the column at fault', () => {
    expect(poisonOf(() => decodeDed(dedValue({ ratings: 'two' }))).column).toBe('ratings');
  });

  it('throws nothing but PoisonMessageError on arbitrary bytes', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pieces = ['{', '}', '[', ']', '"', ':', ',', 'null', '1', '9007199254740993', '"day"', '"driver_id"', '739894', '\\', 'é', '\u0000'];
    for (let n = 0; n < 2000; n++) {
      const text = Array.from({ length: 1 + Math.floor(rand() * 12) }, () => pieces[Math.floor(rand() * pieces.length)]).join('');
      for (const format of ['upsert', 'debezium'] as const) {
        try {
          decodeChange('driver_earnings_daily', format, { key: b(text), value: b(text) });
        } catch (err) {
          expect(err).toBeInstanceOf(PoisonMessageError);
        }
      }
    }
  });
});

describe('parseExactJson', () => {
  it('agrees with JSON.parse, except integers beyond 2^53 become bigint', () => {
    const text = '{"a":[1,-2.5,3e2,{"b":"x\\"y\\\\z\\u00e9"}],"c":null,"d":true,"e":false," f ":{},"g":[],"h":9007199254740993,"i":-9007199254740993,"j":1.5e300}';
    const exact = parseExactJson(text) as Record<string, unknown>;
    const plain = JSON.parse(text) as Record<string, unknown>;
    expect({ ...exact, h: null, i: null }).toEqual({ ...plain, h: null, i: null });
    expect(exact['h']).toBe(9007199254740993n);
    expect(exact['i']).toBe(-9007199254740993n);
    expect(exact['j']).toBe(1.5e300);
  });
});
