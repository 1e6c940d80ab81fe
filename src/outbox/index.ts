/**
 * `wavegate/outbox`: the event contract (docs/EVENTS.md) and the transactional outbox writers.
 * Write a service's events in the same transaction as its business rows: {@link postgresOutbox}
 * (pg clients, the embedded engine's transactions) or {@link mysqlOutbox} (mysql2, with
 * {@link inTransaction} and {@link createMysqlPool}); {@link sourceMigrations} creates the table.
 * A bad event throws a GatewayError with code BAD_OUTBOX_PAYLOAD (re-exported here to test for it).
 */
export { EVENT_TYPES, RIDE_AGGREGATE, validateEvent, type EventPayloads, type EventType, type GeoPoint, type OutboxEvent } from './events';
export { createOutboxWriter, postgresOutbox, type OutboxDialect, type OutboxInsert, type OutboxWriter, type WrittenEvent } from './writer';
export { createMysqlPool, inTransaction, mysqlOutbox, openMysqlConnection, type MysqlExecutor, type MysqlPoolOptions } from './mysql';
export { sourceMigrations, sourceTable, type SourceColumn, type SourceDialect, type SourceMigration, type SourceTable } from './dialect';
export { GatewayError, GatewayErrorCode, isGatewayError } from '../errors';
