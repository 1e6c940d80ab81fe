/**
 * The shared fan-out's member side (src/graphql/fanout.ts) with a fake socket whose unsent bytes the
 * test sets: frames are the shared payload behind a per-member prefix; a socket over the high-water
 * mark buffers with the hub's slow-consumer policy (queue, then conflation per key, then one
 * RESYNC), flushes when it drains, and never holds back the other members. Plus the permission
 * scope that decides who may share (src/subscriptions/scope.ts). And a group's life: a group whose
 * stream fails ends its own members with `error` while other groups go on, and one whose stream
 * ends completes them.
 */
import { GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString, parse } from 'graphql';
import { RESYNC_ROOT, TAKE_READY, WAIT_READY, type ChangeStream } from '../../src/graphql/changes';
import type { SocketContext } from '../../src/graphql/context';
import { Group, HIGH_WATER, Member, SocketFanout, sharedPayload, type FanoutSocket, type MemberGroup, type Fanout } from '../../src/graphql/fanout';
import { silentLogger } from '../../src/log';
import { waitFor } from '../helpers/waitFor';
import { permissionScope, scopeClaims } from '../../src/subscriptions/scope';
import { bundledRegistry } from '../../src/views/load';

class FakeSocket implements FanoutSocket {
  bufferedAmount = 0;
  isOpen = true;
  readonly frames: string[] = [];
  private readonly drained: Array<() => void> = [];
  /** A socket that fills up tells once when it drained, as a net.Socket emits 'drain'. */
  watchDrain = true;
  sendShared(head: string, headBytes: number, bodies: readonly Buffer[]): void {
    expect(Buffer.byteLength(head)).toBe(headBytes);
    for (const body of bodies) this.frames.push(head + body.toString());
  }
  sendText(frame: string): void {
    this.frames.push(frame);
  }
  onceDrained(cb: () => void): void {
    if (this.watchDrain) this.drained.push(cb);
  }
  /** The kernel took everything: unsent bytes drop to 0 and the drain listeners run. */
  drain(): void {
    this.bufferedAmount = 0;
    for (const cb of this.drained.splice(0)) cb();
  }
}

function group(queueLimit: number, conflateLimit: number): MemberGroup & { resyncs: number } {
  return {
    field: 'tripUpdated',
    limits: { queueLimit, conflateLimit, countShared: () => undefined },
    log: silentLogger,
    resyncs: 0,
    resyncPayload(reason: string) {
      this.resyncs++;
      return sharedPayload(JSON.stringify({ data: { tripUpdated: { kind: 'RESYNC', reason } } }));
    },
    remove: () => undefined,
  };
}

const hub = {} as Fanout; // members here never leave through the hub
const payload = (trip: string, n: number) => sharedPayload(`{"data":{"tripUpdated":{"tripId":"${trip}","n":${n}}}}`);
const parsed = (frames: string[]) => frames.map((f) => JSON.parse(f) as { id: string; type: string; payload: { data: { tripUpdated: { tripId?: string; n?: number; kind?: string } } } });

describe('shared fan-out members', () => {
  it('writes the shared payload behind each member’s own id, as graphql-ws frames', () => {
    const g = group(10, 10);
    const a = new FakeSocket();
    const b = new FakeSocket();
    const ma = new Member(new SocketFanout(a, hub), 'a"1', g);
    const mb = new Member(new SocketFanout(b, hub), '7', g);
    const p = payload('t1', 1);
    ma.deliver(p, 't1');
    mb.deliver(p, 't1');
    expect(parsed(a.frames)).toEqual([{ id: 'a"1', type: 'next', payload: JSON.parse(p.json) }]);
    expect(parsed(b.frames)).toEqual([{ id: '7', type: 'next', payload: JSON.parse(p.json) }]);
  });

  it('a run of changes goes to a member in one write, in order; a backed-up member keeps them under its policy instead', () => {
    const g = group(10, 10);
    const a = new FakeSocket();
    const writes: number[] = [];
    const sendShared = a.sendShared.bind(a);
    a.sendShared = (head, headBytes, bodies) => {
      writes.push(bodies.length);
      sendShared(head, headBytes, bodies);
    };
    const ma = new Member(new SocketFanout(a, hub), 'a', g);
    ma.deliverMany([payload('t1', 1), payload('t2', 2), payload('t1', 3)], ['t1', 't2', 't1']);
    expect(writes).toEqual([3]);
    expect(parsed(a.frames).map((f) => [f.id, f.payload.data.tripUpdated.n])).toEqual([['a', 1], ['a', 2], ['a', 3]]);
    a.bufferedAmount = HIGH_WATER;
    ma.deliverMany([payload('t4', 4), payload('t5', 5)], ['t4', 't5']);
    expect(writes).toEqual([3]);
    expect(ma.buffered).toBe(2);
    a.drain();
    expect(parsed(a.frames).map((f) => f.payload.data.tripUpdated.n)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a backed-up socket queues, then conflates per key, and gets everything latest-per-key after it drains; the other member gets every change meanwhile', () => {
    const g = group(2, 10);
    const slow = new FakeSocket();
    const fast = new FakeSocket();
    const ms = new Member(new SocketFanout(slow, hub), 's', g);
    const mf = new Member(new SocketFanout(fast, hub), 'f', g);
    ms.deliver(payload('t1', 0), 't1');
    slow.bufferedAmount = HIGH_WATER; // the client stopped reading
    const changes: Array<[string, number]> = [['t1', 1], ['t2', 2], ['t1', 3], ['t3', 4], ['t2', 5]];
    for (const [trip, n] of changes) {
      ms.deliver(payload(trip, n), trip);
      mf.deliver(payload(trip, n), trip);
    }
    expect(parsed(fast.frames).map((f) => f.payload.data.tripUpdated.n)).toEqual([1, 2, 3, 4, 5]);
    expect(slow.frames).toHaveLength(1);
    slow.drain();
    // Queue (1, 2), then the conflated latest per key in order of their latest change (t1: 3, t3: 4, t2: 5).
    expect(parsed(slow.frames).map((f) => f.payload.data.tripUpdated.n)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(ms.backlog).toBeUndefined();
    ms.deliver(payload('t9', 6), 't9');
    expect(parsed(slow.frames).at(-1)?.payload.data.tripUpdated.n).toBe(6);
    expect(g.resyncs).toBe(0);
  });

  it('past conflateLimit keys the backlog is dropped for one RESYNC, followed by the live changes (flushed when a poll finds the socket drained)', async () => {
    const g = group(1, 2);
    const slow = new FakeSocket();
    const ms = new Member(new SocketFanout(slow, hub), 's', g);
    slow.bufferedAmount = HIGH_WATER;
    slow.watchDrain = false; // the bytes pending are another writer's: no 'drain' comes for the fan-out
    for (let n = 0; n < 4; n++) ms.deliver(payload(`t${n}`, n), `t${n}`); // queue 1, conflate 2, the 4th key overflows
    expect(g.resyncs).toBe(1);
    ms.deliver(payload('t7', 7), 't7');
    slow.drain(); // no drain listener of the fan-out: the poll finds it
    await waitFor(() => slow.frames.length === 2);
    expect(parsed(slow.frames).map((f) => f.payload.data.tripUpdated.kind ?? f.payload.data.tripUpdated.n)).toEqual(['RESYNC', 7]);
  });
});

describe('permission scope', () => {
  const registry = bundledRegistry();
  const viewer = (role: string, sub: string) => ({ role, sub, claims: {} });

  it('separates riders (their predicates read sub) and roles (masks and columns are per role); ops share one', () => {
    expect(scopeClaims(registry, 'rider')).toContain('sub');
    expect(permissionScope(registry, viewer('rider', 'a'))).not.toBe(permissionScope(registry, viewer('rider', 'b')));
    expect(permissionScope(registry, viewer('ops', 'o1'))).toBe(permissionScope(registry, viewer('ops', 'o2')));
    expect(permissionScope(registry, viewer('analyst', 'x'))).not.toBe(permissionScope(registry, viewer('ops', 'x')));
    expect(permissionScope(registry, viewer('driver', 'a'))).not.toBe(permissionScope(registry, viewer('rider', 'a')));
  });
});

/** A ChangeStream the test feeds: roots pushed are ready; it wakes a pending wait as the hub's subscriber does. */
class FakeStream implements ChangeStream {
  private readonly roots: Array<Record<string, unknown>> = [];
  private wake: (() => void) | undefined;
  private done = false;
  failTake = false;
  push(...roots: Array<Record<string, unknown>>): void {
    this.roots.push(...roots);
    this.tell();
  }
  end(): void {
    this.done = true;
    this.tell();
  }
  private tell(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
  [RESYNC_ROOT](): Record<string, unknown> {
    return { n: -1 };
  }
  [TAKE_READY](max: number): Array<Record<string, unknown>> {
    if (this.failTake) throw new Error('the stream broke');
    return this.roots.splice(0, max);
  }
  [WAIT_READY](): Promise<void> {
    if (this.roots.length > 0 || this.done) return Promise.resolve();
    return new Promise((resolve) => (this.wake = resolve));
  }
  next(): Promise<IteratorResult<Record<string, unknown>>> {
    return Promise.resolve({ done: true, value: undefined });
  }
  return(): Promise<IteratorResult<Record<string, unknown>>> {
    this.end();
    return Promise.resolve({ done: true, value: undefined });
  }
  [Symbol.asyncIterator](): AsyncIterableIterator<Record<string, unknown>> {
    return this;
  }
}

describe('a group’s life', () => {
  const streams = new Map<string, FakeStream>();
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { x: { type: GraphQLInt } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        tick: {
          type: GraphQLInt,
          args: { s: { type: GraphQLString } },
          subscribe: (_root: unknown, args: { s: string }) => streams.get(args.s),
          resolve: (root: unknown) => (root as { n: number }).n,
        },
      },
    }),
  });
  const context = { beginUnit: () => undefined, endUnit: () => undefined } as unknown as SocketContext;
  const limits = { queueLimit: 10, conflateLimit: 10, countShared: () => undefined };
  const formatErrors = (errs: readonly Error[]) => errs.map((e) => ({ message: e.message }));

  /** A started group on stream `name` (holding `ready` before the start), with one member `id` on a fake socket. */
  async function started(name: string, id = '1', ready: Array<Record<string, unknown>> = []): Promise<{ stream: FakeStream; socket: FakeSocket; group: Group }> {
    const stream = new FakeStream();
    stream.push(...ready);
    streams.set(name, stream);
    const args = { schema, document: parse('subscription ($s: String) { tick(s: $s) }'), variableValues: { s: name }, contextValue: context };
    const group = new Group(name, 'tick', args, limits, silentLogger, formatErrors, { ended: () => undefined });
    const socket = new FakeSocket();
    group.members.add(new Member(new SocketFanout(socket, hub), id, group));
    await group.start();
    return { stream, socket, group };
  }
  const frames = (s: FakeSocket) => s.frames.map((f) => JSON.parse(f) as { id: string; type: string; payload?: unknown });

  it('runs each ready group; one whose stream throws ends its own members with `error`, and the other groups go on', async () => {
    const a = await started('a');
    const b = await started('b');
    const c = await started('c');
    a.stream.push({ n: 1 }, { n: 2 });
    await waitFor(() => a.socket.frames.length === 2);
    expect(frames(a.socket).map((f) => f.payload)).toEqual([{ data: { tick: 1 } }, { data: { tick: 2 } }]);
    // b fails, in the same turn as a change for c
    b.stream.failTake = true;
    b.stream.push({ n: 3 });
    c.stream.push({ n: 4 });
    await waitFor(() => c.socket.frames.length === 1 && b.socket.frames.length === 1);
    expect(frames(b.socket)).toEqual([{ id: '1', type: 'error', payload: [{ message: 'the stream broke' }] }]);
    expect(frames(c.socket)).toEqual([{ id: '1', type: 'next', payload: { data: { tick: 4 } } }]);
    // a and c wait again; b is over
    a.stream.push({ n: 5 });
    c.stream.push({ n: 6 });
    await waitFor(() => a.socket.frames.length === 3 && c.socket.frames.length === 2);
    expect(b.socket.frames).toHaveLength(1);
  });

  it('a stream that ends completes its members; changes ready before the start are run at once', async () => {
    // { n: 7 } is ready before the group starts: its first wait settles at once
    const { stream, socket, group: g } = await started('early', '9', [{ n: 7 }]);
    await waitFor(() => socket.frames.length === 1);
    stream.end();
    await waitFor(() => socket.frames.length === 2);
    expect(frames(socket)).toEqual([{ id: '9', type: 'next', payload: { data: { tick: 7 } } }, { id: '9', type: 'complete' }]);
    expect(g.members.size).toBe(0);
  });
});
