/**
 * The SQLSTATEs the passthrough sends (docs/SQL.md lists them with their causes), and the error that
 * carries one to the client. Values are Postgres' own codes
 * (https://www.postgresql.org/docs/current/errcodes-appendix.html), so drivers and BI tools classify
 * them as they would a Postgres error.
 */
export const SqlState = {
  /** Writes, DDL, COPY, DO/CALL, LISTEN/NOTIFY, locks, SET ROLE, forbidden functions/types/catalogs. */
  INSUFFICIENT_PRIVILEGE: '42501',
  /** EXPLAIN, cursors, SQL PREPARE, TABLESAMPLE, binary formats we cannot encode, function calls. */
  FEATURE_NOT_SUPPORTED: '0A000',
  /** A relation that is not published (hidden or missing: the same answer). */
  UNDEFINED_TABLE: '42P01',
  SYNTAX_ERROR: '42601',
  /** Statement timeout or CancelRequest. */
  QUERY_CANCELED: '57014',
  /**
   * A result larger than WAVEGATE_SQL_MAX_ROWS, a plan too costly for the embedded engine, or a
   * per-session cap (prepared statements, portals, WAVEGATE_SQL_SESSION_MEMORY_BYTES).
   */
  PROGRAM_LIMIT_EXCEEDED: '54000',
  INVALID_PASSWORD: '28P01',
  INVALID_AUTHORIZATION: '28000',
  PROTOCOL_VIOLATION: '08P01',
  /** Connection limits (authenticated, pending, per address): FATAL at connect or login. */
  TOO_MANY_CONNECTIONS: '53300',
  /** All sessions together hold WAVEGATE_SQL_TOTAL_MEMORY_BYTES of prepared statements and portals. */
  OUT_OF_MEMORY: '53200',
  UNDEFINED_OBJECT: '42704',
  /** A function or operator name a `reg*` literal names, hidden or missing. */
  UNDEFINED_FUNCTION: '42883',
  /** A schema name a `regnamespace` literal names, hidden or missing. */
  INVALID_SCHEMA_NAME: '3F000',
  INVALID_PARAMETER_VALUE: '22023',
  INVALID_TEXT_REPRESENTATION: '22P02',
  DUPLICATE_PREPARED_STATEMENT: '42P05',
  DUPLICATE_CURSOR: '42P03',
  INVALID_SQL_STATEMENT_NAME: '26000',
  INVALID_CURSOR_NAME: '34000',
  IN_FAILED_TRANSACTION: '25P02',
  NO_ACTIVE_TRANSACTION: '25P01',
  ACTIVE_TRANSACTION: '25001',
  /** The engine is unreachable or shutting down. */
  CANNOT_CONNECT_NOW: '57P03',
  ADMIN_SHUTDOWN: '57P01',
  INTERNAL_ERROR: 'XX000',
} as const;

/**
 * A statement (or message) the passthrough will not run, or that failed: sent to the client as an
 * ErrorResponse with `sqlState`, and the connection stays usable.
 */
export class SqlRefusal extends Error {
  override readonly name = 'SqlRefusal';
  constructor(
    readonly sqlState: string,
    message: string,
    readonly extra: { readonly hint?: string; readonly position?: number; readonly detail?: string } = {},
  ) {
    super(message);
  }
}

/** 54000 for a per-session cap (settings, prepared statements, portals) a client ran into. */
export function sessionLimitExceeded(what: string, max: number): SqlRefusal {
  return new SqlRefusal(SqlState.PROGRAM_LIMIT_EXCEEDED, `too many ${what} in this session (at most ${max})`);
}
