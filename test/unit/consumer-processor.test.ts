/**
 * The consumer core without Kafka or MariaDB (src/consumer/processor.ts, errors.ts, deadLetter.ts,
 * consumer.ts option checks): a fake pool records what each transaction did.
 */
import type { Pool } from 'mysql2/promise';
import {
  backoffMs,
  classifyError,
  ConsumerErrorCode,
  DeadLetterReason,
  encodeSinkRecord,
  isConsumerError,
  permanentError,
  readDeadLetter,
  resolveConsumerOptions,
  retriableError,
  type EventConsumerOptions,
  type EventHandler,
} from '../../src/consumer';
import { deadLetterMessage } from '../../src/consumer/deadLetter';
import { processRecord, type DeadLetter, type ProcessorDeps, type SourceRecord } from '../../src/consumer/processor';
import { GatewayError, GatewayErrorCode } from '../../src/errors';
import { silentLogger } from '../../src/log';
import type { EventType } from '../../src/outbox/events';

/** A pool whose connections log statements; `fail(n)` makes the n-th getConnection's CLAIM throw `err`. */
function fakePool() {
  const log: string[] = [];
  const claimed = new Set<string>();
  const failures = new Map<number, unknown>();
  let connections = 0;
  const pool = {
    async getConnection() {
      const n = ++connections;
      const pending: string[] = [];
      let pendingId: string | undefined;
      return {
        beginTransaction: async () => void log.push(`#${n} begin`),
        execute: async (sql: string, params: unknown[]) => {
          if (sql.startsWith('INSERT INTO processed_events')) {
            const f = failures.get(n);
            if (f !== undefined) throw f;
            if (claimed.has(params[0] as string)) throw Object.assign(new Error('Duplicate entry'), { code: 'ER_DUP_ENTRY' });
            pendingId = params[0] as string;
          }
          pending.push(`${sql.split(' ').slice(0, 3).join(' ')} ${JSON.stringify(params)}`);
          return [{ affectedRows: 1 }, []];
        },
        query: async () => [[], []],
        commit: async () => {
          if (pendingId !== undefined) claimed.add(pendingId);
          log.push(`#${n} commit`, ...pending.map((p) => `#${n}   ${p}`));
        },
        rollback: async () => void log.push(`#${n} rollback`),
        release: () => void log.push(`#${n} release`),
        destroy: () => void log.push(`#${n} destroy`),
      };
    },
  };
  return { pool: pool as unknown as Pool, log, fail: (n: number, err: unknown) => failures.set(n, err) };
}

const ROW = {
  id: '0b7c6f1e-4a7b-4d64-9a57-2f1f0c1d9e01', aggregate_type: 'Ride', aggregate_id: 'ride-1', event_type: 'RideRequested',
  payload: { rider_id: 'rider-1', pickup: { lat: 52.5, lng: 13.4 }, dropoff: { lat: 52.6, lng: 13.5 } },
  occurred_at: '2026-10-05T08:14:02.493000Z', trace_context: 'trace-1',
};
const RECORD: SourceRecord = { topic: 'events.RideRequested', partition: 2, offset: '41', timestamp: '1791208987123', ...encodeSinkRecord(ROW) };

function deps(pool: Pool, handler: EventHandler<'RideRequested'>, extra: Partial<ProcessorDeps> = {}) {
  const letters: DeadLetter[] = [];
  const d: ProcessorDeps = {
    db: pool, topicPrefix: 'events.', handlers: new Map<EventType, EventHandler>([['RideRequested', handler as unknown as EventHandler]]),
    retry: { retries: 0, initialMs: 1, maxMs: 2 }, maxAttempts: 3, log: silentLogger,
    deadLetter: async (l) => void letters.push(l), signal: new AbortController().signal, random: () => 0.5, ...extra,
  };
  return { d, letters };
}

const noHeartbeat = async () => undefined;

describe('processRecord', () => {
  it('claims the event id, runs the handler and commits in one transaction; emit defaults aggregate id and trace context', async () => {
    const { pool, log } = fakePool();
    const { d } = deps(pool, async ({ tx, emit }) => {
      await tx.execute('INSERT INTO ledger VALUES (?)', ['x']);
      await emit({ type: 'DriverAssigned', payload: { driver_id: 'd-1', eta_seconds: 60 } });
    });
    const out = await processRecord(d, RECORD, noHeartbeat);
    expect(out).toMatchObject({ kind: 'handled', attempts: 1, emitted: 1 });
    expect(log[0]).toBe('#1 begin');
    expect(log[1]).toBe('#1 commit');
    expect(log[2]).toBe(`#1   INSERT INTO processed_events ["${ROW.id}","RideRequested"]`);
    expect(log[3]).toBe('#1   INSERT INTO ledger ["x"]');
    expect(log[4]).toMatch(/^#1 {3}INSERT INTO outbox \[".{36}","Ride","ride-1","DriverAssigned","\{\\"driver_id\\":\\"d-1\\",\\"eta_seconds\\":60\}",null,"trace-1"\]$/);
    expect(log[5]).toBe('#1 release');
  });

  it('skips a redelivered event without calling the handler', async () => {
    const { pool, log } = fakePool();
    let calls = 0;
    const { d } = deps(pool, async () => void calls++);
    await processRecord(d, RECORD, noHeartbeat);
    expect(await processRecord(d, RECORD, noHeartbeat)).toMatchObject({ kind: 'duplicate', attempts: 1 });
    expect(calls).toBe(1);
    expect(log.slice(-3)).toEqual(['#2 begin', '#2 rollback', '#2 release']);
  });

  it('retries a retriable failure with the rollback, dead-letters after maxAttempts', async () => {
    const { pool, log } = fakePool();
    const { d, letters } = deps(pool, async () => {
      throw retriableError('busy');
    });
    const out = await processRecord(d, RECORD, noHeartbeat);
    expect(out).toMatchObject({ kind: 'dead-lettered', letter: { reason: DeadLetterReason.RETRIES_EXHAUSTED, attempts: 3, eventId: ROW.id } });
    expect(letters[0]!.detail).toBe('ConsumerError: busy');
    expect(log.filter((l) => l.endsWith('rollback'))).toHaveLength(3);
    expect(log.some((l) => l.endsWith('commit'))).toBe(false);
  });

  it('dead-letters a non-retriable failure (including BAD_OUTBOX_PAYLOAD from emit) on the first attempt', async () => {
    const { pool } = fakePool();
    const { d, letters } = deps(pool, async ({ emit }) => {
      await emit({ type: 'FareCalculated', payload: { amount: 12.5, currency: 'EUR', distance_km: '1' } as never });
    });
    expect(await processRecord(d, RECORD, noHeartbeat)).toMatchObject({ kind: 'dead-lettered', letter: { reason: DeadLetterReason.HANDLER_FAILED, attempts: 1 } });
    expect(letters[0]!.detail).toContain('payload.amount');
  });

  it('waits out a database outage without spending attempts, and never reuses a broken connection', async () => {
    const { pool, log, fail } = fakePool();
    const lost = Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true });
    for (const n of [1, 2, 3, 4]) fail(n, lost); // more outages than maxAttempts
    let beats = 0;
    const { d } = deps(pool, async () => undefined);
    expect(await processRecord(d, RECORD, async () => void beats++)).toMatchObject({ kind: 'handled', attempts: 1 });
    expect(log.filter((l) => l.endsWith('destroy'))).toEqual(['#1 destroy', '#2 destroy', '#3 destroy', '#4 destroy']);
    expect(beats).toBe(4); // heartbeats between attempts keep the group membership
  });

  it('gives up without resolving when stop aborts a backoff', async () => {
    const { pool } = fakePool();
    const abort = new AbortController();
    const { d, letters } = deps(pool, async () => {
      abort.abort();
      throw new Error('flaky');
    }, { signal: abort.signal, retry: { retries: 0, initialMs: 60_000, maxMs: 60_000 } });
    expect(await processRecord(d, RECORD, noHeartbeat)).toEqual({ kind: 'aborted', attempts: 1 });
    expect(letters).toHaveLength(0);
  });

  it('dead-letters undecodable records with attempts 0 and the original bytes', async () => {
    const { pool } = fakePool();
    const { d, letters } = deps(pool, async () => undefined);
    const bad = { ...RECORD, value: Buffer.from('not json') };
    expect(await processRecord(d, bad, noHeartbeat)).toMatchObject({ kind: 'dead-lettered', letter: { reason: DeadLetterReason.BAD_JSON, attempts: 0 } });
    const msg = deadLetterMessage(letters[0]!, 'driver', new Date('2026-10-05T10:00:00Z'));
    expect(msg.value).toBe(bad.value);
    const read = readDeadLetter({ key: msg.key, value: msg.value, headers: Object.fromEntries(Object.entries(msg.headers).map(([k, v]) => [k, Buffer.from(v)])) });
    expect(read).toMatchObject({
      reason: DeadLetterReason.BAD_JSON, service: 'driver', attempts: 0, eventId: undefined, eventType: 'RideRequested', failedAt: '2026-10-05T10:00:00.000Z',
      original: { topic: 'events.RideRequested', partition: 2, offset: '41', timestamp: '1791208987123' },
    });
  });
});

describe('error classes and backoff', () => {
  it('classifies errors like kafkajs: explicit retriable flags win, lost connections are infrastructure, the rest is retried', () => {
    expect(classifyError(retriableError('x'))).toBe('retriable');
    expect(classifyError(permanentError('x'))).toBe('permanent');
    expect(classifyError(new GatewayError(GatewayErrorCode.BAD_OUTBOX_PAYLOAD, 'x'))).toBe('permanent');
    expect(classifyError(new Error('wrapped', { cause: permanentError('inner') }))).toBe('permanent');
    expect(classifyError(Object.assign(new Error('deadlock'), { code: 'ER_LOCK_DEADLOCK' }))).toBe('retriable');
    expect(classifyError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe('infrastructure');
    expect(classifyError(Object.assign(new Error('gone'), { fatal: true }))).toBe('infrastructure');
    expect(classifyError(new TypeError('x is undefined'))).toBe('retriable');
  });

  it('doubles the backoff up to maxMs, with ±20% jitter', () => {
    const p = { initialMs: 100, maxMs: 1_000 };
    expect([1, 2, 3, 4, 5].map((a) => backoffMs(a, p, () => 0.5))).toEqual([100, 200, 400, 800, 1_000]);
    expect(backoffMs(1, p, () => 0)).toBe(80);
    expect(backoffMs(1, p, () => 0.999999)).toBe(120);
  });
});

describe('consumer options', () => {
  const base: EventConsumerOptions = { service: 'driver', brokers: ['k:9092'], db: {} as Pool, log: silentLogger, retry: { retries: 5, initialMs: 300, maxMs: 30_000 }, maxAttempts: 5 };
  const err = (o: Partial<EventConsumerOptions>) => {
    try {
      resolveConsumerOptions({ ...base, ...o });
    } catch (e) {
      expect(isConsumerError(e, ConsumerErrorCode.BAD_CONFIG)).toBe(true);
      return (e as Error).message;
    }
    return 'no error';
  };

  it('names the group and the dead-letter topic after the service', () => {
    expect(resolveConsumerOptions(base)).toMatchObject({ groupId: 'driver', deadLetterTopic: 'dlq.driver', topicPrefix: 'events.', partitionsConsumedConcurrently: 3 });
  });

  it('refuses bad combinations with a message that says what to change', () => {
    expect(err({ heartbeatIntervalMs: 20_000 })).toContain('heartbeatIntervalMs (20000) must be at most sessionTimeoutMs / 3');
    expect(err({ service: 'has space' })).toContain('service must be');
    expect(err({ maxAttempts: 0 })).toContain('maxAttempts');
    expect(err({ retry: { retries: 1, initialMs: 5_000, maxMs: 100 } })).toContain('initialMs (5000) must not exceed retry.maxMs');
    expect(err({ deadLetterTopic: 'events.RideRequested' })).toContain('must not be an event topic');
    expect(err({ rebalanceTimeoutMs: 1_000 })).toContain('rebalanceTimeoutMs');
    expect(err({ brokers: [] })).toContain('brokers');
  });
});
