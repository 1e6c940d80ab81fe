/**
 * Resuming a subscriber from a cursor (hub.ts): the feed's replay is read page by page with the
 * subscriber's filter pushed into the read, so a rider's resume never holds other riders' changes
 * and memory stays at one page plus the subscriber's bounded queue. Replays are expensive (they
 * read the change log or Kafka), so how many run at once is capped in total, per subject and per
 * socket ({@link ReplaySlots}); over a cap the subscription fails with TOO_MANY_REQUESTS.
 *
 * No gap, no duplicate: the subscriber is registered before the replay starts, so live changes
 * delivered meanwhile wait in its buffer (subscriber.ts `hold`) and those the replay already
 * covered are dropped. If that buffer overflows, it is dropped and another round replays from where
 * the last one ended (the log has those changes too); after {@link MAX_ROUNDS} the subscriber gets a
 * resync instead, as a slow consumer would.
 */
import { wholeOption } from '../config/env';
import type { ChangeEvent, ChangeFeed, ChangeFilter, FeedPosition } from '../engine/types';
import { errors } from '../errors';
import type { Subscriber } from './subscriber';

/** Replay rounds before a subscriber whose live buffer keeps overflowing gets a resync. */
export const MAX_ROUNDS = 3;

/** Who a subscription is for, to count its replays per subject and per socket. */
export interface SubscribeScope {
  /** The viewer (role and subject) the subscription serves. */
  readonly subject: string;
  /** The websocket it came on, if any. */
  readonly socket?: string;
}

/** Caps of {@link ReplaySlots}. */
export interface ReplayCaps {
  /** Replays at once over all subscribers. @default 16 */
  readonly maxReplays?: number;
  /** Replays at once for one subject. @default 4 */
  readonly maxReplaysPerSubject?: number;
  /** Replays at once on one socket. @default 2 */
  readonly maxReplaysPerSocket?: number;
}

/** Counts running replays and refuses one over any cap. */
export class ReplaySlots {
  private total = 0;
  private readonly bySubject = new Map<string, number>();
  private readonly bySocket = new Map<string, number>();
  private readonly max: { total: number; subject: number; socket: number };

  constructor(caps: ReplayCaps = {}) {
    this.max = {
      total: wholeOption('maxReplays', caps.maxReplays, 16, 1),
      subject: wholeOption('maxReplaysPerSubject', caps.maxReplaysPerSubject, 4, 1),
      socket: wholeOption('maxReplaysPerSocket', caps.maxReplaysPerSocket, 2, 1),
    };
  }

  /** Replays running now. */
  get running(): number {
    return this.total;
  }

  /** Takes a slot; returns its release (idempotent). TOO_MANY_REQUESTS when a cap is reached. */
  acquire(scope: SubscribeScope | undefined): () => void {
    const subject = scope?.subject;
    const socket = scope?.socket;
    if (socket !== undefined && (this.bySocket.get(socket) ?? 0) >= this.max.socket) {
      throw errors.tooMany(`At most ${this.max.socket} subscriptions may resume from a cursor at once on one connection; retry when one has started`, 'maxReplaysPerSocket', this.max.socket);
    }
    if (subject !== undefined && (this.bySubject.get(subject) ?? 0) >= this.max.subject) {
      throw errors.tooMany(`At most ${this.max.subject} subscriptions of one user may resume from a cursor at once; retry when one has started`, 'maxReplaysPerSubject', this.max.subject);
    }
    if (this.total >= this.max.total) {
      throw errors.tooMany('Too many subscriptions are resuming from a cursor right now; retry shortly', 'maxReplays', this.max.total);
    }
    this.total++;
    bump(this.bySubject, subject, 1);
    bump(this.bySocket, socket, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      bump(this.bySubject, subject, -1);
      bump(this.bySocket, socket, -1);
    };
  }
}

function bump(counts: Map<string, number>, key: string | undefined, by: number): void {
  if (key === undefined) return;
  const n = (counts.get(key) ?? 0) + by;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}

/** What a replay needs from the hub besides the feed. */
export interface ReplayTarget {
  readonly sub: Subscriber;
  readonly filter: ChangeFilter | undefined;
  readonly pageSize: number;
  /** Filter and row policy, checked again on every replayed change (defence in depth). */
  readonly wants: (ev: ChangeEvent) => boolean;
}

/** One pass over the feed from `from`; the cursor covering what it handed over, or undefined once the subscriber closed. */
async function round(feed: ChangeFeed, t: ReplayTarget, from: FeedPosition): Promise<FeedPosition | undefined> {
  let through = from;
  const pages = feed.replay({ view: t.sub.view.name, after: from, pageSize: t.pageSize, signal: t.sub.signal, ...(t.filter !== undefined ? { filter: t.filter } : {}) });
  for await (const page of pages) {
    if (t.sub.phase.name !== 'replaying') return undefined; // closed: leaving the loop ends the read
    for (const ev of page) {
      if (!feed.isAfter(ev.position, from)) continue;
      through = feed.advance(through, ev.position);
      if (t.wants(ev)) t.sub.accept(ev);
    }
  }
  return t.sub.phase.name === 'replaying' ? through : undefined;
}

/** Replays into `t.sub` from `after`, then switches it to live (see the module comment). */
export async function replayInto(feed: ChangeFeed, t: ReplayTarget, after: FeedPosition): Promise<void> {
  let from = after;
  for (let n = 1; ; n++) {
    const through = await round(feed, t, from);
    const phase = t.sub.phase;
    if (through === undefined || phase.name !== 'replaying') return;
    if (!phase.overflowed) {
      t.sub.phase = { name: 'live' };
      // Live changes the replay already handed over are dropped; the rest follow in feed order.
      for (const ev of phase.live) if (feed.isAfter(ev.position, through)) t.sub.accept(ev);
      return;
    }
    if (n >= MAX_ROUNDS) {
      t.sub.phase = { name: 'live' };
      t.sub.resync('live changes kept outrunning the resume; re-query');
      return;
    }
    t.sub.phase = { name: 'replaying', live: [], overflowed: false };
    from = through;
  }
}
