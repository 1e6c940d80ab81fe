/**
 * Database types shared by the engines, the outbox writers, the simulator and the doctor: the
 * smallest interface a SQL client must have, so none of them depends on another for it.
 */

/** Something that runs SQL with positional parameters ($1..$n): a pg client, a PGlite transaction. */
export interface SqlExecutor {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[] }>;
}
