/**
 * Kafka topic names, in one place. RisingWave's sinks (src/engine/risingwave/sinks.ts) write them,
 * the change feed and the consumer toolkit read them, the examples, tests and benchmarks create
 * them, and `wavegate migrate topics --create` creates them (docker-compose.yml runs it):
 *
 * - a view's upsert stream: `<prefix><view>`, prefix `view.` unless configured
 *   (`WAVEGATE_KAFKA_TOPIC_PREFIX`, read by the feed and by `wavegate migrate`);
 * - an event type's append-only stream: `<prefix><EventType>`, prefix `events.` unless configured
 *   (`WAVEGATE_EVENT_TOPIC_PREFIX` for `wavegate migrate`);
 * - a consumer service's dead-letter topic: `dlq.<service>`.
 *
 * Names only: this module knows no view or event list (callers pass theirs), so it imports nothing.
 */

/** Prefix of view topics: what `wavegate migrate` sinks to and the feed reads by default. */
export const DEFAULT_VIEW_TOPIC_PREFIX = 'view.';

/** Prefix of event topics: what `wavegate migrate` sinks to and consumers read by default. */
export const DEFAULT_EVENT_TOPIC_PREFIX = 'events.';

/** Prefix of the consumer services' dead-letter topics. */
export const DEAD_LETTER_TOPIC_PREFIX = 'dlq.';

/** Characters Kafka allows in topic names (Kafka's `Topic.validate`: `[a-zA-Z0-9._-]`, at most 249). */
const LEGAL = /^[A-Za-z0-9._-]*$/;
const MAX_TOPIC_LENGTH = 249;

/** True when `prefix` has only characters a Kafka topic name may have (an empty prefix is fine). */
export function isTopicPrefix(prefix: string): boolean {
  return LEGAL.test(prefix);
}

/** True when `name` is a legal Kafka topic name: 1-249 of `A-Z a-z 0-9 . _ -`. */
export function isTopicName(name: string): boolean {
  return name.length >= 1 && name.length <= MAX_TOPIC_LENGTH && LEGAL.test(name);
}

/** Topic of a view's upsert stream: `<prefix><view>`. */
export function viewTopic(view: string, prefix: string = DEFAULT_VIEW_TOPIC_PREFIX): string {
  return `${prefix}${view}`;
}

/** The view a topic carries (`<prefix><view>`), or undefined when the topic lacks the prefix. */
export function viewOfTopic(topic: string, prefix: string = DEFAULT_VIEW_TOPIC_PREFIX): string | undefined {
  return topic.startsWith(prefix) ? topic.slice(prefix.length) : undefined;
}

/** Topic of an event type's append-only stream: `<prefix><EventType>`. */
export function eventTopic(type: string, prefix: string = DEFAULT_EVENT_TOPIC_PREFIX): string {
  return `${prefix}${type}`;
}

/** The event type a topic carries (`<prefix><type>` with `type` one of `types`), or undefined. */
export function eventTypeOfTopic<T extends string>(topic: string, prefix: string, types: readonly T[]): T | undefined {
  if (!topic.startsWith(prefix)) return undefined;
  const t = topic.slice(prefix.length);
  return (types as readonly string[]).includes(t) ? (t as T) : undefined;
}

/** A consumer service's dead-letter topic: `dlq.<service>`. */
export function deadLetterTopic(service: string): string {
  return `${DEAD_LETTER_TOPIC_PREFIX}${service}`;
}
