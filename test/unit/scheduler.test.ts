import { QueryScheduler } from '../../src/engine/scheduler';
import { GatewayErrorCode, errors, isGatewayError } from '../../src/errors';

/** A task the test finishes by hand; `started` says whether the scheduler ran it. */
function gate(name: string, log: string[]) {
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  const t = {
    started: false,
    finish,
    run: async () => {
      t.started = true;
      log.push(name);
      await done;
      return name;
    },
  };
  return t;
}

/** Lets queued microtasks (grants, task starts) run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('QueryScheduler', () => {
  it('serves waiting keys round-robin: a backlog of one viewer delays another by one query, not by the backlog', async () => {
    const s = new QueryScheduler({ concurrency: 1, perKey: 2 });
    const order: string[] = [];
    const attacker = Array.from({ length: 50 }, (_, i) => gate(`a${i}`, order));
    const results = attacker.map((t) => s.run('attacker', undefined, t.run));
    await settle();
    const victim = gate('v', order);
    const victimResult = s.run('victim', undefined, victim.run);
    await settle();
    expect(s.active).toBe(1);
    expect(s.waiting).toBe(50);
    attacker[0]!.finish();
    await settle();
    attacker[1]!.finish(); // the attacker's next turn
    await settle();
    expect(order).toEqual(['a0', 'a1', 'v']);
    victim.finish();
    await expect(victimResult).resolves.toBe('v');
    for (const t of attacker) t.finish();
    await Promise.all(results);
    expect(order).toHaveLength(51);
    expect([s.active, s.waiting]).toEqual([0, 0]);
  });

  it('runs at most `perKey` queries of one key while others may use the remaining slots', async () => {
    const s = new QueryScheduler({ concurrency: 4, perKey: 2 });
    const order: string[] = [];
    const a = Array.from({ length: 4 }, (_, i) => gate(`a${i}`, order));
    const b = gate('b', order);
    const all = [...a.map((t) => s.run('a', undefined, t.run)), s.run('b', undefined, b.run)];
    await settle();
    expect(order).toEqual(['a0', 'a1', 'b']);
    expect([s.active, s.waiting]).toEqual([3, 2]);
    a[0]!.finish();
    await settle();
    expect(order).toEqual(['a0', 'a1', 'b', 'a2']);
    for (const t of [...a, b]) t.finish();
    await Promise.all(all);
  });

  it('refuses a key over its queue limit with TOO_MANY_REQUESTS, others still queue', async () => {
    const s = new QueryScheduler({ concurrency: 1, perKey: 1, queueLimit: 3 });
    const order: string[] = [];
    const held = gate('held', order);
    const first = s.run('a', undefined, held.run);
    const queued = Array.from({ length: 3 }, (_, i) => gate(`q${i}`, order));
    const waits = queued.map((t) => s.run('a', undefined, t.run));
    const over = await s.run('a', undefined, async () => 'never').catch((e: unknown) => e);
    expect(isGatewayError(over, GatewayErrorCode.TOO_MANY_REQUESTS)).toBe(true);
    expect((over as { details: unknown }).details).toEqual({ limit: 'viewerQueueLimit', max: 3 });
    const other = gate('other', order);
    const otherRun = s.run('b', undefined, other.run);
    for (const t of [held, ...queued, other]) t.finish();
    await Promise.all([first, ...waits, otherRun]);
    expect(order).toEqual(['held', 'q0', 'other', 'q1', 'q2']);
  });

  it('never starts a query whose deadline passed while it waited, and rejects it with the deadline\'s reason', async () => {
    const s = new QueryScheduler({ concurrency: 1 });
    const order: string[] = [];
    const held = gate('held', order);
    const running = s.run('a', undefined, held.run);
    const controller = new AbortController();
    const late = gate('late', order);
    const waiting = s.run('b', controller.signal, late.run);
    await settle();
    controller.abort(errors.requestTimeout(50));
    const err = await waiting.catch((e: unknown) => e);
    expect(isGatewayError(err, GatewayErrorCode.REQUEST_TIMEOUT)).toBe(true);
    expect(s.waiting).toBe(0);
    held.finish();
    await running;
    expect(late.started).toBe(false);
    // Already aborted: refused before queueing.
    await expect(s.run('c', controller.signal, async () => 'x')).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT' });
    expect([s.active, s.waiting]).toEqual([0, 0]);
  });
});
