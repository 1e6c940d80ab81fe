/**
 * The bytes of RisingWave's append-only event sinks (src/consumer/sinkFormat.ts): FORMAT PLAIN
 * ENCODE JSON (force_append_only, timestamptz utc_string, jsonb dynamic) KEY ENCODE TEXT, per
 * [SINK2] and [SINK3] in docs/RISINGWAVE.md, "RisingWave behaviours Wavegate depends on" and
 * migration 6 in test/golden/risingwave/plan-mysql.sql.
 */
import { DeadLetterReason, decodeSinkRecord, encodeSinkRecord, SinkDecodeError, topicEventType, utcString, type OutboxRow } from '../../src/consumer';

const ROW: OutboxRow = {
  id: '0b7c6f1e-4a7b-4d64-9a57-2f1f0c1d9e01',
  aggregate_type: 'Ride',
  aggregate_id: 'ride-muuz411c-000003',
  event_type: 'RideRequested',
  payload: { rider_id: 'rider-0193', pickup: { lat: 52.532256, lng: 13.393122 }, dropoff: { lat: 52.538751, lng: 13.404213 } },
  occurred_at: '2026-10-05T08:14:02.493000Z',
  trace_context: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
};

// Alphabetical keys at every level, occurred_at with 6 digits and Z, payload embedded, no spaces.
const VALUE = '{"aggregate_id":"ride-muuz411c-000003","aggregate_type":"Ride","event_type":"RideRequested",'
  + '"id":"0b7c6f1e-4a7b-4d64-9a57-2f1f0c1d9e01","occurred_at":"2026-10-05T08:14:02.493000Z",'
  + '"payload":{"dropoff":{"lat":52.538751,"lng":13.404213},"pickup":{"lat":52.532256,"lng":13.393122},"rider_id":"rider-0193"},'
  + '"trace_context":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}';

const b = (s: string) => Buffer.from(s, 'utf8');
const key = b('ride-muuz411c-000003');

function reasonOf(fn: () => unknown): [DeadLetterReason, string] {
  try {
    fn();
  } catch (err) {
    if (err instanceof SinkDecodeError) return [err.reason, err.detail];
    throw err;
  }
  throw new Error('expected a SinkDecodeError');
}

const withValue = (patch: Record<string, unknown>) => b(JSON.stringify({ ...(JSON.parse(VALUE) as object), ...patch }));

describe('RisingWave append-only event sink format', () => {
  it('encodes an outbox row to the exact key and value bytes the sink writes', () => {
    const r = encodeSinkRecord(ROW);
    expect(r.key.toString('hex')).toBe(Buffer.from('ride-muuz411c-000003').toString('hex')); // KEY ENCODE TEXT: raw text, no quotes
    expect(r.value.toString()).toBe(VALUE);
    expect(encodeSinkRecord({ ...ROW, trace_context: null }).value.toString()).toContain('"trace_context":null}');
  });

  it('formats timestamps as utc_string with 6 fraction digits', () => {
    expect(utcString(new Date('2026-10-05T14:03:07.123Z'), 456)).toBe('2026-10-05T14:03:07.123456Z');
    expect(utcString(new Date('2026-10-05T14:03:07Z'))).toBe('2026-10-05T14:03:07.000000Z');
  });

  it('decodes the value into a validated event with microseconds kept as text', () => {
    const e = decodeSinkRecord('RideRequested', key, b(VALUE));
    expect(e).toEqual({
      id: ROW.id, type: 'RideRequested', aggregateType: 'Ride', aggregateId: 'ride-muuz411c-000003',
      payload: ROW.payload, occurredAt: new Date('2026-10-05T08:14:02.493Z'), occurredAtText: '2026-10-05T08:14:02.493000Z',
      traceContext: ROW.trace_context,
    });
    // Key order is not relied on; extra columns (a widened sink SELECT) are ignored.
    const shuffled = b(JSON.stringify({ trace_context: null, payload: ROW.payload, id: ROW.id, occurred_at: ROW.occurred_at, event_type: 'RideRequested', aggregate_type: 'Ride', aggregate_id: ROW.aggregate_id, extra: 1 }));
    expect(decodeSinkRecord('RideRequested', key, shuffled).traceContext).toBeNull();
  });

  it('names the rule a record breaks', () => {
    expect(reasonOf(() => decodeSinkRecord('RideRequested', key, null))[0]).toBe(DeadLetterReason.BAD_JSON);
    expect(reasonOf(() => decodeSinkRecord('RideRequested', key, b('{"id":')))[0]).toBe(DeadLetterReason.BAD_JSON);
    expect(reasonOf(() => decodeSinkRecord('RideRequested', key, Buffer.from([0xc3, 0x28])))[0]).toBe(DeadLetterReason.BAD_UTF8);
    expect(reasonOf(() => decodeSinkRecord('RideRequested', key, b('[1]')))[0]).toBe(DeadLetterReason.BAD_ENVELOPE);
    expect(reasonOf(() => decodeSinkRecord('RideRequested', key, withValue({ id: 7 })))[0]).toBe(DeadLetterReason.BAD_ENVELOPE);
    expect(reasonOf(() => decodeSinkRecord('RideRequested', key, withValue({ occurred_at: '2026-10-05 08:14:02.493000' })))).toEqual([DeadLetterReason.BAD_ENVELOPE, expect.stringContaining('occurred_at')]);
    expect(reasonOf(() => decodeSinkRecord('RideRequested', key, withValue({ occurred_at: '2026-13-05T08:14:02.493000Z' })))[0]).toBe(DeadLetterReason.BAD_ENVELOPE);
    expect(reasonOf(() => decodeSinkRecord('RideRequested', key, withValue({ payload: JSON.stringify(ROW.payload) })))).toEqual([DeadLetterReason.BAD_ENVELOPE, expect.stringContaining("jsonb.handling.mode = 'dynamic'")]);
    expect(reasonOf(() => decodeSinkRecord('RideRequested', key, withValue({ trace_context: 5 })))[0]).toBe(DeadLetterReason.BAD_ENVELOPE);
    expect(reasonOf(() => decodeSinkRecord('DriverAssigned', key, b(VALUE)))[0]).toBe(DeadLetterReason.TOPIC_MISMATCH);
    expect(reasonOf(() => decodeSinkRecord('RideRequested', null, b(VALUE)))[0]).toBe(DeadLetterReason.BAD_KEY);
    expect(reasonOf(() => decodeSinkRecord('RideRequested', b('"ride-muuz411c-000003"'), b(VALUE)))[0]).toBe(DeadLetterReason.BAD_KEY); // a JSON key is not KEY ENCODE TEXT
    expect(reasonOf(() => decodeSinkRecord('RideRequested', key, withValue({ aggregate_type: 'Driver' })))[0]).toBe(DeadLetterReason.INVALID_EVENT);
    expect(reasonOf(() => decodeSinkRecord('RideRequested', key, withValue({ payload: { rider_id: 'r' } })))).toEqual([DeadLetterReason.INVALID_EVENT, 'payload.pickup is required']);
    expect(reasonOf(() => decodeSinkRecord('RideRequested', key, withValue({ payload: { ...(ROW.payload as object), tip: '1' } })))[1]).toContain('payload.tip');
  });

  it('carries the event id on errors found after the id was read', () => {
    try {
      decodeSinkRecord('DriverAssigned', key, b(VALUE));
    } catch (err) {
      expect((err as SinkDecodeError).eventId).toBe(ROW.id);
    }
    expect.assertions(1);
  });

  it('maps topics to event types', () => {
    expect(topicEventType('events.RideRequested', 'events.')).toBe('RideRequested');
    expect(topicEventType('t1.events.PaymentCaptured', 't1.events.')).toBe('PaymentCaptured');
    expect(topicEventType('events.Nope', 'events.')).toBeUndefined();
    expect(topicEventType('view.trip_history', 'events.')).toBeUndefined();
  });
});
