/**
 * The Kafka change feed: RisingWave sinks each view to topic `<topicPrefix><view>`; this feed reads
 * every partition of every view topic and turns records into {@link ChangeEvent}s (decode.ts).
 * The change feed's only kafkajs importer (STYLE.md practice 1); the consumer toolkit has its own
 * (src/consumer/kafka.ts), and both route kafkajs logs through src/kafka/log.ts.
 *
 * Delivery model (docs/SUBSCRIPTIONS.md):
 * - Every gateway instance reads everything: each instance is the only member of its own consumer
 *   group (`<groupPrefix>-<hostname>-<random>`), so Kafka assigns it every partition. kafkajs 2.2.4
 *   has no manual assignment, so a group it is. The group never commits an offset: where to read is
 *   held here (per partition `next`) and imposed with seek() on every group join, so a rejoin after
 *   a broker outage continues exactly where delivery stopped. stop() deletes the group; a crashed
 *   instance leaves an empty group without offsets, which the broker's periodic group cleanup removes.
 * - Positions are `<topic>:<partition>:<offset>`, cursors cover offsets per partition (position.ts).
 * - Records at or below the last delivered offset of their partition (re-deliveries after a rejoin)
 *   are dropped, so per key (one key = one partition, risingwave.md §3.4) changes never go back.
 * - Poison records are counted, logged, reported to `onPoison`, skipped: they never stop the feed.
 * - replay() answers from the last `recentLimit` changes in memory when they reach back to the
 *   cursor, otherwise reads the topic with a short-lived consumer up to what was delivered.
 *
 * Lifecycle: {@link KafkaFeedState}. kafkajs restarts its consumer after retriable crashes; after a
 * non-retriable one this feed builds a new consumer (same group) with backoff, until stop().
 */
import { within } from '../../../util/within';
import { fetchTopicOffsets } from '../../../kafka/offsets';
import { kafkaLogCreator } from '../../../kafka/log';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Kafka, logLevel, type Consumer, type EachBatchPayload, type KafkaMessage } from 'kafkajs';
import type { ChangeEvent, ChangeFeed, ChangeListener, FeedPosition, FeedStatus } from '../../types';
import { GatewayError, GatewayErrorCode, errors } from '../../../errors';
import { silentLogger, type Logger } from '../../../log';
import { VIEW_LIST, type ViewName } from '../../../views/registry';
import { decodeChange, PoisonMessageError, type PoisonReason, type SinkFormat } from './decode';
import * as pos from './position';

/** Options of {@link KafkaFeed}. Durations are milliseconds. */
export interface KafkaFeedOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: readonly string[];
  /** A view's topic is `topicPrefix + view name`. @default 'view.' */
  topicPrefix?: string;
  /** Views to follow; their topics must exist. @default every view in the registry */
  views?: readonly ViewName[];
  /** How the RisingWave sinks encode (FORMAT UPSERT|DEBEZIUM ENCODE JSON). @default 'upsert' */
  format?: SinkFormat;
  /** Consumer group ids are `<groupPrefix>-<hostname>-<random>`. @default 'wavegate' */
  groupPrefix?: string;
  /** Kafka client id. @default 'wavegate' */
  clientId?: string;
  /** Root logger; the feed logs under `feed.kafka`, kafkajs under `feed.kafka.kafkajs.<namespace>`. @default silentLogger */
  log?: Logger;
  /** Called for each poison record (after it is counted and logged). */
  onPoison?: (report: PoisonReport) => void;
  /** Delivered changes kept in memory for replay; 0 = every replay reads Kafka. @default 10_000 */
  recentLimit?: number;
  /** Bound on start(): connect, check topics, first group join. @default 30_000 */
  startTimeoutMs?: number;
  /** Bound on stop(): leave the group, delete it, disconnect. @default 10_000 */
  stopTimeoutMs?: number;
  /** Bound on one replay, including waiting for this instance to catch up with the cursor. @default 30_000 */
  replayTimeoutMs?: number;
  /** status().ready turns false when the group coordinator has not answered a heartbeat (and no batch arrived) for this long. @default 30_000 */
  staleAfterMs?: number;
  /** Longest a fetch waits on the broker for new records (also bounds consumer shutdown). @default 1_000 */
  maxWaitTimeMs?: number;
  /** Consumer group session timeout. @default 30_000 */
  sessionTimeoutMs?: number;
  /** Consumer heartbeat interval; must be below sessionTimeoutMs / 3. @default 3_000 */
  heartbeatIntervalMs?: number;
  /** TCP connect timeout per broker. @default 3_000 */
  connectionTimeoutMs?: number;
  /** Kafka request timeout. @default 30_000 */
  requestTimeoutMs?: number;
  /** kafkajs retry: first backoff. @default 300 */
  initialRetryTimeMs?: number;
  /** kafkajs retry: longest backoff (also caps the feed's own consumer-rebuild backoff). @default 30_000 */
  maxRetryTimeMs?: number;
  /** kafkajs retry: attempts before a request fails (the consumer then restarts). @default 5 */
  retries?: number;
}

/** One poison record, as logged and handed to `onPoison`. */
export interface PoisonReport {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly reason: PoisonReason;
  readonly detail: string;
}

/** Lifecycle of the feed (practice 5). `since` = Date.now() on entering the phase. */
export type KafkaFeedState =
  | { readonly phase: 'idle' }
  | { readonly phase: 'connecting'; readonly since: number }
  | { readonly phase: 'running'; readonly since: number }
  | { readonly phase: 'rebalancing'; readonly since: number }
  | { readonly phase: 'crashed'; readonly since: number; readonly error: string; readonly restarting: boolean }
  | { readonly phase: 'stopped' };

/** Per partition: the next offset to deliver and the latest high watermark seen. */
interface PartitionState {
  next: number;
  high: number;
}

type Resolved = Required<Omit<KafkaFeedOptions, 'onPoison' | 'views'>> & Pick<KafkaFeedOptions, 'onPoison'> & { views: readonly ViewName[] };

/** The kafkajs client configured for Wavegate: logs through `log`, never the console. Exported for tests. */
export function createKafkaClient(o: {
  brokers: readonly string[];
  clientId?: string;
  log: Logger;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  initialRetryTimeMs?: number;
  maxRetryTimeMs?: number;
  retries?: number;
}): Kafka {
  const logCreator = kafkaLogCreator(o.log);
  return new Kafka({
    brokers: [...o.brokers],
    clientId: o.clientId ?? 'wavegate',
    connectionTimeout: o.connectionTimeoutMs ?? 3_000,
    requestTimeout: o.requestTimeoutMs ?? 30_000,
    retry: { initialRetryTime: o.initialRetryTimeMs ?? 300, maxRetryTime: o.maxRetryTimeMs ?? 30_000, retries: o.retries ?? 5 },
    logLevel: logLevel.INFO,
    logCreator,
  });
}

function resolveOptions(o: KafkaFeedOptions): Resolved {
  const r: Resolved = {
    brokers: o.brokers,
    topicPrefix: o.topicPrefix ?? 'view.',
    views: o.views ?? VIEW_LIST.map((v) => v.name),
    format: o.format ?? 'upsert',
    groupPrefix: o.groupPrefix ?? 'wavegate',
    clientId: o.clientId ?? 'wavegate',
    log: o.log ?? silentLogger,
    onPoison: o.onPoison,
    recentLimit: o.recentLimit ?? 10_000,
    startTimeoutMs: o.startTimeoutMs ?? 30_000,
    stopTimeoutMs: o.stopTimeoutMs ?? 10_000,
    replayTimeoutMs: o.replayTimeoutMs ?? 30_000,
    staleAfterMs: o.staleAfterMs ?? 30_000,
    maxWaitTimeMs: o.maxWaitTimeMs ?? 1_000,
    sessionTimeoutMs: o.sessionTimeoutMs ?? 30_000,
    heartbeatIntervalMs: o.heartbeatIntervalMs ?? 3_000,
    connectionTimeoutMs: o.connectionTimeoutMs ?? 3_000,
    requestTimeoutMs: o.requestTimeoutMs ?? 30_000,
    initialRetryTimeMs: o.initialRetryTimeMs ?? 300,
    maxRetryTimeMs: o.maxRetryTimeMs ?? 30_000,
    retries: o.retries ?? 5,
  };
  if (r.brokers.length === 0) throw errors.badConfig('kafka: brokers must name at least one host:port');
  if (!/^[A-Za-z0-9._-]*$/.test(r.topicPrefix)) throw errors.badConfig(`kafka: topicPrefix ${r.topicPrefix} has characters Kafka topics cannot have`);
  if (r.views.length === 0) throw errors.badConfig('kafka: views must name at least one view');
  if (!Number.isSafeInteger(r.recentLimit) || r.recentLimit < 0) throw errors.badConfig('kafka: recentLimit must be an integer >= 0');
  if (r.heartbeatIntervalMs * 3 > r.sessionTimeoutMs) {
    throw errors.badConfig(`kafka: heartbeatIntervalMs (${r.heartbeatIntervalMs}) must be at most sessionTimeoutMs / 3 (${r.sessionTimeoutMs})`);
  }
  if (r.staleAfterMs <= r.maxWaitTimeMs) {
    throw errors.badConfig(`kafka: staleAfterMs (${r.staleAfterMs}) must exceed maxWaitTimeMs (${r.maxWaitTimeMs}), or an idle feed reads as stale`);
  }
  return r;
}


const unavailable = (message: string, cause?: unknown) =>
  new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, message, { retriable: true, cause });
const expired = (message: string) => new GatewayError(GatewayErrorCode.CURSOR_EXPIRED, message);

/** {@link ChangeFeed} over RisingWave's Kafka sinks. Call start() before use and stop() at shutdown. */
export class KafkaFeed implements ChangeFeed {
  /** This instance's consumer group (deleted by stop()). */
  readonly groupId: string;
  private readonly o: Resolved;
  private readonly log: Logger;
  private readonly kafka: Kafka;
  private readonly admin;
  private consumer: Consumer | undefined;
  private st: KafkaFeedState = { phase: 'idle' };
  private clusterId: string | undefined;
  private readonly listeners = new Set<ChangeListener>();
  private readonly partitions = new Map<string, Map<number, PartitionState>>();
  private readonly recent: pos.RecentChanges<ChangeEvent>;
  private readonly progress = new Set<() => void>();
  private headCache: string | undefined;
  private poisoned = 0;
  private duplicates = 0;
  private lagMs = 0;
  /** Last successful heartbeat or batch: the consumer is in contact with Kafka. */
  private lastContactAt = 0;
  private rebuilds = 0;
  private rebuildTimer: NodeJS.Timeout | undefined;
  private replays = 0;
  private joined: (() => void) | undefined;

  constructor(options: KafkaFeedOptions) {
    this.o = resolveOptions(options);
    this.log = this.o.log.child('feed.kafka');
    this.groupId = `${this.o.groupPrefix}-${hostname()}-${randomBytes(4).toString('hex')}`;
    this.kafka = createKafkaClient({ ...this.o, log: this.log });
    this.admin = this.kafka.admin({ retry: { retries: this.o.retries } });
    this.recent = new pos.RecentChanges(this.o.recentLimit);
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
        unavailable(`Kafka at ${this.o.brokers.join(',')} did not become ready within ${this.o.startTimeoutMs} ms`));
    } catch (err) {
      await this.stop();
      throw err instanceof GatewayError ? err : unavailable(`Kafka feed failed to start: ${String(err)}`, err);
    }
  }

  private async connect(): Promise<void> {
    await this.admin.connect();
    this.clusterId = (await this.admin.describeCluster()).clusterId;
    const existing = new Set(await this.admin.listTopics());
    const topics = this.o.views.map((v) => this.topicOf(v));
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      throw unavailable(`Kafka topics missing: ${missing.join(', ')}. Create the RisingWave sinks (or the topics) first.`);
    }
    for (const topic of topics) {
      for (const { partition, high } of await fetchTopicOffsets(this.admin, topic)) {
        this.track(topic, partition, Number(high));
      }
    }
    const joined = new Promise<void>((resolve) => (this.joined = resolve));
    await this.launchConsumer(topics);
    await joined;
  }

  /** Starts tracking a partition whose delivery begins at `next`. */
  private track(topic: string, partition: number, next: number): PartitionState {
    let ps = this.partitions.get(topic);
    if (ps === undefined) this.partitions.set(topic, (ps = new Map()));
    const state = { next, high: next };
    ps.set(partition, state);
    this.recent.startAt(topic, partition, next);
    this.headCache = undefined;
    return state;
  }

  private async launchConsumer(topics: readonly string[]): Promise<void> {
    if (this.st.phase === 'stopped') return;
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      sessionTimeout: this.o.sessionTimeoutMs,
      heartbeatInterval: this.o.heartbeatIntervalMs,
      maxWaitTimeInMs: this.o.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      retry: { retries: this.o.retries, restartOnFailure: async () => this.st.phase !== 'stopped' },
    });
    this.consumer = consumer;
    const { GROUP_JOIN, REBALANCING, CRASH, HEARTBEAT } = consumer.events;
    consumer.on(GROUP_JOIN, ({ payload }) => {
      // Runs synchronously inside the join, before the first fetch of the new generation: every
      // partition resumes at `next`. Partitions unknown so far (added later) start at the earliest
      // offset (fromBeginning), which is what a cursor that does not name them means.
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        for (const partition of partitions) {
          const state = this.partitions.get(topic)?.get(partition);
          if (state !== undefined) consumer.seek({ topic, partition, offset: String(state.next) });
        }
      }
      this.rebuilds = 0;
      this.lastContactAt = Date.now();
      this.setState({ phase: 'running', since: Date.now() });
      this.joined?.();
      this.joined = undefined;
    });
    consumer.on(REBALANCING, () => this.setState({ phase: 'rebalancing', since: Date.now() }));
    // Not FETCH: kafkajs emits it after failed fetches too. A heartbeat is a coordinator round trip.
    consumer.on(HEARTBEAT, () => void (this.lastContactAt = Date.now()));
    consumer.on(CRASH, ({ payload }) => {
      if (this.st.phase === 'stopped') return;
      this.setState({ phase: 'crashed', since: Date.now(), error: payload.error.message, restarting: payload.restart });
      const fields = { err: payload.error, restarting: payload.restart, groupId: this.groupId };
      if (payload.restart) this.log.warn(fields, 'Kafka consumer crashed; kafkajs restarts it');
      else this.log.error(fields, 'Kafka consumer crashed; rebuilding it');
      if (!payload.restart) this.scheduleRebuild(topics);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch: (p) => this.onBatch(p) });
    // stop() may have run meanwhile (start() timed out): it could not see this consumer.
    if (this.isStopped()) await consumer.disconnect();
  }

  /** After a crash kafkajs will not restart from: a new consumer in the same group, with backoff. */
  private scheduleRebuild(topics: readonly string[]): void {
    const delay = Math.min(this.o.maxRetryTimeMs, this.o.initialRetryTimeMs * 2 ** this.rebuilds++);
    this.log.warn({ delayMs: delay, attempt: this.rebuilds }, 'rebuilding the Kafka consumer');
    this.rebuildTimer = setTimeout(() => {
      if (this.st.phase === 'stopped') return;
      this.launchConsumer(topics).catch((err: unknown) => {
        this.log.error({ err }, 'rebuilding the Kafka consumer failed');
        if (this.st.phase !== 'stopped') this.scheduleRebuild(topics);
      });
    }, delay);
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    this.lastContactAt = Date.now();
    const view = topic.slice(this.o.topicPrefix.length);
    const state = this.partitions.get(topic)?.get(partition)
      ?? this.track(topic, partition, Number(batch.firstOffset() ?? batch.messages[0]?.offset ?? 0));
    const high = Number(batch.highWatermark);
    if (high < state.next) {
      // The log restarted below what was delivered: the topic was deleted and re-created.
      this.log.error({ topic, partition, high, next: state.next }, 'partition offsets went backwards (topic re-created?): following the new log');
      state.next = 0;
    }
    const events: ChangeEvent[] = [];
    for (const m of batch.messages) {
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
        this.recent.push({ topic, partition, offset }, event);
      }
      resolveOffset(m.offset);
    }
    state.high = Math.max(high, state.next);
    this.headCache = undefined;
    if (events.length > 0) this.deliver(events);
    for (const wake of [...this.progress]) wake();
    await heartbeat();
  }

  /** Decodes one record; null for tombstones that carry no change and for poison (reported when `report`). */
  private toEvent(view: string, topic: string, partition: number, m: KafkaMessage, report: boolean): ChangeEvent | null {
    const offset = Number(m.offset);
    try {
      const change = decodeChange(view, this.o.format, m);
      if (change === null) return null;
      const ts = Number(m.timestamp);
      return { ...change, position: pos.formatPosition({ topic, partition, offset }), committedAt: ts > 0 ? ts : Date.now() };
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
   * Changes of `view` after `cursor` up to what this feed has delivered. When the cursor is ahead of
   * this instance (made by a faster one), waits for delivery to catch up (bounded by replayTimeoutMs).
   * CURSOR_EXPIRED when Kafka no longer holds a needed offset or the cursor is past the log's end.
   */
  async replay(view: ViewName, cursor: FeedPosition): Promise<readonly ChangeEvent[]> {
    const after = pos.decodeCursor(cursor);
    if (!this.o.views.includes(view)) throw errors.badInput(`this feed does not carry view ${view}`);
    if (this.st.phase === 'idle' || this.st.phase === 'stopped') throw unavailable('the Kafka feed is not running');
    const topic = this.topicOf(view);
    const deadline = Date.now() + this.o.replayTimeoutMs;
    await this.catchUp(topic, after, deadline);
    const bound = new Map([...(this.partitions.get(topic) ?? [])].map(([p, s]) => [p, s.next - 1]));
    return this.recent.since(topic, bound, after) ?? this.readTopic(view, topic, after, bound, deadline);
  }

  /** Waits until every partition of `topic` is delivered up to what `cursor` covers. */
  private async catchUp(topic: string, cursor: pos.Coverage, deadline: number): Promise<void> {
    const behind = () => [...(this.partitions.get(topic) ?? [])].filter(([p, s]) => (pos.coveredOffset(cursor, topic, p) ?? -1) >= s.next);
    if (behind().length === 0) return;
    const offsets = await fetchTopicOffsets(this.admin, topic);
    for (const [p] of behind()) {
      const high = Number(offsets.find((o) => o.partition === p)?.high ?? 0);
      if ((pos.coveredOffset(cursor, topic, p) ?? -1) >= high) {
        throw expired(`The cursor points past the end of ${topic} partition ${p} (re-created topic?): query the current rows and subscribe without a cursor`);
      }
    }
    while (behind().length > 0) {
      if (this.isStopped()) throw unavailable('the Kafka feed stopped');
      const left = deadline - Date.now();
      if (left <= 0) throw unavailable('This gateway instance is behind the cursor; retry shortly');
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.progress.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.progress.add(wake);
      });
    }
  }

  /** Reads (cursor, bound] of each partition of `topic` with a short-lived consumer. */
  private async readTopic(view: ViewName, topic: string, cursor: pos.Coverage, bound: ReadonlyMap<number, number>, deadline: number): Promise<ChangeEvent[]> {
    const offsets = await fetchTopicOffsets(this.admin, topic);
    const ranges = new Map<number, { next: number; to: number; events: ChangeEvent[] }>();
    for (const [partition, to] of bound) {
      const from = (pos.coveredOffset(cursor, topic, partition) ?? -1) + 1;
      if (from > to) continue;
      const low = Number(offsets.find((o) => o.partition === partition)?.low ?? 0);
      if (from < low) {
        throw expired(`The cursor is older than what Kafka retains for ${topic} partition ${partition} (needs offset ${from}, oldest is ${low}): query the current rows and subscribe without a cursor`);
      }
      ranges.set(partition, { next: from, to, events: [] });
    }
    if (ranges.size === 0) return [];
    const groupId = `${this.groupId}-replay-${++this.replays}`;
    // Short fetch waits: once the range is read, disconnect() waits for the in-flight fetch.
    const maxWaitTimeInMs = Math.min(100, this.o.maxWaitTimeMs);
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs, allowAutoTopicCreation: false, retry: { retries: this.o.retries } });
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const done = () => [...ranges.values()].every((r) => r.next > r.to);
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      for (const partition of payload.memberAssignment[topic] ?? []) {
        const r = ranges.get(partition);
        if (r !== undefined) consumer.seek({ topic, partition, offset: String(r.next) });
        else consumer.pause([{ topic, partitions: [partition] }]);
      }
    });
    // Control records and compaction gaps never reach eachBatch; the batch end offset still moves.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const r = ranges.get(payload.partition);
      if (r !== undefined) r.next = Math.max(r.next, Number(payload.lastOffset) + 1);
      if (done()) finish();
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const r = ranges.get(batch.partition);
          if (r === undefined) return;
          for (const m of batch.messages) {
            const offset = Number(m.offset);
            if (offset < r.next || offset > r.to) continue;
            const event = this.toEvent(view, topic, batch.partition, m, false);
            if (event !== null) r.events.push(event);
            r.next = offset + 1;
          }
        },
      });
      await within(finished, Math.max(0, deadline - Date.now()), () => unavailable(`Replaying ${topic} from Kafka took longer than ${this.o.replayTimeoutMs} ms`));
    } finally {
      await consumer.disconnect().catch((err: unknown) => this.log.warn({ err, groupId }, 'replay consumer disconnect failed'));
      await this.admin.deleteGroups([groupId]).catch((err: unknown) => this.log.warn({ err, groupId }, 'deleting the replay group failed'));
    }
    return [...ranges.keys()].sort((a, b) => a - b).flatMap((p) => ranges.get(p)!.events);
  }

  isAfter(position: FeedPosition, cursor: FeedPosition): boolean {
    return pos.isAfter(position, cursor);
  }

  advance(cursor: FeedPosition, position: FeedPosition): FeedPosition {
    return pos.advance(cursor, position);
  }

  head(): FeedPosition {
    this.headCache ??= pos.encodeCursor(new Map([...this.partitions].map(([t, ps]) => [t, new Map([...ps].map(([p, s]) => [p, s.next - 1]))])));
    return this.headCache;
  }

  status(): FeedStatus {
    let pending = 0;
    for (const ps of this.partitions.values()) for (const s of ps.values()) pending += Math.max(0, s.high - s.next);
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
    clearTimeout(this.rebuildTimer);
    this.listeners.clear();
    for (const wake of [...this.progress]) wake();
    const steps = async () => {
      if (this.consumer !== undefined) {
        await this.consumer.disconnect().catch((err: unknown) => this.log.warn({ err }, 'consumer disconnect failed'));
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
    return `${this.o.topicPrefix}${view}`;
  }

  private setState(next: KafkaFeedState): void {
    if (next.phase !== this.st.phase) this.log.info({ from: this.st.phase, to: next.phase }, 'feed state');
    this.st = next;
  }
}
