/**
 * ResilientConsumer (src/kafka/resilientConsumer.ts) against a fake kafkajs client: phase
 * transitions, the crash -> rebuild backoff (doubling, capped, reset by a join), and stop() ending
 * everything. Jest's fake timers stand in for the backoff delays, so nothing here depends on speed.
 * The real consumer on a real broker is covered by kafka-feed, kafka-restart and consumer tests.
 */
import type { ConsumerConfig, ConsumerRunConfig } from '../../src/kafka/client';
import { ResilientConsumer, type ConsumerHandle, type ConsumerPhase, type ResilientConsumerOptions } from '../../src/kafka/resilientConsumer';
import { recordingLogger, type RecordingLogger } from '../../src/log';

type Handler = (event: { payload: unknown }) => void;

/** What a kafkajs consumer does that ResilientConsumer uses, recorded for assertions. */
class FakeConsumer {
  readonly events = { GROUP_JOIN: 'join', REBALANCING: 'rebalancing', CRASH: 'crash', HEARTBEAT: 'heartbeat' };
  readonly calls: string[] = [];
  readonly seeks: Array<{ topic: string; partition: number; offset: string }> = [];
  subscription: unknown;
  runConfig: ConsumerRunConfig | undefined;
  private readonly handlers = new Map<string, Handler[]>();

  constructor(readonly config: ConsumerConfig, private readonly connectError: Error | undefined, private readonly runGate: Promise<void>) {}

  on(event: string, handler: Handler): () => void {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), handler]);
    return () => undefined;
  }

  async connect(): Promise<void> {
    this.calls.push('connect');
    if (this.connectError !== undefined) throw this.connectError;
  }

  async subscribe(s: unknown): Promise<void> {
    this.calls.push('subscribe');
    this.subscription = s;
  }

  async run(c: ConsumerRunConfig): Promise<void> {
    this.calls.push('run');
    this.runConfig = c;
    await this.runGate;
  }

  async disconnect(): Promise<void> {
    this.calls.push('disconnect');
  }

  seek(target: { topic: string; partition: number; offset: string }): void {
    this.seeks.push(target);
  }

  emit(event: keyof FakeConsumer['events'], payload: unknown): void {
    for (const h of this.handlers.get(this.events[event]) ?? []) h({ payload });
  }

  crash(restart: boolean, message = 'boom'): void {
    this.emit('CRASH', { error: new Error(message), groupId: 'g', restart });
  }

  join(assignment: Record<string, number[]> = { t: [0, 1] }): void {
    this.emit('GROUP_JOIN', { memberAssignment: assignment });
  }
}

/** A fake client: its n-th consumer fails to connect when `connectErrors[n]` is set. */
function fakeKafka(connectErrors: Array<Error | undefined> = [], runGate: Promise<void> = Promise.resolve()) {
  const made: FakeConsumer[] = [];
  return {
    made,
    consumer(config: ConsumerConfig): ConsumerHandle {
      const c = new FakeConsumer(config, connectErrors[made.length], runGate);
      made.push(c);
      return c as unknown as ConsumerHandle;
    },
  };
}

const RUN: ConsumerRunConfig = { autoCommit: false, eachBatch: async () => undefined };

function make(kafka: ReturnType<typeof fakeKafka>, overrides: Partial<ResilientConsumerOptions> = {}) {
  const log: RecordingLogger = recordingLogger();
  const phases: ConsumerPhase[] = [];
  const consumer = new ResilientConsumer({
    kafka, log, groupId: 'g', topics: ['t'], fromBeginning: true, retry: { retries: 3, initialMs: 100, maxMs: 1_000 },
    sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, maxWaitTimeMs: 100, run: RUN,
    onPhase: (p) => phases.push(p), ...overrides,
  });
  return { consumer, log, phases, names: () => phases.map((p) => p.phase) };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('ResilientConsumer', () => {
  it('creates, connects, subscribes and runs one consumer as configured, and reports join and rebalance', async () => {
    const kafka = fakeKafka();
    const { consumer, phases, names } = make(kafka, { rebalanceTimeoutMs: 10_000 });
    expect(consumer.phase).toEqual({ phase: 'idle' });
    expect(consumer.launched).toBe(false);
    await consumer.start();
    const [c] = kafka.made;
    expect(kafka.made).toHaveLength(1);
    expect(c!.calls).toEqual(['connect', 'subscribe', 'run']);
    expect(c!.config).toMatchObject({
      groupId: 'g', sessionTimeout: 6_000, heartbeatInterval: 500, rebalanceTimeout: 10_000, maxWaitTimeInMs: 100, allowAutoTopicCreation: false,
      retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 3 },
    });
    expect(c!.subscription).toEqual({ topics: ['t'], fromBeginning: true });
    expect(c!.runConfig).toBe(RUN);
    expect(consumer.launched).toBe(true);
    expect(phases[0]).toMatchObject({ phase: 'connecting', attempt: 0 });

    c!.join({ t: [0, 2] });
    expect(consumer.phase).toMatchObject({ phase: 'running', assignment: { t: [0, 2] } });
    c!.emit('REBALANCING', {});
    c!.join();
    expect(names()).toEqual(['connecting', 'running', 'rebalancing', 'running']);
  });

  it('lets onPhase seek inside the join, before the first fetch', async () => {
    const kafka = fakeKafka();
    const holder: { consumer?: ResilientConsumer } = {};
    const { consumer } = make(kafka, {
      onPhase: (p) => {
        if (p.phase === 'running') for (const partition of p.assignment['t'] ?? []) holder.consumer!.seek({ topic: 't', partition, offset: '7' });
      },
    });
    holder.consumer = consumer;
    await consumer.start();
    kafka.made[0]!.join({ t: [0, 1] });
    expect(kafka.made[0]!.seeks).toEqual([{ topic: 't', partition: 0, offset: '7' }, { topic: 't', partition: 1, offset: '7' }]);
  });

  it('leaves a crash kafkajs restarts from to kafkajs: no rebuild', async () => {
    const kafka = fakeKafka();
    const { consumer, names, log } = make(kafka);
    await consumer.start();
    kafka.made[0]!.join();
    kafka.made[0]!.crash(true, 'coordinator moved');
    expect(consumer.phase).toMatchObject({ phase: 'crashed', kafkajsRestarts: true, error: expect.objectContaining({ message: 'coordinator moved' }) });
    await jest.advanceTimersByTimeAsync(60_000);
    expect(kafka.made).toHaveLength(1);
    kafka.made[0]!.join(); // kafkajs' restart rejoins
    expect(names()).toEqual(['connecting', 'running', 'crashed', 'running']);
    expect(log.lines.filter((l) => l.msg.startsWith('rebuilding'))).toEqual([]);
  });

  it('rebuilds after a crash kafkajs gives up on, after initialMs, in the same group; a join resets the backoff', async () => {
    const kafka = fakeKafka();
    const { consumer, names, log } = make(kafka);
    await consumer.start();
    kafka.made[0]!.join();
    kafka.made[0]!.crash(false);
    expect(consumer.phase).toMatchObject({ phase: 'backoff', attempt: 1, delayMs: 100 });
    await jest.advanceTimersByTimeAsync(99);
    expect(kafka.made).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(kafka.made).toHaveLength(2);
    expect(kafka.made[1]!.config.groupId).toBe('g');
    expect(kafka.made[1]!.calls).toEqual(['connect', 'subscribe', 'run']);
    expect(consumer.phase).toMatchObject({ phase: 'connecting', attempt: 1 });
    kafka.made[1]!.join();
    expect(names()).toEqual(['connecting', 'running', 'crashed', 'backoff', 'connecting', 'running']);

    kafka.made[1]!.crash(false); // joined in between: back to the first delay
    expect(consumer.phase).toMatchObject({ phase: 'backoff', attempt: 1, delayMs: 100 });
    expect(log.lines.filter((l) => l.msg === 'rebuilding the Kafka consumer').map((l) => [l.level, l.fields])).toEqual([
      ['warn', { delayMs: 100, attempt: 1 }], ['warn', { delayMs: 100, attempt: 1 }],
    ]);
  });

  it('doubles the delay after each failed rebuild, up to maxMs', async () => {
    const down = new Error('broker down');
    const kafka = fakeKafka([undefined, down, down, down, down, down, down]);
    const { consumer, phases, log } = make(kafka);
    await consumer.start();
    kafka.made[0]!.crash(false);
    for (const ms of [100, 200, 400, 800, 1_000, 1_000]) await jest.advanceTimersByTimeAsync(ms);
    expect(kafka.made).toHaveLength(7); // the first, six failed rebuilds...
    expect(phases.filter((p) => p.phase === 'backoff').map((p) => (p.phase === 'backoff' ? p.delayMs : 0))).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(kafka.made).toHaveLength(8); // ...and a seventh, which connects
    kafka.made[7]!.join();
    expect(consumer.phase.phase).toBe('running');
    expect(log.lines.filter((l) => l.msg === 'rebuilding the Kafka consumer failed')).toHaveLength(6);
    expect(log.lines.find((l) => l.msg === 'rebuilding the Kafka consumer failed')?.fields).toEqual({ err: down });
  });

  it('propagates a failed start() without rebuilding', async () => {
    const kafka = fakeKafka([new Error('no broker')]);
    const { consumer } = make(kafka);
    await expect(consumer.start()).rejects.toThrow('no broker');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(kafka.made).toHaveLength(1);
    await consumer.stop();
    expect(kafka.made[0]!.calls).toEqual(['connect', 'disconnect']);
    await expect(consumer.start()).resolves.toBeUndefined(); // stopped: a no-op
    expect(kafka.made).toHaveLength(1);
  });

  it('stop() cancels a pending rebuild, tells kafkajs not to restart, ignores later events, and is idempotent', async () => {
    const kafka = fakeKafka();
    const { consumer, names } = make(kafka);
    await consumer.start();
    const restartOnFailure = kafka.made[0]!.config.retry!.restartOnFailure!;
    await expect(restartOnFailure(new Error('x'))).resolves.toBe(true);
    kafka.made[0]!.crash(false);
    await consumer.stop();
    await consumer.stop();
    expect(kafka.made[0]!.calls).toEqual(['connect', 'subscribe', 'run', 'disconnect']);
    await expect(restartOnFailure(new Error('x'))).resolves.toBe(false);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(kafka.made).toHaveLength(1);
    kafka.made[0]!.crash(false);
    kafka.made[0]!.join();
    expect(names()).toEqual(['connecting', 'crashed', 'backoff', 'stopped']);
  });

  it('disconnects a consumer whose launch was still running when stop() came', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const kafka = fakeKafka([], gate);
    const { consumer } = make(kafka);
    const starting = consumer.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(kafka.made[0]!.calls).toEqual(['connect', 'subscribe', 'run']);
    await consumer.stop();
    open();
    await starting;
    expect(kafka.made[0]!.calls).toEqual(['connect', 'subscribe', 'run', 'disconnect', 'disconnect']);
    expect(consumer.phase.phase).toBe('stopped');
  });

  it('logs a throwing onPhase and carries on', async () => {
    const kafka = fakeKafka();
    const { consumer, log } = make(kafka, { onPhase: () => { throw new Error('listener bug'); } });
    await consumer.start();
    kafka.made[0]!.crash(false);
    expect(consumer.phase.phase).toBe('backoff');
    expect(log.lines.filter((l) => l.msg === 'onPhase threw').map((l) => l.fields['phase'])).toEqual(['connecting', 'crashed', 'backoff']);
  });

  it('reports heartbeats', async () => {
    const kafka = fakeKafka();
    let beats = 0;
    const { consumer } = make(kafka, { onHeartbeat: () => void beats++ });
    await consumer.start();
    kafka.made[0]!.emit('HEARTBEAT', {});
    kafka.made[0]!.emit('HEARTBEAT', {});
    expect(beats).toBe(2);
  });
});
