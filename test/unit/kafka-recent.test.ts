/**
 * The Kafka feed's ring of recent changes keeps records as bytes (replay.ts RecentRecord): a record
 * copied in and read back decodes to exactly the change the live feed decoded, for keys and values
 * present, absent (tombstones, keyless) and empty, and the copy does not share the fetch buffer.
 */
import { recentRecord, recordOf, type SinkRecord } from '../../src/engine/risingwave/feed/replay';
import { decodeChange } from '../../src/engine/risingwave/feed/decode';

const rec = (key: string | null, value: string | null): SinkRecord => ({
  key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value), timestamp: '1760000000000', offset: '42',
});

describe('recent records', () => {
  it('read back the bytes, timestamp and offset they were made from', () => {
    for (const m of [rec('{"trip_id":"t-1"}', '{"a":"ü€"}'), rec('{"trip_id":"t-1"}', null), rec(null, '{"x":1}'), rec('', ''), rec(null, null)]) {
      const back = recordOf(recentRecord(3, m));
      expect([back.key?.toString() ?? null, back.value?.toString() ?? null, back.timestamp, back.offset])
        .toEqual([m.key?.toString() ?? null, m.value?.toString() ?? null, m.timestamp, m.offset]);
    }
  });

  it('copy the record out of the fetch buffer', () => {
    const fetched = Buffer.from('{"trip_id":"t-1"}{"x":1}');
    const m: SinkRecord = { key: fetched.subarray(0, 17), value: fetched.subarray(17), timestamp: '1', offset: '0' };
    const r = recentRecord(0, m);
    fetched.fill(0x20);
    expect(recordOf(r).key?.toString()).toBe('{"trip_id":"t-1"}');
    expect(recordOf(r).value?.toString()).toBe('{"x":1}');
  });

  it('decode to the same change as the record did (upsert and tombstone)', () => {
    const key = '{"trip_id":"t-9"}';
    const tombstone = rec(key, null);
    expect(decodeChange('trip_history', 'upsert', recordOf(recentRecord(1, tombstone)))).toEqual(decodeChange('trip_history', 'upsert', tombstone));
  });
});
