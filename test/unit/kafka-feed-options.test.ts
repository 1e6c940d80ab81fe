/**
 * Options of the Kafka change feed (src/engine/risingwave/feed/options.ts): defaults, and BAD_CONFIG
 * for numbers that are not whole or out of range (config/env.ts wholeOption) and for bad combinations.
 */
import { resolveFeedOptions, type KafkaFeedOptions } from '../../src/engine/risingwave/feed/options';
import { GatewayErrorCode, isGatewayError } from '../../src/errors';
import { bundledRegistry } from '../../src/views/load';

const base: KafkaFeedOptions = { brokers: ['k:9092'] };

function refusal(o: Partial<KafkaFeedOptions>): string {
  try {
    resolveFeedOptions({ ...base, ...o });
  } catch (e) {
    expect(isGatewayError(e, GatewayErrorCode.BAD_CONFIG)).toBe(true);
    return (e as Error).message;
  }
  return 'no error';
}

describe('KafkaFeed options', () => {
  it('applies the documented defaults', () => {
    expect(resolveFeedOptions(base)).toMatchObject({
      topicPrefix: 'view.', views: bundledRegistry().views.map((v) => v.name), format: 'upsert', groupPrefix: 'wavegate', clientId: 'wavegate',
      recentLimit: 10_000, startTimeoutMs: 30_000, stopTimeoutMs: 10_000, replayTimeoutMs: 30_000, staleAfterMs: 30_000,
      maxWaitTimeMs: 1_000, sessionTimeoutMs: 30_000, heartbeatIntervalMs: 3_000, connectionTimeoutMs: 3_000,
      requestTimeoutMs: 30_000, initialRetryTimeMs: 300, maxRetryTimeMs: 30_000, retries: 5,
    });
    expect(resolveFeedOptions({ ...base, recentLimit: 0, retries: 0 })).toMatchObject({ recentLimit: 0, retries: 0 });
  });

  it('refuses numbers that are not whole or out of range, naming the option', () => {
    expect(refusal({ recentLimit: -1 })).toBe('kafka: recentLimit must be a whole number >= 0, got -1');
    expect(refusal({ retries: 1.5 })).toContain('kafka: retries must be a whole number');
    expect(refusal({ startTimeoutMs: 0 })).toContain('kafka: startTimeoutMs must be a whole number >= 1');
    expect(refusal({ maxRetryTimeMs: Number.NaN })).toContain('maxRetryTimeMs');
  });

  it('refuses bad combinations and names', () => {
    expect(refusal({ brokers: [] })).toContain('brokers');
    expect(refusal({ topicPrefix: 'view/' })).toContain('topicPrefix');
    expect(refusal({ views: [] })).toContain('views');
    expect(refusal({ heartbeatIntervalMs: 4_000, sessionTimeoutMs: 10_000 })).toContain('heartbeatIntervalMs (4000)');
    expect(refusal({ staleAfterMs: 500, maxWaitTimeMs: 1_000 })).toContain('staleAfterMs (500)');
  });
});
