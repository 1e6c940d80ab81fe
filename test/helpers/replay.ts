/**
 * Reading a feed's paged replay in tests: every page, or every change in order.
 */
import type { ChangeEvent, ChangeFeed, ChangeFilter, FeedPosition } from '../../src/engine/types';

/** Options of {@link replayPages}: the filter, and the page size (default 500, as the gateway's). */
export interface ReplayAllOptions {
  readonly filter?: ChangeFilter;
  readonly pageSize?: number;
}

/** Every page of `feed.replay`, in order. Rejects as the replay does (CURSOR_EXPIRED, BAD_USER_INPUT...). */
export async function replayPages(feed: Pick<ChangeFeed, 'replay'>, view: string, after: FeedPosition, o: ReplayAllOptions = {}): Promise<Array<readonly ChangeEvent[]>> {
  const pages: Array<readonly ChangeEvent[]> = [];
  for await (const page of feed.replay({ view, after, pageSize: o.pageSize ?? 500, ...(o.filter !== undefined ? { filter: o.filter } : {}) })) pages.push(page);
  return pages;
}

/** Every change `feed.replay` yields, pages concatenated. */
export async function replayAll(feed: Pick<ChangeFeed, 'replay'>, view: string, after: FeedPosition, o: ReplayAllOptions = {}): Promise<ChangeEvent[]> {
  return (await replayPages(feed, view, after, o)).flat();
}
