/**
 * Topic names (src/kafka/topics.ts): the contract between RisingWave's sinks, the change feed, the
 * consumer toolkit and docker-compose.yml. The literal names are asserted here on purpose: changing
 * them breaks every deployed stack, so it must break a test too.
 */
import {
  deadLetterTopic, DEFAULT_EVENT_TOPIC_PREFIX, DEFAULT_VIEW_TOPIC_PREFIX, eventTopic, eventTypeOfTopic, isTopicName, isTopicPrefix, viewOfTopic, viewTopic,
} from '../../src/kafka/topics';
import { deadLetterTopicOf, topicEventType } from '../../src/consumer';
import { EVENT_TYPES } from '../../src/outbox/events';
import { bundledRegistry } from '../../src/views/load';

describe('topic names', () => {
  it('names view, event and dead-letter topics as the deployed stack does', () => {
    expect([DEFAULT_VIEW_TOPIC_PREFIX, DEFAULT_EVENT_TOPIC_PREFIX]).toEqual(['view.', 'events.']);
    expect(viewTopic('trip_history')).toBe('view.trip_history');
    expect(viewTopic('trip_history', 'prod.view.')).toBe('prod.view.trip_history');
    expect(eventTopic('RideRequested')).toBe('events.RideRequested');
    expect(eventTopic('TripRated', 't1.events.')).toBe('t1.events.TripRated');
    expect(deadLetterTopic('driver')).toBe('dlq.driver');
    expect(deadLetterTopicOf('driver')).toBe('dlq.driver'); // the toolkit's public name for it
  });

  it('reads the view or event type back from a topic, and nothing from a foreign one', () => {
    for (const v of bundledRegistry().views) expect(viewOfTopic(viewTopic(v.name, 'x.view.'), 'x.view.')).toBe(v.name);
    expect(viewOfTopic('events.RideRequested')).toBeUndefined();
    for (const t of EVENT_TYPES) expect(eventTypeOfTopic(eventTopic(t), DEFAULT_EVENT_TOPIC_PREFIX, EVENT_TYPES)).toBe(t);
    expect(eventTypeOfTopic('events.Nope', 'events.', EVENT_TYPES)).toBeUndefined();
    expect(eventTypeOfTopic('view.trip_history', 'events.', EVENT_TYPES)).toBeUndefined();
    expect(topicEventType('t9.events.FareCalculated', 't9.events.')).toBe('FareCalculated');
  });

  it('accepts only what Kafka accepts in topic names', () => {
    expect(['', 'view.', 't-1_a.view.'].map(isTopicPrefix)).toEqual([true, true, true]);
    expect(['view/', 'a b.', 'ü.'].map(isTopicPrefix)).toEqual([false, false, false]);
    expect(['dlq.driver', 'a'.repeat(249)].map(isTopicName)).toEqual([true, true]);
    expect(['', 'a'.repeat(250), 'dlq:driver'].map(isTopicName)).toEqual([false, false, false]);
  });
});
