/**
 * Lookup sets for subscriptions (src/subscriptions/lookups.ts) over the bundled declarations: a
 * rider's driver_stats subscription sees the drivers of the rider's own trips, loaded from
 * trip_history on PGlite and kept fresh from trip_history's changes, through the real hub.
 */
import { PGlite } from '@electric-sql/pglite';
import type { Viewer } from '../../src/auth/viewer';
import type { Engine } from '../../src/engine/types';
import { GatewayErrorCode } from '../../src/errors';
import { permissionOf, rowTest, viewOf } from '../../src/permissions/compile';
import { SubscriptionHub, type Delivery } from '../../src/subscriptions/hub';
import { LookupHub } from '../../src/subscriptions/lookups';
import { bundledRegistry } from '../../src/views/load';
import type { Predicate } from '../../src/views/model';
import { FakeFeed, type ChangeInput } from '../helpers/fakeFeed';
import { waitFor } from '../helpers/waitFor';

const registry = bundledRegistry();
const riderRows: Predicate = permissionOf(viewOf(registry, 'driver_stats'), 'rider')!.rows;
const rider = (sub: string): Viewer => ({ sub, role: 'rider', claims: {} });

const trip = (trip_id: string, rider_id: string | null, driver_id: string | null, op: 'insert' | 'update' | 'delete' = 'update'): ChangeInput => ({
  view: 'trip_history', op, key: { trip_id },
  row: op === 'delete' ? null : { trip_id, rider_id, driver_id },
  old: null,
});
const stats = (driver_id: string): ChangeInput => ({
  view: 'driver_stats', op: 'update', key: { driver_id }, row: { driver_id, rating: '4.9', completed_trips: 3 }, old: null,
});

describe('lookup sets (subscriptions/lookups.ts)', () => {
  let db: PGlite;
  let feed: FakeFeed;
  let gate: Promise<void> | undefined;
  let queries: string[];
  const engine = (): Pick<Engine, 'query' | 'feed'> => ({
    feed,
    query: async <R>(sql: string) => {
      queries.push(sql);
      const rows = (await db.query<R>(sql)).rows;
      await gate;
      return rows;
    },
  });

  beforeAll(async () => {
    db = new PGlite();
    await db.exec(`CREATE TABLE trip_history (trip_id text PRIMARY KEY, rider_id text, driver_id text);
      INSERT INTO trip_history VALUES ('t1', 'r1', 'd1'), ('t2', 'r1', 'd1'), ('t9', 'r9', 'd9'), ('tn', 'r1', NULL), ('q', 'o''k', 'd''q');`);
  });

  afterAll(async () => {
    await db.close();
  });

  beforeEach(() => {
    feed = new FakeFeed();
    gate = undefined;
    queries = [];
  });

  it('a predicate without lookups loads nothing and holds nothing (one shared holder, nothing per subscription)', async () => {
    const lookups = new LookupHub(engine(), registry);
    const tripRows = permissionOf(viewOf(registry, 'trip_history'), 'rider')!.rows;
    const a = await lookups.acquire(tripRows, rider('r1'));
    const b = await lookups.acquire(tripRows, rider('r2'));
    expect(a).toBe(b);
    expect(queries).toEqual([]);
    expect(lookups.size).toBe(0);
    if (riderRows.kind !== 'lookup') throw new Error('driver_stats rider rows are a lookup');
    expect(a.has(riderRows, rider('r1'), 'd1')).toBe(false); // a set it does not hold matches nothing
    a.release();
    expect(rowTest(tripRows, rider('r1'), a)({ trip_id: 't1', rider_id: 'r1' })).toBe(true);
  });

  it('loads a viewer\'s set by query, then follows inserts, moves and deletes of the lookup view', async () => {
    const lookups = new LookupHub(engine(), registry);
    const viewer = rider('r1');
    const held = await lookups.acquire(riderRows, viewer);
    expect(queries).toEqual(["SELECT trip_id, driver_id FROM trip_history WHERE rider_id = 'r1' LIMIT 10001"]);
    const test = rowTest(riderRows, viewer, held);
    const can = (d: string) => test({ driver_id: d });
    expect([can('d1'), can('d2'), can('d9')]).toEqual([true, false, false]);

    feed.emit([trip('t3', 'r1', 'd2', 'insert')]);
    expect(can('d2')).toBe(true);
    feed.emit([trip('t3', 'r1', 'd3')]); // reassigned: d2 leaves, d3 comes
    expect([can('d2'), can('d3')]).toEqual([false, true]);
    feed.emit([trip('t1', 'r1', 'd1', 'delete')]); // t2 still has d1
    expect(can('d1')).toBe(true);
    feed.emit([trip('t2', 'r7', 'd1')]); // t2 moved to another rider: d1 gone
    expect(can('d1')).toBe(false);
    feed.emit([trip('t9', 'r9', 'd4')]); // another rider's trip: no effect
    expect(can('d4')).toBe(false);
    expect(test({ driver_id: null })).toBe(false);
    held.release();
    expect(lookups.size).toBe(0);
    expect(feed.listenerCount).toBe(0);
  });

  it('applies changes that arrive while the set loads, after the query', async () => {
    const lookups = new LookupHub(engine(), registry);
    let open!: () => void;
    gate = new Promise<void>((r) => (open = r));
    const viewer = rider('r1');
    const pending = lookups.acquire(riderRows, viewer);
    await waitFor(() => queries.length === 1 || undefined, 5_000);
    feed.emit([trip('t5', 'r1', 'd5', 'insert'), trip('t1', 'r1', null)]);
    open();
    const held = await pending;
    const test = rowTest(riderRows, viewer, held);
    expect([test({ driver_id: 'd5' }), test({ driver_id: 'd1' })]).toEqual([true, true]); // t2 still has d1
    held.release();
  });

  it('shares a set between subscriptions of the same claims, and answers only for sets it holds', async () => {
    const lookups = new LookupHub(engine(), registry);
    const viewer = rider('r1');
    const a = await lookups.acquire(riderRows, viewer);
    const b = await lookups.acquire(riderRows, rider('r1'));
    expect(lookups.size).toBe(1);
    expect(queries).toHaveLength(1);
    const lookup = riderRows as Extract<Predicate, { kind: 'lookup' }>;
    expect(a.has(lookup, viewer, 'd1')).toBe(true);
    expect(a.has(lookup, rider('r1'), 'd1')).toBe(true); // an equal viewer: the same set
    expect(a.has({ ...lookup }, viewer, 'd1')).toBe(true); // an equal lookup: the same set
    expect(a.has(lookup, rider('r9'), 'd9')).toBe(false); // a set this subscription does not hold
    a.release();
    a.release(); // idempotent
    expect(lookups.size).toBe(1);
    b.release();
    expect(lookups.size).toBe(0);
  });

  it('quotes claims in the set\'s query', async () => {
    const lookups = new LookupHub(engine(), registry);
    const viewer = rider("o'k");
    const held = await lookups.acquire(riderRows, viewer);
    expect(rowTest(riderRows, viewer, held)({ driver_id: "d'q" })).toBe(true);
    held.release();
  });

  it('is bounded: a set over maxRows refuses the subscription and holds nothing; past it later, it matches nothing', async () => {
    const small = new LookupHub(engine(), registry, { maxRows: 2 });
    await expect(small.acquire(riderRows, rider('r1'))).rejects.toMatchObject({ code: GatewayErrorCode.TOO_MANY_REQUESTS });
    expect(small.size).toBe(0);
    expect(feed.listenerCount).toBe(0);

    const three = new LookupHub(engine(), registry, { maxRows: 3 });
    const viewer = rider('r1');
    const held = await three.acquire(riderRows, viewer);
    const test = rowTest(riderRows, viewer, held);
    expect(test({ driver_id: 'd1' })).toBe(true);
    feed.emit([trip('t6', 'r1', 'd6', 'insert'), trip('t7', 'r1', 'd7', 'insert')]);
    expect(test({ driver_id: 'd1' })).toBe(false); // fails closed
    held.release();

    const one = new LookupHub(engine(), registry, { maxSets: 1 });
    const h1 = await one.acquire(riderRows, rider('r1'));
    await expect(one.acquire(riderRows, rider('r9'))).rejects.toMatchObject({ code: GatewayErrorCode.TOO_MANY_REQUESTS });
    h1.release();
  });

  it('updates the sets before the hub judges the same batch, and the hub releases them when the subscription ends', async () => {
    const lookups = new LookupHub(engine(), registry);
    const hub = new SubscriptionHub(lookups.feedThrough(feed));
    const viewer = rider('r1');
    const held = await lookups.acquire(riderRows, viewer);
    const it = await hub.subscribe({ view: 'driver_stats', allow: rowTest(riderRows, viewer, held), release: held.release });
    // One batch: the trip that makes d2 "my driver", then d2's stats change.
    feed.emit([trip('t8', 'r1', 'd2', 'insert'), stats('d2'), stats('d9')]);
    const first = (await it.next()).value as Delivery;
    expect(first).toMatchObject({ kind: 'change', event: { view: 'driver_stats', key: { driver_id: 'd2' } } });
    feed.emit([stats('d1')]);
    expect(((await it.next()).value as Delivery)).toMatchObject({ event: { key: { driver_id: 'd1' } } });
    await it.return?.();
    expect(lookups.size).toBe(0);
    hub.close();
    expect(feed.listenerCount).toBe(0);
  });

  it('releases when subscribing fails', async () => {
    const lookups = new LookupHub(engine(), registry);
    const hub = new SubscriptionHub(lookups.feedThrough(feed));
    const held = await lookups.acquire(riderRows, rider('r1'));
    await expect(hub.subscribe({ view: 'driver_stats', column: 'rating', value: 'x', allow: () => true, release: held.release }))
      .rejects.toMatchObject({ code: GatewayErrorCode.BAD_USER_INPUT });
    expect(lookups.size).toBe(0);
    hub.close();
  });
});
