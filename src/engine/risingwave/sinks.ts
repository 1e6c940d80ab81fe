import { eventTopic, viewTopic } from '../../kafka/topics';
import { EVENT_TYPES, type EventType } from '../../outbox/events';
import type { ViewModel } from '../../views/model';
import { ddlObject, ident, type DdlObject } from './objects';
import type { SinkSettings } from './settings';

/**
 * Kafka sinks. Decisions, each on a RisingWave behaviour of the table in docs/RISINGWAVE.md ([ID]):
 * - FORMAT syntax, not the legacy `type = ...`: its timestamptz default is `utc_string`
 *   ("2026-10-05T14:03:07.123456Z"); we still set it explicitly [SINK2].
 * - `properties.enable.idempotence = 'true'`: one key always goes through one sink writer to one
 *   partition in change order, but with idempotence off a broker retry can reorder (5 requests in
 *   flight); subscriptions apply upserts per key, so order per key matters [SINK4].
 * - `jsonb.handling.mode = 'dynamic'`: the default puts JSON text in a string; dynamic embeds the
 *   JSON [SINK2]. Only the event sinks carry jsonb (payload); set on the view sinks too so a future
 *   jsonb column arrives the same way.
 * - `snapshot` stays at its default `true`: a new sink first emits the current rows [SINK5].
 * - view sinks: primary_key equals the view's stream key, so RisingWave does not buffer and compact
 *   per barrier [SINK1]; event sinks are append-only, where that buffering does not apply.
 * Delivery is at-least-once: consumers de-duplicate / treat messages as upserts [SINK5].
 * RisingWave 3.1 rejects unknown WITH keys; every key below is one RisingWave's own tests use [SINK3].
 */

/** Why the sink options are set, printed above every sink in plans and golden files. */
const OPTION_NOTES = [
  'properties.enable.idempotence: a broker retry cannot reorder one key\'s messages [SINK4];',
  'jsonb.handling.mode = dynamic: JSON is embedded, not a string [SINK2]; snapshot (default true): a new',
  'sink first emits the current rows [SINK5].',
];

/** Sink name of an event type: `events_<snake_case type>`. */
export const eventSinkName = (type: EventType): string =>
  `events_${type.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()}`;

function kafkaWith(sink: SinkSettings, topic: string, primaryKey: readonly string[]): string {
  return [
    'WITH (',
    "  connector = 'kafka',",
    `  properties.bootstrap.server = '${sink.brokers}',`,
    `  topic = '${topic}',`,
    `  primary_key = '${primaryKey.map(ident).join(',')}',`,
    "  properties.enable.idempotence = 'true'",
    ')',
  ].join('\n');
}

/** The notes on value encodings a consumer of `view` must decode [SINK2]. */
function encodingNotes(view: ViewModel): string[] {
  const types = new Set(view.columns.map((c) => c.type));
  const notes = [
    'Consumer contract [SINK1] [SINK2]: key = JSON object of the key columns; value = JSON object of all',
    'columns, keys in alphabetical order; an update is one message with the new row; a delete is a',
    'tombstone (null value). numeric columns arrive as JSON strings ("12.50"); counts as JSON numbers;',
    'timestamptz as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (6 digits, UTC).',
  ];
  if (types.has('date')) {
    const dates = view.columns.filter((c) => c.type === 'date').map((c) => c.name).join(', ');
    notes.push(`date columns (${dates}) arrive as INTEGER days with 0001-01-01 = 1, in the key too:`,
      'subtract 719163 for days since 1970-01-01 (2026-10-05 -> 739894).');
  }
  return notes;
}

/** The upsert sink of one view: topic `<WAVEGATE_KAFKA_TOPIC_PREFIX><name>`, `view.<name>` by default (src/kafka/topics.ts viewTopic), keyed by the view's key columns. */
export function viewSink(view: ViewModel, sink: SinkSettings, group: string): DdlObject {
  const name = ident(view.name);
  return ddlObject({
    name: `${name}_sink`, kind: 'sink', group, dependsOn: [name],
    notes: [`Upsert stream of ${name} on topic ${viewTopic(name, sink.viewTopicPrefix)}.`, ...encodingNotes(view), ...OPTION_NOTES,
      'primary_key = the stream key: no per-barrier buffering [SINK1].'],
    create: [
      `CREATE SINK ${name}_sink FROM ${name}`,
      kafkaWith(sink, viewTopic(name, sink.viewTopicPrefix), view.key),
      'FORMAT UPSERT ENCODE JSON (',
      "  timestamptz.handling.mode = 'utc_string',",
      "  jsonb.handling.mode = 'dynamic'",
      ')',
    ].join('\n'),
    drop: `DROP SINK ${name}_sink`,
  });
}

/**
 * One append-only sink per event type: topic `<WAVEGATE_EVENT_TOPIC_PREFIX><EventType>` (`events.` by default), Kafka key = the ride id
 * (aggregate_id) as plain text (`KEY ENCODE TEXT`, one varchar key column, [SINK3]). Keying by the
 * aggregate sends one ride's events through one sink writer to one partition, in order [SINK4], so
 * consumers can process them ordered per ride; the event id travels in the value for de-duplication.
 * `force_append_only = 'true'` is required: the outbox is a CDC table, never append-only, and PLAIN
 * over it fails without it [SINK3]; with it, upstream UPDATEs become new messages and DELETEs (an
 * outbox purge) emit nothing [CDC7].
 */
export function eventSinks(outboxColumns: readonly string[], sink: SinkSettings): DdlObject[] {
  return EVENT_TYPES.map((type) => {
    const name = eventSinkName(type);
    return ddlObject({
      name, kind: 'sink', group: 'event_sinks', dependsOn: ['outbox'],
      notes: [
        `${type} events on topic ${eventTopic(type, sink.eventTopicPrefix)}: value = the outbox row as JSON (payload embedded,`,
        'occurred_at as "...Z" text), key = the ride id (aggregate_id: one ride, one partition, in order, [SINK4]).',
        'At-least-once: consumers de-duplicate by the event id in the value [SINK5].',
        'force_append_only: the outbox is a CDC table, never append-only [SINK3]; updates become new messages,',
        'deletes (an outbox purge) emit nothing [CDC7].',
        ...OPTION_NOTES,
      ],
      create: [
        `CREATE SINK ${name} AS`,
        `SELECT ${outboxColumns.map(ident).join(', ')}`,
        `FROM outbox WHERE event_type = '${type}'`,
        kafkaWith(sink, eventTopic(type, sink.eventTopicPrefix), ['aggregate_id']),
        'FORMAT PLAIN ENCODE JSON (',
        "  force_append_only = 'true',",
        "  timestamptz.handling.mode = 'utc_string',",
        "  jsonb.handling.mode = 'dynamic'",
        ') KEY ENCODE TEXT',
      ].join('\n'),
      drop: `DROP SINK ${name}`,
    });
  });
}
