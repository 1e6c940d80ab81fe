/**
 * The Kafka change feed: RisingWave sinks each view to topic `<topicPrefix><view>`
 * (src/kafka/topics.ts); this feed reads every partition of every view topic and turns records into
 * {@link ChangeEvent}s (decode.ts). Kafka is reached through src/kafka (client, resilient consumer,
 * topic names); partition tracking is partitions.ts, replay is replay.ts.
 *
 * Delivery model (docs/SUBSCRIPTIONS.md):
 * - Every gateway instance reads everything: each instance is the only member of its own consumer
 *   group (`<groupPrefix>-<hostname>-<random>`), so Kafka assigns it every partition. kafkajs 2.2.4
 *   has no manual assignment, so a group it is. The group never commits an offset: where to read is
 *   held in partitions.ts (per partition `next`) and imposed with seek() on every group join, so a
 *   rejoin after a broker outage continues exactly where delivery stopped. stop() deletes the group;
 *   a crashed instance leaves an empty group without offsets, which the broker's periodic group
 *   cleanup removes.
 * - Positions are `<topic>:<partition>:<offset>`, cursors cover offsets per partition (position.ts).
 * - Records at or below the last delivered offset of their partition (re-deliveries after a rejoin)
 *   are dropped, so per key (one key = one partition: RisingWave's sink partitions by key) changes
 *   never go back.
 * - Poison records are counted, logged, reported to `onPoison`, skipped: they never stop the feed.
 * - A batch is decoded in slices of {@link DECODE_SLICE_MS}: each slice's changes are delivered, then
 *   the event loop gets a turn (setImmediate) before the next, so the consumer's fetches and
 *   heartbeats, HTTP and the fan-out keep running during a large batch. Fetch and decode times go to
 *   legs.ts (`fetch` per fetch round, `decode` per batch).
 *
 * Lifecycle: {@link KafkaFeedState}. kafkajs restarts its consumer after retriable crashes; after a
 * non-retriable one src/kafka/resilientConsumer.ts builds a new consumer (same group) with backoff,
 * until stop().
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { fetchTopicOffsets } from '../../../kafka/admin';
import { createKafkaClient, type Admin, type EachBatchPayload, type Kafka } from '../../../kafka/client';
import { ResilientConsumer, type ConsumerPhase } from '../../../kafka/resilientConsumer';
import { viewOfTopic, viewTopic } from '../../../kafka/topics';
import { within } from '../../../util/within';
import type { ChangeEvent, ChangeFeed, ChangeListener, FeedPosition, FeedStatus, ReplayRequest } from '../../types';
import { GatewayError, errors } from '../../../errors';
import type { Logger } from '../../../log';
import { observeLeg } from '../../../legs';
import { decodeChange, PoisonMessageError } from './decode';
import { resolveFeedOptions, type KafkaFeedOptions, type PoisonReport, type ResolvedFeedOptions } from './options';
import { PartitionTracker } from './partitions';
import * as pos from './position';
import { FeedReplay, feedUnavailable, recentRecord, type RecentRecord, type SinkRecord } from './replay';

export type { KafkaFeedOptions, PoisonReport } from './options';

/** Decoding work (ms) on one batch before its decoded changes are delivered and the event loop gets a turn. @default 5 */
const DECODE_SLICE_MS = 5;

/** Lifecycle of the feed. `since` = Date.now() on entering the phase. */
export type KafkaFeedState =
  | { readonly phase: 'idle' }
  | { readonly phase: 'connecting'; readonly since: number }
  | { readonly phase: 'running'; readonly since: number }
  | { readonly phase: 'rebalancing'; readonly since: number }
  | { readonly phase: 'crashed'; readonly since: number; readonly error: string; readonly restarting: boolean }
  | { readonly phase: 'stopped' };

/** {@link ChangeFeed} over RisingWave's Kafka sinks. Call start() before use and stop() at shutdown. */
export class KafkaFeed implements ChangeFeed {
  /** This instance's consumer group (deleted by stop()). */
  readonly groupId: string;
  private readonly o: ResolvedFeedOptions;
  private readonly log: Logger;
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly consumer: ResilientConsumer;
  private readonly partitions: PartitionTracker;
  private readonly recent: pos.RecentChanges<RecentRecord>;
  private readonly replays: FeedReplay;
  private st: KafkaFeedState = { phase: 'idle' };
  private clusterId: string | undefined;
  private readonly listeners = new Set<ChangeListener>();
  private poisoned = 0;
  private duplicates = 0;
  private lagMs = 0;
  /** Last successful heartbeat or batch: the consumer is in contact with Kafka. */
  private lastContactAt = 0;
  private joined: (() => void) | undefined;

  constructor(options: KafkaFeedOptions) {
    this.o = resolveFeedOptions(options);
    this.log = this.o.log.child('feed.kafka');
    this.groupId = `${this.o.groupPrefix}-${hostname()}-${randomBytes(4).toString('hex')}`;
    const retry = { initialMs: this.o.initialRetryTimeMs, maxMs: this.o.maxRetryTimeMs, retries: this.o.retries };
    const { brokers, clientId, connectionTimeoutMs, requestTimeoutMs } = this.o;
    this.kafka = createKafkaClient({ brokers, clientId, connectionTimeoutMs, requestTimeoutMs, log: this.log, retry });
    this.admin = this.kafka.admin({ retry: { retries: this.o.retries } });
    this.recent = new pos.RecentChanges(this.o.recentLimit);
    this.partitions = new PartitionTracker((topic, partition, next) => this.recent.startAt(topic, partition, next));
    this.consumer = new ResilientConsumer({
      kafka: this.kafka, log: this.log, groupId: this.groupId, topics: this.o.views.map((v) => this.topicOf(v)),
      fromBeginning: true, retry, sessionTimeoutMs: this.o.sessionTimeoutMs, heartbeatIntervalMs: this.o.heartbeatIntervalMs,
      maxWaitTimeMs: this.o.maxWaitTimeMs, run: { autoCommit: false, eachBatch: (p) => this.onBatch(p) },
      onPhase: (p) => this.onConsumerPhase(p),
      // Not FETCH: kafkajs emits it after failed fetches too. A heartbeat is a coordinator round trip.
      onHeartbeat: () => void (this.lastContactAt = Date.now()),
      onFetch: (ms) => observeLeg('fetch', ms / 1000),
    });
    this.replays = new FeedReplay({
      kafka: this.kafka, admin: this.admin, partitions: this.partitions, recent: this.recent, log: this.log, groupId: this.groupId,
      replayTimeoutMs: this.o.replayTimeoutMs, maxWaitTimeMs: this.o.maxWaitTimeMs, retries: this.o.retries,
      decode: (view, topic, partition, m) => this.toEvent(view, topic, partition, m, false),
      isStopped: () => this.isStopped(),
    });
  }

  /** `kafka:<cluster id>:<topic prefix>`; the cluster id is known once start() resolved. */
  get id(): string {
    return `kafka:${this.clusterId ?? 'unknown'}:${this.o.topicPrefix}`;
  }

  /** Where the feed is in its lifecycle. */
  get state(): KafkaFeedState {
    return this.st;
  }

  /** Poison records skipped since start. */
  get poisonCount(): number {
    return this.poisoned;
  }

  /** Re-delivered records dropped since start (at or below the partition's delivered offset). */
  get duplicateCount(): number {
    return this.duplicates;
  }

  /**
   * Connects, checks that every view topic exists, reads each partition's end offset (delivery
   * starts there: head() covers everything before) and joins the group. Rejects with
   * ENGINE_UNAVAILABLE (retriable) when Kafka or a topic is missing; the feed is then stopped.
   */
  async start(): Promise<void> {
    if (this.st.phase !== 'idle') throw new Error(`KafkaFeed.start() in phase ${this.st.phase}`);
    this.setState({ phase: 'connecting', since: Date.now() });
    try {
      await within(this.connect(), this.o.startTimeoutMs, () =>
        feedUnavailable(`Kafka at ${this.o.brokers.join(',')} did not become ready within ${this.o.startTimeoutMs} ms`));
    } catch (err) {
      await this.stop();
      throw err instanceof GatewayError ? err : feedUnavailable(`Kafka feed failed to start: ${String(err)}`, err);
    }
  }

  private async connect(): Promise<void> {
    await this.admin.connect();
    this.clusterId = (await this.admin.describeCluster()).clusterId;
    const existing = new Set(await this.admin.listTopics());
    const topics = this.o.views.map((v) => this.topicOf(v));
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      throw feedUnavailable(`Kafka topics missing: ${missing.join(', ')}. Create the RisingWave sinks (or the topics) first.`);
    }
    for (const topic of topics) {
      for (const { partition, high } of await fetchTopicOffsets(this.admin, topic)) {
        this.partitions.track(topic, partition, Number(high));
      }
    }
    const joined = new Promise<void>((resolve) => (this.joined = resolve));
    await this.consumer.start();
    await joined;
  }

  /** The consumer's lifecycle, as the feed's: join, rebalance and crash (its own phases cover the rest). */
  private onConsumerPhase(p: ConsumerPhase): void {
    switch (p.phase) {
      case 'running':
        // Runs synchronously inside the join, before the first fetch of the new generation: every
        // partition resumes at `next`. Partitions unknown so far (added later) start at the earliest
        // offset (fromBeginning), which is what a cursor that does not name them means.
        for (const [topic, partitions] of Object.entries(p.assignment)) {
          for (const partition of partitions) {
            const state = this.partitions.get(topic, partition);
            if (state !== undefined) this.consumer.seek({ topic, partition, offset: String(state.next) });
          }
        }
        this.lastContactAt = Date.now();
        this.setState({ phase: 'running', since: Date.now() });
        this.joined?.();
        this.joined = undefined;
        return;
      case 'rebalancing':
        this.setState({ phase: 'rebalancing', since: Date.now() });
        return;
      case 'crashed': {
        if (this.isStopped()) return;
        this.setState({ phase: 'crashed', since: Date.now(), error: p.error.message, restarting: p.kafkajsRestarts });
        const fields = { err: p.error, restarting: p.kafkajsRestarts, groupId: this.groupId };
        if (p.kafkajsRestarts) this.log.warn(fields, 'Kafka consumer crashed; kafkajs restarts it');
        else this.log.error(fields, 'Kafka consumer crashed; rebuilding it');
        return;
      }
      default:
        return;
    }
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    this.lastContactAt = Date.now();
    const view = viewOfTopic(topic, this.o.topicPrefix) ?? topic;
    const state = this.partitions.get(topic, partition)
      ?? this.partitions.track(topic, partition, Number(batch.firstOffset() ?? batch.messages[0]?.offset ?? 0));
    const high = Number(batch.highWatermark);
    if (high < state.next) {
      // The log restarted below what was delivered: the topic was deleted and re-created.
      this.log.error({ topic, partition, high, next: state.next }, 'partition offsets went backwards (topic re-created?): following the new log');
      state.next = 0;
    }
    let events: ChangeEvent[] = [];
    let sliceStart = performance.now();
    let decodeMs = 0;
    for (const m of batch.messages) {
      if (performance.now() - sliceStart >= DECODE_SLICE_MS) {
        // A large batch goes out in slices: what is decoded is delivered, then fetches, heartbeats,
        // HTTP and the fan-out run before the next slice. Records of a partition stay in order.
        decodeMs += performance.now() - sliceStart;
        if (events.length > 0) this.deliver(events);
        events = [];
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
      if (!isRunning() || isStale()) break;
      const offset = Number(m.offset);
      if (offset < state.next) {
        this.duplicates++; // re-delivered after a rejoin or seek: already delivered
        continue;
      }
      const event = this.toEvent(view, topic, partition, m, true);
      state.next = offset + 1;
      if (event !== null) {
        events.push(event);
        this.recent.push({ topic, partition, offset }, recentRecord(partition, m));
      }
      resolveOffset(m.offset);
    }
    decodeMs += performance.now() - sliceStart;
    observeLeg('decode', decodeMs / 1000);
    state.high = Math.max(high, state.next);
    this.partitions.progressed();
    if (events.length > 0) this.deliver(events);
    await heartbeat();
  }

  /** Decodes one record; null for tombstones that carry no change and for poison (reported when `report`). */
  private toEvent(view: string, topic: string, partition: number, m: SinkRecord, report: boolean): ChangeEvent | null {
    const offset = Number(m.offset);
    try {
      const change = decodeChange(view, this.o.format, m, this.o.registry);
      if (change === null) return null;
      const ts = Number(m.timestamp);
      // One literal of fixed shape rather than a spread copy of the decoded change (runs per record).
      return {
        view: change.view, op: change.op, key: change.key, row: change.row, old: change.old,
        position: pos.formatPosition({ topic, partition, offset }), committedAt: ts > 0 ? ts : Date.now(),
      };
    } catch (err) {
      if (!(err instanceof PoisonMessageError)) throw err; // decodeChange throws nothing else
      if (report) this.reportPoison({ topic, partition, offset, reason: err.reason, detail: err.detail });
      return null;
    }
  }

  private reportPoison(report: PoisonReport): void {
    this.poisoned++;
    this.log.warn({ ...report }, 'poison record skipped');
    try {
      this.o.onPoison?.(report);
    } catch (err) {
      this.log.error({ err }, 'onPoison threw');
    }
  }

  private deliver(batch: ChangeEvent[]): void {
    this.lagMs = Math.max(0, Date.now() - batch[batch.length - 1]!.committedAt);
    for (const l of this.listeners) {
      try {
        l(batch);
      } catch (err) {
        this.log.error({ err }, 'change listener threw');
      }
    }
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /**
   * Pages of the changes of a view after a cursor up to what this feed has delivered, filtered while
   * read (replay.ts). When the cursor is ahead of this instance (made by a faster one), waits for
   * delivery to catch up (bounded by replayTimeoutMs). CURSOR_EXPIRED when Kafka no longer holds a
   * needed offset or the cursor is past the log's end.
   */
  async *replay(request: ReplayRequest): AsyncGenerator<readonly ChangeEvent[]> {
    const { view } = request;
    const after = pos.decodeCursor(request.after);
    if (!this.o.views.includes(view)) throw errors.badInput(`this feed does not carry view ${view}`);
    if (this.st.phase === 'idle' || this.st.phase === 'stopped') throw feedUnavailable('the Kafka feed is not running');
    yield* this.replays.replay(view, this.topicOf(view), after, request);
  }

  isAfter(position: FeedPosition, cursor: FeedPosition): boolean {
    return pos.isAfter(position, cursor);
  }

  advance(cursor: FeedPosition, position: FeedPosition): FeedPosition {
    return pos.advance(cursor, position);
  }

  head(): FeedPosition {
    return this.partitions.head();
  }

  status(): FeedStatus {
    const pending = this.partitions.pending();
    const silentMs = Date.now() - this.lastContactAt;
    const ready = this.st.phase === 'running' && silentMs < this.o.staleAfterMs;
    if (ready) return { ready, lagMs: this.lagMs, pending };
    const detail = this.st.phase === 'running' ? `no contact with Kafka for ${silentMs} ms` : `Kafka feed is ${this.st.phase}`;
    return { ready, lagMs: this.lagMs, pending, detail };
  }

  /** Leaves and deletes the consumer group, disconnects. Idempotent; bounded by stopTimeoutMs. */
  async stop(): Promise<void> {
    if (this.st.phase === 'stopped') return;
    this.setState({ phase: 'stopped' });
    this.listeners.clear();
    this.partitions.wakeAll();
    const steps = async () => {
      const launched = this.consumer.launched;
      await this.consumer.stop(); // cancels a pending rebuild; logs a failed disconnect
      if (launched) {
        await this.admin.deleteGroups([this.groupId]).catch((err: unknown) => this.log.warn({ err, groupId: this.groupId }, 'deleting the consumer group failed'));
      }
      await this.admin.disconnect();
    };
    await within(steps(), this.o.stopTimeoutMs, () => new Error('stop timed out')).catch((err: unknown) =>
      this.log.warn({ err, timeoutMs: this.o.stopTimeoutMs }, 'Kafka feed stop did not finish in time'));
  }

  /** A method, not an inline check: TypeScript keeps narrowing `this.st` across awaits. */
  private isStopped(): boolean {
    return this.st.phase === 'stopped';
  }

  private topicOf(view: string): string {
    return viewTopic(view, this.o.topicPrefix);
  }

  private setState(next: KafkaFeedState): void {
    if (next.phase !== this.st.phase) this.log.info({ from: this.st.phase, to: next.phase }, 'feed state');
    this.st = next;
  }
}
