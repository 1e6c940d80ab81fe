import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_TYPES, validateEvent } from '../../src/outbox/events';

/** The JSON example under each `### <EventType>` heading of docs/EVENTS.md. */
function examples(): Map<string, Record<string, unknown>> {
  const doc = readFileSync(join(__dirname, '../../docs/EVENTS.md'), 'utf8');
  const found = new Map<string, Record<string, unknown>>();
  for (const section of doc.split(/^### /m).slice(1)) {
    const heading = section.slice(0, section.indexOf('\n')).trim();
    const json = /```json\n([\s\S]*?)```/.exec(section)?.[1];
    if (json !== undefined) found.set(heading, JSON.parse(json) as Record<string, unknown>);
  }
  return found;
}

describe('docs/EVENTS.md', () => {
  const docs = examples();

  it('has one example per event type', () => {
    expect([...docs.keys()].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it.each(EVENT_TYPES.map((t) => [t]))('shows a %s outbox row that passes validateEvent', (type) => {
    const row = docs.get(type)!;
    expect(row['event_type']).toBe(type);
    expect(row['aggregate_type']).toBe('Ride');
    expect(row['id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(() => validateEvent({
      type: row['event_type'],
      aggregateId: row['aggregate_id'],
      payload: row['payload'],
      occurredAt: new Date(String(row['occurred_at'])),
      ...(row['trace_context'] !== null ? { traceContext: row['trace_context'] } : {}),
    })).not.toThrow();
  });
});
