/**
 * The shared fan-out's member side (src/graphql/fanout.ts) with a fake socket whose unsent bytes the
 * test sets: frames are the shared payload behind a per-member prefix; a socket over the high-water
 * mark buffers with the hub's slow-consumer policy (queue, then conflation per key, then one
 * RESYNC), flushes when it drains, and never holds back the other members. Plus the permission
 * scope that decides who may share (src/subscriptions/scope.ts).
 */
import { HIGH_WATER, Member, SocketFanout, sharedPayload, type FanoutSocket, type MemberGroup, type Fanout } from '../../src/graphql/fanout';
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
