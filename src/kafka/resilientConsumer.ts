/**
 * A consumer group member that survives crashes: the one crash -> rebuild-with-backoff loop, used by
 * the change feed (src/engine/risingwave/feed/kafkaFeed.ts) and the consumer toolkit
 * (src/consumer/eventSource.ts).
 *
 * kafkajs restarts its consumer by itself after a retriable crash. After a crash it will not restart
 * from (`restart: false`, e.g. a non-retriable protocol error), this builds a new consumer in the
 * same group after `retry.initialMs * 2^(n-1)` ms, capped at `retry.maxMs`; a failed rebuild tries
 * again with the next delay, and a group join resets the count. stop() ends it all: no restart, no
 * rebuild, and a consumer still being launched is disconnected as soon as its launch returns.
 *
 * Lifecycle ({@link ConsumerPhase}), reported to `onPhase` on every change:
 *
 *   idle → connecting → running ⇄ rebalancing
 *   any → crashed → (kafkajs restarts) → running
 *                 → backoff → connecting → running        (rebuild; a failed launch: → backoff)
 *   any → stopped (final)
 */
import type { Consumer, ConsumerConfig, ConsumerRunConfig } from 'kafkajs';
import type { Logger } from '../log';
import type { KafkaRetry } from './client';

/** Partitions assigned to this member, per topic (kafkajs' `memberAssignment`). */
export type Assignment = Readonly<Record<string, readonly number[]>>;

/** The part of a kafkajs consumer used here; a unit test's fake implements just this. */
export type ConsumerHandle = Pick<Consumer, 'connect' | 'subscribe' | 'run' | 'disconnect' | 'seek' | 'on' | 'events'>;

/** Makes consumers: a client from createKafkaClient (client.ts), or a test's fake. */
export interface ConsumerFactory {
  consumer(config: ConsumerConfig): ConsumerHandle;
}

/** Where the member is. `since` = Date.now() on entering the phase. */
export type ConsumerPhase =
  | { readonly phase: 'idle' }
  /** A consumer is being created, connected, subscribed; `attempt` 0 = start(), n = nth rebuild. */
  | { readonly phase: 'connecting'; readonly since: number; readonly attempt: number }
  /** Joined the group with `assignment`. */
  | { readonly phase: 'running'; readonly since: number; readonly assignment: Assignment }
  | { readonly phase: 'rebalancing'; readonly since: number }
  /** kafkajs reported a crash; `kafkajsRestarts` false = this consumer rebuilds it (backoff next). */
  | { readonly phase: 'crashed'; readonly since: number; readonly error: Error; readonly kafkajsRestarts: boolean }
  /** Waiting `delayMs` before rebuild number `attempt`. */
  | { readonly phase: 'backoff'; readonly since: number; readonly attempt: number; readonly delayMs: number }
  | { readonly phase: 'stopped'; readonly since: number };

/** Options of {@link ResilientConsumer}. Durations are milliseconds. */
export interface ResilientConsumerOptions {
  readonly kafka: ConsumerFactory;
  /** Rebuilds and failed disconnects are logged here. */
  readonly log: Logger;
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a partition without a committed (or sought) offset starts. */
  readonly fromBeginning: boolean;
  /** kafkajs request retries of the consumer, and the rebuild backoff (`initialMs` doubling to `maxMs`). */
  readonly retry: KafkaRetry;
  readonly sessionTimeoutMs: number;
  /** Called after each fetch round with its duration (ms; kafkajs' FETCH event, failed fetches included). */
  readonly onFetch?: (durationMs: number) => void;
  readonly heartbeatIntervalMs: number;
  /** @default kafkajs' (60_000) */
  readonly rebalanceTimeoutMs?: number;
  /** Longest a fetch waits on the broker for new records. */
  readonly maxWaitTimeMs: number;
  /** Handed to kafkajs `consumer.run()` on every (re)build: eachBatch or eachMessage, commit settings. */
  readonly run: ConsumerRunConfig;
  /**
   * Every phase change, synchronously. On `running` it runs inside kafkajs' group join, before the
   * first fetch of the new generation: the place to {@link ResilientConsumer.seek}.
   */
  readonly onPhase?: (next: ConsumerPhase, previous: ConsumerPhase) => void;
  /** Each heartbeat the group coordinator answered. */
  readonly onHeartbeat?: () => void;
}

/** One group member, rebuilt after crashes kafkajs does not recover from. start() once, stop() at the end. */
export class ResilientConsumer {
  private st: ConsumerPhase = { phase: 'idle' };
  private current: ConsumerHandle | undefined;
  private rebuilds = 0;
  private rebuildTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ResilientConsumerOptions) {}

  /** The current phase. */
  get phase(): ConsumerPhase {
    return this.st;
  }

  /** True once a kafkajs consumer was created (it may have joined the group). */
  get launched(): boolean {
    return this.current !== undefined;
  }

  /**
   * Creates the consumer, connects, subscribes and runs it. Resolves once kafkajs runs — before the
   * group join, which `onPhase` reports as `running`. Rejects when any of that fails (no rebuild:
   * the caller decides); the caller then calls stop(). A no-op after stop().
   */
  async start(): Promise<void> {
    if (this.isStopped()) return; // stopped before it started (the owner's start timed out)
    if (this.st.phase !== 'idle') throw new Error(`ResilientConsumer.start() in phase ${this.st.phase}`);
    await this.launch(0);
  }

  /** Moves the current consumer's position in a partition (kafkajs `seek`); no-op before start(). */
  seek(target: { topic: string; partition: number; offset: string }): void {
    this.current?.seek(target);
  }

  /**
   * Final: cancels a pending rebuild and disconnects the current consumer (kafkajs finishes the
   * batch in progress and, when auto-committing, commits resolved offsets). Never rejects; idempotent.
   */
  async stop(): Promise<void> {
    if (this.isStopped()) return;
    this.setPhase({ phase: 'stopped', since: Date.now() });
    clearTimeout(this.rebuildTimer);
    await this.current?.disconnect().catch((err: unknown) => this.o.log.warn({ err }, 'consumer disconnect failed'));
  }

  private async launch(attempt: number): Promise<void> {
    if (this.isStopped()) return;
    this.setPhase({ phase: 'connecting', since: Date.now(), attempt });
    const { retry } = this.o;
    const consumer = this.o.kafka.consumer({
      groupId: this.o.groupId,
      sessionTimeout: this.o.sessionTimeoutMs,
      heartbeatInterval: this.o.heartbeatIntervalMs,
      rebalanceTimeout: this.o.rebalanceTimeoutMs,
      maxWaitTimeInMs: this.o.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: retry.initialMs, maxRetryTime: retry.maxMs, retries: retry.retries, restartOnFailure: async () => !this.isStopped() },
    });
    this.current = consumer;
    this.listen(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [...this.o.topics], fromBeginning: this.o.fromBeginning });
    await consumer.run(this.o.run);
    // stop() may have run meanwhile (the owner's start timed out): it disconnected nothing or an older consumer.
    if (this.isStopped()) await consumer.disconnect();
  }

  private listen(consumer: ConsumerHandle): void {
    const { GROUP_JOIN, REBALANCING, CRASH, HEARTBEAT } = consumer.events;
    consumer.on(GROUP_JOIN, ({ payload }) => {
      if (this.isStopped()) return;
      this.rebuilds = 0;
      this.setPhase({ phase: 'running', since: Date.now(), assignment: payload.memberAssignment });
    });
    consumer.on(REBALANCING, () => {
      if (!this.isStopped()) this.setPhase({ phase: 'rebalancing', since: Date.now() });
    });
    consumer.on(HEARTBEAT, () => this.o.onHeartbeat?.());
    const { FETCH } = consumer.events;
    const onFetch = this.o.onFetch;
    if (FETCH !== undefined && onFetch !== undefined) consumer.on(FETCH, ({ payload }) => onFetch(payload.duration));
    consumer.on(CRASH, ({ payload }) => {
      if (this.isStopped()) return;
      this.setPhase({ phase: 'crashed', since: Date.now(), error: payload.error, kafkajsRestarts: payload.restart });
      if (!payload.restart) this.scheduleRebuild();
    });
  }

  /** After a crash kafkajs will not restart from: a new consumer in the same group, with backoff. */
  private scheduleRebuild(): void {
    const delayMs = Math.min(this.o.retry.maxMs, this.o.retry.initialMs * 2 ** this.rebuilds++);
    const attempt = this.rebuilds;
    this.o.log.warn({ delayMs, attempt }, 'rebuilding the Kafka consumer');
    this.setPhase({ phase: 'backoff', since: Date.now(), attempt, delayMs });
    this.rebuildTimer = setTimeout(() => {
      if (this.isStopped()) return;
      this.launch(attempt).catch((err: unknown) => {
        this.o.log.error({ err }, 'rebuilding the Kafka consumer failed');
        if (!this.isStopped()) this.scheduleRebuild();
      });
    }, delayMs);
  }

  /** A method, not an inline check: TypeScript keeps narrowing `this.st` across awaits. */
  private isStopped(): boolean {
    return this.st.phase === 'stopped';
  }

  private setPhase(next: ConsumerPhase): void {
    const previous = this.st;
    this.st = next;
    try {
      this.o.onPhase?.(next, previous);
    } catch (err) {
      this.o.log.error({ err, phase: next.phase }, 'onPhase threw');
    }
  }
}
