import type { Engine, Snapshot } from './types';

/**
 * Rows of `sql` and a feed cursor they are complete up to, for a page that hands out a resume point
 * (`feedCursor`): {@link Engine.snapshot} where the engine needs it (RisingWave: a FLUSH between the
 * cursor and the read), else the cursor taken right before the read.
 */
export async function readWithFeedCursor<R = Record<string, unknown>>(engine: Pick<Engine, 'feed' | 'query' | 'snapshot'>, sql: string, params: readonly unknown[] = []): Promise<Snapshot<R>> {
  if (engine.snapshot !== undefined) return engine.snapshot<R>(sql, params);
  // Before the read: every change delivered up to here is in the rows, every later one is after the cursor.
  const cursor = engine.feed.head();
  return { cursor, rows: await engine.query<R>(sql, params) };
}
