/**
 * The context of a shared websocket subscription (createSocketContext in src/graphql/context.ts):
 * its per-unit pieces are made on first use and dropped at the end of each unit, so an idle group
 * holds no deadline, engine wrapper or loaders; reads go through the scheduler under the current
 * unit's deadline; the hub sees the viewer's subject and socket.
 */
import type { Viewer } from '../../src/auth/viewer';
import { createSocketContext, type ContextDeps } from '../../src/graphql/context';
import { silentLogger } from '../../src/log';
import type { SubscribeScope } from '../../src/subscriptions/replay';
import type { SubscriptionFilter } from '../../src/subscriptions/subscriber';

const viewer: Viewer = { sub: 'rider-1', role: 'rider', claims: {} };

function deps(): { deps: ContextDeps; signals: Array<AbortSignal | undefined>; scopes: SubscribeScope[] } {
  const signals: Array<AbortSignal | undefined> = [];
  const scopes: SubscribeScope[] = [];
  const d = {
    engine: { kind: 'fake', feed: {}, query: async () => [] },
    scheduler: {
      run: async <T>(_key: string, signal: AbortSignal | undefined, task: () => Promise<T>): Promise<T> => {
        signals.push(signal);
        return task();
      },
    },
    hub: {
      subscribe: async (_filter: SubscriptionFilter, scope: SubscribeScope) => {
        scopes.push(scope);
        return [][Symbol.iterator]();
      },
    },
    registry: { views: [] },
    limits: { requestTimeoutMs: 60_000 },
    log: silentLogger,
  };
  return { deps: d as unknown as ContextDeps, signals, scopes };
}

describe('socket context', () => {
  it('gives each unit of work a fresh deadline, and reads run under the current one', async () => {
    const { deps: d, signals } = deps();
    const ctx = createSocketContext(d, viewer, '7');
    ctx.beginUnit();
    const first = ctx.deadline;
    await ctx.engine.query('select 1');
    ctx.endUnit();
    ctx.beginUnit();
    const second = ctx.deadline;
    await ctx.engine.query('select 2');
    ctx.endUnit();
    expect(second).not.toBe(first);
    expect(signals).toEqual([first.signal, second.signal]);
    expect(ctx.transport).toBe('ws');
  });

  it('makes a unit\'s deadline on first read, counting from the unit\'s start', () => {
    const { deps: d } = deps();
    const ctx = createSocketContext(d, viewer, '7');
    const limit = (d as unknown as { limits: { requestTimeoutMs: number } }).limits.requestTimeoutMs;
    ctx.beginUnit();
    const started = performance.now();
    while (performance.now() - started < 5); // a unit that has run for at least 5 ms before reading its deadline
    const { timeoutMs } = ctx.deadline;
    expect(timeoutMs).toBeLessThanOrEqual(limit - 5);
    expect(timeoutMs).toBeGreaterThan(0);
    expect(ctx.deadline.timeoutMs).toBe(timeoutMs); // the same deadline for the rest of the unit
    ctx.endUnit();
  });

  it('keeps its request id, shares one logger between contexts and tells the hub its subject and socket', async () => {
    const { deps: d, scopes } = deps();
    const a = createSocketContext(d, viewer, '7');
    const b = createSocketContext(d, viewer);
    expect(a.requestId).toBe(a.requestId);
    expect(a.requestId).not.toBe(b.requestId);
    expect(a.log).toBe(b.log);
    await a.hub.subscribe({ view: 'trips', allow: () => true });
    await b.hub.subscribe({ view: 'trips', allow: () => true });
    expect(scopes).toEqual([{ subject: 'rider:rider-1', socket: '7' }, { subject: 'rider:rider-1' }]);
  });
});
