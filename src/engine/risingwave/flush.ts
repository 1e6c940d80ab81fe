/**
 * Shared FLUSHes. A snapshot read needs a FLUSH that was *requested after* it took its feed cursor
 * (docs/SUBSCRIPTIONS.md, "Snapshot, then live (no race)", says why); each FLUSH forces a
 * checkpoint barrier on RisingWave
 * (https://github.com/risingwavelabs/risingwave/blob/v3.0.3/src/meta/src/barrier/schedule.rs,
 * `flush`), so concurrent reads share them: a read joins a FLUSH that has not been sent yet, and
 * never one already in flight (that one may have been requested before the read's cursor). So at
 * most one FLUSH runs and one waits per group at any time, however many reads arrive.
 *
 * A group is one RisingWave frontend: FLUSH waits until *its* frontend's snapshot has the flushed
 * epoch (https://github.com/risingwavelabs/risingwave/blob/v3.0.3/src/frontend/src/handler/flush.rs),
 * so it covers reads on that frontend's sessions only.
 */

interface Group {
  /** The FLUSH in flight. */
  current: Promise<void> | undefined;
  /** The FLUSH that starts when `current` ends; joinable until then. */
  next: Promise<void> | undefined;
}

/** FLUSH sharing per group; see the module comment. */
export class FlushBatches {
  private readonly groups = new Map<string, Group>();

  /**
   * Resolves when a FLUSH requested after this call has completed in `group` (rejects when it
   * failed). `flush` runs one on the caller's connection, if this caller is the one to send it.
   */
  wait(group: string, flush: () => Promise<void>): Promise<void> {
    let g = this.groups.get(group);
    if (g === undefined) {
      g = { current: undefined, next: undefined };
      this.groups.set(group, g);
    }
    if (g.next !== undefined) return g.next;
    if (g.current === undefined) return this.launch(group, g, flush);
    const queued = g;
    const after = g.current.then(() => undefined, () => undefined);
    g.next = after.then(() => {
      queued.next = undefined;
      return this.launch(group, queued, flush);
    });
    return g.next;
  }

  /** Groups with a FLUSH in flight or waiting (for tests). */
  get active(): number {
    return this.groups.size;
  }

  private launch(key: string, g: Group, flush: () => Promise<void>): Promise<void> {
    const p: Promise<void> = flush().finally(() => {
      if (g.current === p) g.current = undefined;
      if (g.current === undefined && g.next === undefined) this.groups.delete(key);
    });
    g.current = p;
    return p;
  }
}
