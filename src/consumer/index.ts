/**
 * The event consumer toolkit (docs/CONSUMERS.md): services subscribe to the `events.<EventType>`
 * topics RisingWave's append-only sinks write and handle each event exactly once in their own
 * MySQL transaction, emitting their own events to their own outbox in the same transaction.
 * `wavegate/consumer` in package.json `exports`; with the logger a consumer is given, so a service
 * needs not load the gateway (`wavegate`) for it.
 */
export { createEventConsumer, resolveConsumerOptions, type ConsumerStats, type EventConsumer, type EventConsumerOptions, type EventConsumerState } from './consumer';
export { deadLetterTopicOf, DLQ_HEADERS, readDeadLetter, type ReadDeadLetter } from './deadLetter';
export { classifyError, ConsumerErrorCode, DeadLetterReason, isConsumerError, permanentError, retriableError, type ErrorClass } from './errors';
export { migrateProcessedEvents, PROCESSED_EVENTS_DDL, PROCESSED_EVENTS_MIGRATION, pruneProcessedEvents } from './migrations';
export { backoffMs, type EmittedEvent, type EventHandler, type HandlerContext, type Outcome, type RetryPolicy, type SourceRecord, type TransactionExecutor } from './processor';
export { decodeSinkRecord, encodeSinkRecord, SinkDecodeError, topicEventType, utcString, type AnyConsumedEvent, type ConsumedEvent, type OutboxRow } from './sinkFormat';
export { createLogger, silentLogger, type Logger, type LogLevel } from '../log';
