/**
 * The benches' reading of the gateway's fan-out legs (bench/harness.ts legState/legDelta): per leg,
 * the observations between two readings, their total and mean, and histogram_quantile-style p50/p99;
 * null when the gateway has no such histogram (older commits).
 */
import { Histogram, Registry } from 'prom-client';
import { LEG_HISTOGRAM, legDelta, legState } from '../../bench/harness';

describe('bench fan-out legs', () => {
  it('is null when the registry has no leg histogram', async () => {
    const registry = new Registry();
    expect(await legState(registry)).toBeNull();
    expect(legDelta(null, null)).toBeNull();
  });

  it('sums what was observed between two readings, per leg, with quantiles from the buckets', async () => {
    const registry = new Registry();
    const h = new Histogram({ name: LEG_HISTOGRAM, help: 'legs', labelNames: ['leg'] as const, buckets: [0.001, 0.01, 0.1], registers: [registry] });
    h.observe({ leg: 'execute' }, 0.05); // before the phase: not counted
    const from = await legState(registry);
    for (let i = 0; i < 100; i++) h.observe({ leg: 'execute' }, i < 98 ? 0.0005 : 0.05);
    h.observe({ leg: 'write' }, 0.005);
    const d = legDelta(from, await legState(registry))!;
    expect(d['execute']!.count).toBe(100);
    expect(d['execute']!.totalMs).toBeCloseTo(98 * 0.5 + 2 * 50, 1);
    // 98 of 100 in the first bucket (≤ 1 ms): p50 interpolates inside it, p99 lands in (10 ms, 100 ms].
    expect(d['execute']!.p50Ms).toBeCloseTo((50 / 98) * 1, 2);
    expect(d['execute']!.p99Ms!).toBeGreaterThan(10);
    expect(d['execute']!.p99Ms!).toBeLessThanOrEqual(100);
    expect(d['write']).toMatchObject({ count: 1, p50Ms: expect.any(Number) });
  });
});
