import type { ChangeEvent } from '../../src/engine/types';
import { GatewayErrorCode, isGatewayError } from '../../src/errors';
import { recordingLogger } from '../../src/log';
import { SubscriptionHub, type Delivery, type HubOptions, type SubscriptionFilter } from '../../src/subscriptions/hub';
import type { Row } from '../../src/views/model';
import { FakeFeed, tripChange } from '../helpers/fakeFeed';

const allowAll = (): boolean => true;
const NONE = Symbol('none');

/** Reads an iterator without waiting: `available()` returns what is queued now. */
class Reader {
  private pending: Promise<IteratorResult<Delivery>> | undefined;
  constructor(readonly it: AsyncIterableIterator<Delivery>) {}

  next(): Promise<IteratorResult<Delivery>> {
    const p = this.pending ?? this.it.next();
    this.pending = undefined;
    return p;
  }

  async available(): Promise<Delivery[]> {
    const out: Delivery[] = [];
    for (;;) {
      const p = this.next();
      // An already-settled promise wins the race against Promise.resolve(NONE).
      const r = await Promise.race([p, Promise.resolve(NONE)]);
      if (r === NONE) {
        this.pending = p;
        return out;
      }
      if (r.done === true) return out;
      out.push(r.value);
    }
  }
}

/** `[op:trip_id@position]` per change, `resync@cursor` per resync: compact sequences for toEqual. */
function show(ds: readonly Delivery[]): string[] {
  return ds.map((d) => {
    switch (d.kind) {
      case 'change':
        return `${d.event.op}:${String(d.event.key['trip_id'])}@${d.event.position}`;
      case 'resync':
        return `resync@${d.cursor}`;
    }
  });
}

function setup(options: HubOptions = {}, retain?: number) {
  const feed = new FakeFeed(retain);
  const hub = new SubscriptionHub(feed, options);
  const open = async (filter: Partial<SubscriptionFilter> = {}) =>
    new Reader(await hub.subscribe({ view: 'trip_history', allow: allowAll, ...filter }));
  return { feed, hub, open };
}

describe('SubscriptionHub routing', () => {
  it('delivers only rows matching a key filter', async () => {
    const { feed, open } = setup();
    const r = await open({ column: 'trip_id', value: 't1' });
    feed.emit([tripChange('insert', 't1', {}), tripChange('insert', 't2', {}), tripChange('update', 't1', { status: 'assigned' })]);
    expect(show(await r.available())).toEqual(['insert:t1@1', 'update:t1@3']);
  });

  it('delivers only rows matching an indexed column filter', async () => {
    const { feed, open } = setup();
    const r = await open({ column: 'rider_id', value: 'r1' });
    feed.emit([
      tripChange('insert', 't1', { rider_id: 'r1' }),
      tripChange('insert', 't2', { rider_id: 'r2' }),
      tripChange('insert', 't3', { rider_id: 'r1' }),
    ]);
    expect(show(await r.available())).toEqual(['insert:t1@1', 'insert:t3@3']);
  });

  it('delivers every row of the view, and only that view, without a filter', async () => {
    const { feed, open } = setup();
    const r = await open();
    feed.emit([
      tripChange('insert', 't1', { rider_id: 'r1' }),
      { view: 'rider_stats', op: 'insert', key: { rider_id: 'r1' }, row: { rider_id: 'r1', trips: 1 }, old: null },
      tripChange('insert', 't2', { rider_id: 'r2' }),
    ]);
    expect(show(await r.available())).toEqual(['insert:t1@1', 'insert:t2@3']);
  });

  it('applies the row policy to every row before queueing', async () => {
    const { feed, open } = setup();
    const r = await open({ allow: (row) => row['rider_id'] === 'r1' });
    feed.emit([tripChange('insert', 't1', { rider_id: 'r1' }), tripChange('insert', 't2', { rider_id: 'r2' })]);
    expect(show(await r.available())).toEqual(['insert:t1@1']);
  });

  it('logs and skips a subscriber whose policy throws, without affecting others', async () => {
    const log = recordingLogger();
    const { feed, open } = setup({ log });
    const broken = await open({
      allow: () => {
        throw new Error('policy bug');
      },
    });
    const fine = await open();
    feed.emit([tripChange('insert', 't1', {})]);
    expect(show(await broken.available())).toEqual([]);
    expect(show(await fine.available())).toEqual(['insert:t1@1']);
    expect(log.lines).toEqual([
      expect.objectContaining({ level: 'error', ns: 'subscriptions.hub', fields: expect.objectContaining({ subscriber: 1 }) }),
    ]);
  });

  it('routes a row whose indexed value moved to subscribers of the new and the old value, once each', async () => {
    const { feed, open } = setup();
    const d1 = await open({ column: 'driver_id', value: 'd1' });
    const d2 = await open({ column: 'driver_id', value: 'd2' });
    feed.emit([
      tripChange('insert', 't1', { driver_id: null }),
      tripChange('update', 't1', { driver_id: 'd1' }, { driver_id: null }),
      tripChange('update', 't1', { driver_id: 'd1', status: 'started' }, { driver_id: 'd1' }),
      tripChange('update', 't1', { driver_id: 'd2' }, { driver_id: 'd1' }),
    ]);
    expect(show(await d1.available())).toEqual(['update:t1@2', 'update:t1@3', 'update:t1@4']);
    expect(show(await d2.available())).toEqual(['update:t1@4']);
  });

  it('routes a delete through its old values and checks the policy on the old row', async () => {
    const { feed, open } = setup();
    const allow = jest.fn((row: Row) => row['rider_id'] === 'r1');
    const r = await open({ column: 'rider_id', value: 'r1', allow });
    feed.emit([tripChange('delete', 't1', null, { rider_id: 'r1', driver_id: 'd1' })]);
    expect(show(await r.available())).toEqual(['delete:t1@1']);
    expect(allow).toHaveBeenCalledWith({ trip_id: 't1', rider_id: 'r1', driver_id: 'd1' });
  });

  it('reaches only the matching subscriber among 1,000 (indexed, not scanned)', async () => {
    const { feed, hub, open } = setup();
    const calls = new Map<number, number>();
    const readers: Reader[] = [];
    for (let i = 0; i < 1000; i++) {
      const allow = (): boolean => {
        calls.set(i, (calls.get(i) ?? 0) + 1);
        return true;
      };
      readers.push(await open({ column: 'rider_id', value: `r${i}`, allow }));
    }
    expect(hub.size).toBe(1000);
    expect(feed.subscribeCalls).toBe(1);
    feed.emit([tripChange('insert', 't1', { rider_id: 'r417' })]);
    expect([...calls]).toEqual([[417, 1]]);
    expect(show(await readers[417]!.available())).toEqual(['insert:t1@1']);
  });

  it('rejects filters on columns that are neither a single-column key nor indexed', async () => {
    const { hub, feed } = setup();
    const bad: Array<Partial<SubscriptionFilter>> = [
      { view: 'trip_history', column: 'status', value: 'x' },
      { view: 'driver_earnings_daily', column: 'day', value: '2026-10-05' },
      { view: 'trip_history', value: 'x' },
      { view: 'trip_history', column: 'rider_id' },
      { view: 'no_such_view' as 'trip_history' },
    ];
    for (const f of bad) {
      await expect(hub.subscribe({ view: 'trip_history', allow: allowAll, ...f })).rejects.toMatchObject({
        code: GatewayErrorCode.BAD_USER_INPUT,
      });
    }
    expect(hub.size).toBe(0);
    expect(feed.subscribeCalls).toBe(0);
  });
});

describe('Subscriber.takeReady', () => {
  it('takes what is queued now, in order and with the cursors next() would give; nothing while a next() waits', async () => {
    const { feed, hub } = setup();
    const a = await hub.subscribe({ view: 'trip_history', allow: allowAll });
    const b = await hub.subscribe({ view: 'trip_history', allow: allowAll });
    const changes = [tripChange('insert', 't1', {}), tripChange('insert', 't2', {}), tripChange('update', 't1', { status: 'assigned' })];
    feed.emit(changes);
    const taken = [...a.takeReady(2), ...a.takeReady(5)];
    const read: Delivery[] = [];
    for (let i = 0; i < changes.length; i++) read.push((await b.next()).value as Delivery);
    expect(show(taken)).toEqual(show(read));
    expect(taken.map((d) => d.cursor)).toEqual(read.map((d) => d.cursor));
    expect(a.takeReady(5)).toEqual([]);
    const waiting = a.next(); // a consumer waits: takeReady must not take its delivery
    feed.emit([tripChange('insert', 't3', {})]);
    expect(a.takeReady(5)).toEqual([]);
    expect(show([(await waiting).value as Delivery])).toEqual(show([(await b.next()).value as Delivery]));
  });
});

describe('Subscriber.waitReady', () => {
  /** True when `p` has settled by now (a settled promise wins the race against Promise.resolve(NONE)). */
  const settled = async (p: Promise<unknown>): Promise<boolean> => (await Promise.race([p, Promise.resolve(NONE)])) !== NONE;

  it('wakes with nothing once a change is queued, which takeReady then gives; settles at once while something is ready', async () => {
    const { feed, hub } = setup();
    const a = await hub.subscribe({ view: 'trip_history', allow: allowAll });
    const b = await hub.subscribe({ view: 'trip_history', allow: allowAll });
    const wait = a.waitReady();
    expect(await settled(wait)).toBe(false);
    feed.emit([tripChange('insert', 't1', {}), tripChange('update', 't1', { status: 'assigned' })]);
    expect(await wait).toBeUndefined(); // the wake-up carries no delivery
    expect(await settled(a.waitReady())).toBe(true);
    const taken = a.takeReady(5);
    const read = [(await b.next()).value as Delivery, (await b.next()).value as Delivery];
    expect(show(taken)).toEqual(show(read));
    expect(taken.map((d) => d.cursor)).toEqual(read.map((d) => d.cursor));
    expect(await settled(a.waitReady())).toBe(false); // drained: waits again
  });

  it('wakes for a conflated change and for a resync, and when the subscriber finishes (then nothing is ready)', async () => {
    const { feed, hub } = setup({ queueLimit: 1, conflateLimit: 1 });
    const a = await hub.subscribe({ view: 'trip_history', allow: allowAll });
    feed.emit([tripChange('insert', 't1', {})]);
    expect(show(a.takeReady(5))).toHaveLength(1);
    // queue full (1), then conflated (t2), then past conflateLimit: one resync
    feed.emit([tripChange('insert', 't1', {}), tripChange('insert', 't2', {})]);
    expect(a.takeReady(1)).toHaveLength(1);
    let wait = a.waitReady();
    expect(await settled(wait)).toBe(true); // t2 is conflated and ready
    expect(show(a.takeReady(5))).toHaveLength(1);
    wait = a.waitReady();
    expect(await settled(wait)).toBe(false);
    feed.emit([tripChange('insert', 't3', {}), tripChange('insert', 't4', {}), tripChange('insert', 't5', {})]);
    expect(await settled(wait)).toBe(true);
    expect(a.takeReady(5).map((d) => d.kind)).toContain('resync');
    wait = a.waitReady();
    expect(await settled(wait)).toBe(false);
    await a.return?.();
    expect(await settled(wait)).toBe(true);
    expect(a.takeReady(5)).toEqual([]);
    expect(await settled(a.waitReady())).toBe(true);
  });
});

describe('SubscriptionHub cursors and resume', () => {
  it('starts at head, advances with each delivered change, and ignores changes it does not match', async () => {
    const { feed, open } = setup();
    feed.emit([tripChange('insert', 't0', {})]);
    const advance = jest.spyOn(feed, 'advance');
    const r = await open({ column: 'trip_id', value: 't1' });
    feed.emit([tripChange('insert', 't1', {}), tripChange('insert', 't2', {}), tripChange('update', 't1', {})]);
    const ds = await r.available();
    expect(ds.map((d) => d.cursor)).toEqual(['2', '4']);
    // The first delivery advances from the head at subscribe time ("1"); the unmatched change at 3 is never folded in.
    expect(advance).toHaveBeenCalledWith('1', '2');
    expect(advance).not.toHaveBeenCalledWith(expect.anything(), '3');
  });

  it('resumes from a delivered cursor: later matching changes only, filtered again', async () => {
    const { feed, hub, open } = setup();
    const first = await open({ column: 'rider_id', value: 'r1' });
    feed.emit([tripChange('insert', 't1', { rider_id: 'r1' }), tripChange('insert', 't2', { rider_id: 'r2' })]);
    const [seen] = await first.available();
    await first.it.return?.();
    feed.emit([tripChange('insert', 't3', { rider_id: 'r1' }), tripChange('insert', 't4', { rider_id: 'r2' })]);
    const resumed = await open({ column: 'rider_id', value: 'r1', after: seen!.cursor });
    feed.emit([tripChange('update', 't1', { rider_id: 'r1' }, { rider_id: 'r1' })]);
    expect(show(await resumed.available())).toEqual(['insert:t3@3', 'update:t1@5']);
    expect(hub.size).toBe(1);
  });

  it.each(['before', 'after'] as const)(
    'delivers replay then live changes with no gap and no duplicate when changes arrive during replay (snapshot %s)',
    async (snapshot) => {
      const { feed, open } = setup();
      feed.emit([1, 2, 3, 4].map((i) => tripChange('insert', `t${i}`, {})));
      const release = feed.holdReplay(snapshot);
      const pending = open({ after: '2' });
      feed.emit([tripChange('update', 't1', {}), tripChange('update', 't2', {})]);
      release();
      const r = await pending;
      feed.emit([tripChange('update', 't3', {})]);
      const ds = await r.available();
      expect(show(ds)).toEqual(['insert:t3@3', 'insert:t4@4', 'update:t1@5', 'update:t2@6', 'update:t3@7']);
      expect(ds.map((d) => d.cursor)).toEqual(['3', '4', '5', '6', '7']);
    },
  );

  it('rejects an expired cursor with CURSOR_EXPIRED and releases the upstream subscription', async () => {
    const { feed, hub } = setup({}, 5);
    feed.emit(Array.from({ length: 10 }, (_, i) => tripChange('insert', `t${i}`, {})));
    const err: unknown = await hub.subscribe({ view: 'trip_history', allow: allowAll, after: '4' }).catch((e: unknown) => e);
    expect(isGatewayError(err, GatewayErrorCode.CURSOR_EXPIRED)).toBe(true);
    expect(hub.size).toBe(0);
    expect(feed.listenerCount).toBe(0);
    await expect(hub.subscribe({ view: 'trip_history', allow: allowAll, after: '5' })).resolves.toBeDefined();
  });

  it('ends a subscription closed while its replay was pending', async () => {
    const { feed, hub } = setup();
    const release = feed.holdReplay('after');
    const pending = hub.subscribe({ view: 'trip_history', allow: allowAll, after: '0' });
    hub.close();
    release();
    const it = await pending;
    await expect(it.next()).resolves.toEqual({ done: true, value: undefined });
  });
});

describe('SubscriptionHub replay: pages, filter pushed down, caps', () => {
  /** Polls (microtask and macrotask turns) until `check` holds; fake feeds only, no timers. */
  async function until(check: () => boolean): Promise<void> {
    for (let i = 0; i < 1000 && !check(); i++) await new Promise<void>((r) => setImmediate(r));
    expect(check()).toBe(true);
  }

  it('asks the feed for the filtered changes in pages of replayPageSize, and delivers exactly those', async () => {
    const { feed, open } = setup({ replayPageSize: 2 });
    feed.emit(Array.from({ length: 30 }, (_, i) => tripChange('insert', `t${i}`, { rider_id: `r${i % 10}` })));
    const r = await open({ column: 'rider_id', value: 'r3', after: '0' });
    expect(feed.replayRequests).toEqual([expect.objectContaining({ view: 'trip_history', after: '0', pageSize: 2, filter: { column: 'rider_id', value: 'r3' } })]);
    // 3 of the 30 changes are r3's: two pages (2 + 1), the other 27 never reached the hub.
    expect(feed.pageSizes).toEqual([2, 1]);
    expect(show(await r.available())).toEqual(['insert:t3@4', 'insert:t13@14', 'insert:t23@24']);
  });

  it('caps concurrent replays per socket, per subject and in total with TOO_MANY_REQUESTS; live subscriptions are not capped', async () => {
    const { feed, hub } = setup({ maxReplaysPerSocket: 1, maxReplaysPerSubject: 2, maxReplays: 3 });
    feed.emit([tripChange('insert', 't1', {})]);
    const resume = (subject: string, socket: string) => hub.subscribe({ view: 'trip_history', allow: allowAll, after: '0' }, { subject, socket });
    const limitOf = (e: unknown) => (isGatewayError(e, GatewayErrorCode.TOO_MANY_REQUESTS) ? e.details?.['limit'] : e);
    const releases: Array<() => void> = [];
    const held = (subject: string, socket: string) => {
      releases.push(feed.holdReplay('before'));
      return resume(subject, socket);
    };
    const a1 = held('s1', 'k1');
    expect(limitOf(await resume('s1', 'k1').catch((e: unknown) => e))).toBe('maxReplaysPerSocket');
    const a2 = held('s1', 'k2');
    expect(limitOf(await resume('s1', 'k3').catch((e: unknown) => e))).toBe('maxReplaysPerSubject');
    const b1 = held('s2', 'k4');
    expect(hub.replaying).toBe(3);
    expect(limitOf(await resume('s3', 'k5').catch((e: unknown) => e))).toBe('maxReplays');
    await expect(hub.subscribe({ view: 'trip_history', allow: allowAll }, { subject: 's3', socket: 'k5' })).resolves.toBeDefined();
    for (const release of releases) release();
    for (const sub of await Promise.all([a1, a2, b1])) expect(show(await new Reader(sub).available())).toEqual(['insert:t1@1']);
    expect(hub.replaying).toBe(0);
    await expect(resume('s3', 'k5')).resolves.toBeDefined();
  });

  it('bounds the live buffer of a replaying subscriber: past queueLimit it replays again instead of holding more', async () => {
    const { feed, open } = setup({ queueLimit: 2 });
    feed.emit([1, 2].map((i) => tripChange('insert', `t${i}`, {})));
    const release = feed.holdReplay('before');
    const pending = open({ after: '0' });
    await until(() => feed.replayRequests.length === 1);
    feed.emit([3, 4, 5, 6, 7].map((i) => tripChange('insert', `t${i}`, {}))); // 5 live changes > queueLimit 2
    release();
    const r = await pending;
    // Round 2 read the dropped live changes from the feed, after what round 1 handed over.
    expect(feed.replayRequests.map((q) => q.after)).toEqual(['0', '2']);
    expect(show(await r.available())).toEqual([1, 2, 3, 4, 5, 6, 7].map((i) => `insert:t${i}@${i}`));
  });

  it('gives up after three overflowing rounds with a resync, then continues live', async () => {
    const { feed, open } = setup({ queueLimit: 1 });
    let release = feed.holdReplay('before');
    const pending = open({ after: '0' });
    for (let round = 1; round <= 3; round++) {
      await until(() => feed.replayRequests.length === round);
      feed.emit([1, 2].map((i) => tripChange('insert', `r${round}-${i}`, {})));
      const previous = release;
      if (round < 3) release = feed.holdReplay('before');
      previous();
    }
    const r = await pending;
    feed.emit([tripChange('insert', 'live', {})]);
    const ds = await r.available();
    // The resync replaces what was queued (the client re-queries) and covers what was handed over;
    // the changes dropped from the buffer in round 3 (5, 6) are after its cursor, for a later resume.
    expect(show(ds)).toEqual(['resync@4', 'insert:live@7']);
  });
});

describe('SubscriptionHub slow consumers', () => {
  const update = (tripId: string, n: number) => tripChange('update', tripId, { status: `s${n}` });
  const statusOf = (d: Delivery | undefined) => (d?.kind === 'change' ? d.event.row?.['status'] : undefined);

  it('conflates past queueLimit to the latest change per key, in feed order, then returns to normal', async () => {
    const { feed, hub, open } = setup({ queueLimit: 3, conflateLimit: 10 });
    const r = await open();
    await open(); // a second subscriber, reading nothing either
    feed.emit([update('a', 1), update('b', 2), update('a', 3)]); // queued as they are: 1..3
    feed.emit([update('a', 4), update('b', 5), update('c', 6), update('a', 7), update('b', 8), update('a', 9)]);
    // Each holds its queue (3) plus the latest change of each of the 3 keys: bounded, not 9.
    expect(hub.buffered).toEqual({ total: 12, max: 6 });
    const ds = await r.available();
    expect(hub.buffered).toEqual({ total: 6, max: 6 });
    expect(show(ds)).toEqual(['update:a@1', 'update:b@2', 'update:a@3', 'update:c@6', 'update:b@8', 'update:a@9']);
    expect(ds.map(statusOf)).toEqual(['s1', 's2', 's3', 's6', 's8', 's9']);
    expect(ds.map((d) => d.cursor)).toEqual(['1', '2', '3', '6', '8', '9']);
    // Caught up: every change is delivered again, none conflated.
    feed.emit([update('a', 10), update('a', 11)]);
    expect(show(await r.available())).toEqual(['update:a@10', 'update:a@11']);
  });

  it('drops the buffer for one resync past conflateLimit, logs it, and continues live after it', async () => {
    const log = recordingLogger();
    const { feed, open } = setup({ queueLimit: 2, conflateLimit: 3, log });
    const r = await open();
    feed.emit(['a', 'b', 'c', 'd', 'e', 'f'].map((k, i) => update(k, i)));
    feed.emit(['g', 'h', 'i', 'j', 'k'].map((k, i) => update(k, i)));
    feed.emit([update('a', 12)]);
    expect(show(await r.available())).toEqual(['resync@11', 'update:a@12']);
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.fields['subscriber'])).toEqual([1, 1]);
  });

  it('reports delivery latency from committedAt', async () => {
    const latencies: number[] = [];
    const { feed, open } = setup({ onDelivered: (ms) => latencies.push(ms) });
    const r = await open();
    const waiting = r.next();
    const committedAt = Date.now() - 250;
    feed.emit([{ ...update('a', 1), committedAt }]);
    await expect(waiting).resolves.toMatchObject({ done: false, value: { kind: 'change', cursor: '1' } });
    expect(latencies).toHaveLength(1);
    expect(latencies[0]).toBeGreaterThanOrEqual(250);
  });
});

describe('SubscriptionHub lifecycle', () => {
  it('return() unsubscribes at once and the last one releases the upstream subscription', async () => {
    const { feed, hub, open } = setup();
    const a = await open({ column: 'rider_id', value: 'r1' });
    const b = await open();
    expect(feed.listenerCount).toBe(1);
    const waiting = a.next();
    await expect(a.it.return!()).resolves.toEqual({ done: true, value: undefined });
    await expect(waiting).resolves.toEqual({ done: true, value: undefined });
    expect(hub.size).toBe(1);
    feed.emit([tripChange('insert', 't1', { rider_id: 'r1' })]);
    await expect(a.it.next()).resolves.toEqual({ done: true, value: undefined });
    expect(show(await b.available())).toEqual(['insert:t1@1']);
    await b.it.return!();
    expect(hub.size).toBe(0);
    expect(feed.listenerCount).toBe(0);
    expect(feed.unsubscribeCalls).toBe(1);
    await open();
    expect(feed.subscribeCalls).toBe(2);
  });

  it('throw() unsubscribes too and rejects with the error', async () => {
    const { feed, hub, open } = setup();
    const a = await open();
    const boom = new Error('client gone');
    await expect(a.it.throw!(boom)).rejects.toBe(boom);
    expect(hub.size).toBe(0);
    expect(feed.listenerCount).toBe(0);
  });

  it('close() ends every iterator, releases the feed and refuses new subscriptions', async () => {
    const { feed, hub, open } = setup();
    const a = await open();
    const b = await open({ column: 'trip_id', value: 't1' });
    feed.emit([tripChange('insert', 't1', {})]);
    const waiting = a.next();
    hub.close();
    expect(await waiting).toMatchObject({ done: false }); // already queued before close
    await expect(a.next()).resolves.toEqual({ done: true, value: undefined });
    await expect(b.next()).resolves.toEqual({ done: true, value: undefined });
    expect(hub.size).toBe(0);
    expect(feed.listenerCount).toBe(0);
    await expect(open()).rejects.toMatchObject({ code: GatewayErrorCode.ENGINE_UNAVAILABLE });
  });

  it('is a for-await iterable', async () => {
    const { feed, open } = setup();
    const r = await open();
    feed.emit([tripChange('insert', 't1', {}), tripChange('insert', 't2', {})]);
    const seen: ChangeEvent[] = [];
    for await (const d of r.it) {
      if (d.kind === 'change') seen.push(d.event);
      if (seen.length === 2) break; // break calls return()
    }
    expect(seen.map((e) => e.position)).toEqual(['1', '2']);
  });
});
