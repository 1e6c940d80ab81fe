/**
 * The event consumer toolkit (src/consumer) on the real Kafka broker (`scripts/kafka.sh start`) and
 * the machine's MariaDB. Records are produced in the exact bytes of RisingWave's append-only event
 * sink — the test stands in for RisingWave CDC + sinks. Each test has its own topics, consumer
 * groups, dead-letter topic and database, all removed afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import {
  ConsumerErrorCode,
  createEventConsumer,
  DeadLetterReason,
  encodeSinkRecord,
  isConsumerError,
  migrateProcessedEvents,
  permanentError,
  retriableError,
  type EventConsumer,
  type EventConsumerOptions,
  type EventHandler,
} from '../../src/consumer';
import { recordingLogger, silentLogger } from '../../src/log';
import { sourceMigrations } from '../../src/outbox/dialect';
import {
  createServiceDatabase,
  KAFKA_BROKERS,
  rideRequested,
  TEST_CONSUMER_SETTINGS,
  TestKafka,
  waitFor,
  type ServiceDatabase,
} from '../../examples/ride-hailing/test/support';

const ROOT = join(__dirname, '..', '..');
let kafka: TestKafka;
let svc: ServiceDatabase;
const leftovers: Array<() => Promise<void>> = [];

beforeEach(async () => {
  kafka = await TestKafka.connect();
  svc = await createServiceDatabase();
  for (const m of sourceMigrations('mysql')) for (const s of m.statements) await svc.db.query(s);
  await migrateProcessedEvents(svc.db);
  await svc.db.query(`CREATE TABLE ledger (
    seq BIGINT AUTO_INCREMENT PRIMARY KEY, ride_id VARCHAR(64) NOT NULL, event_id VARCHAR(64) NOT NULL, note VARCHAR(64) NOT NULL)`);
}, 30_000);

afterEach(async () => {
  for (const dispose of leftovers.splice(0).reverse()) await dispose();
  await svc?.drop();
  await kafka?.cleanup();
}, 60_000);

/** A consumer on this test's topics, group and dead-letter topic; stopped after the test. */
function consumerFor(name: string, overrides: Partial<EventConsumerOptions> = {}): EventConsumer {
  const c = createEventConsumer({
    service: name, groupId: kafka.group(name), deadLetterTopic: kafka.dlqTopic(name), topicPrefix: kafka.topicPrefix,
    brokers: KAFKA_BROKERS, db: svc.db, log: silentLogger, ...TEST_CONSUMER_SETTINGS, ...overrides,
  });
  leftovers.push(() => c.stop());
  return c;
}

/** The usual handler: a ledger row, then a DriverAssigned to the outbox. */
const assignDriver: EventHandler<'RideRequested'> = async ({ event, tx, emit }) => {
  await tx.execute('INSERT INTO ledger (ride_id, event_id, note) VALUES (?, ?, ?)', [event.aggregateId, event.id, event.payload.rider_id]);
  await emit({ type: 'DriverAssigned', payload: { driver_id: 'driver-7', eta_seconds: 120 } });
};

const ledger = (ride?: string) => (ride === undefined ? svc.count('ledger') : svc.count('ledger WHERE ride_id = ?', [ride]));
const assigned = (ride?: string) => svc.count(`outbox WHERE event_type = 'DriverAssigned'${ride === undefined ? '' : ' AND aggregate_id = ?'}`, ride === undefined ? [] : [ride]);
const processed = () => svc.count('processed_events');

describe('event consumer on a real broker and MariaDB (the test plays RisingWave\'s append-only event sink)', () => {
  it('handles a RideRequested in the sink format: business row, emitted event and processed record commit together, then the offset', async () => {
    await kafka.createEventTopics(['RideRequested'], 3);
    const log = recordingLogger();
    const c = consumerFor('svc-basic', { log }).onEvent('RideRequested', assignDriver);
    await c.start();
    expect(c.state.phase).toBe('running');
    const row = rideRequested('ride-basic', 'rider-9');
    await kafka.produceRows([row]);

    await waitFor(() => c.stats().handled === 1, 15_000);
    expect(await ledger('ride-basic')).toBe(1);
    expect(await assigned('ride-basic')).toBe(1);
    expect(await processed()).toBe(1);
    const [out] = await svc.rows("SELECT aggregate_id, trace_context, payload FROM outbox WHERE event_type = 'DriverAssigned'");
    expect(out).toMatchObject({ aggregate_id: 'ride-basic', trace_context: row.trace_context }); // trace context carried over
    expect(JSON.parse(out!['payload'] as string)).toEqual({ driver_id: 'driver-7', eta_seconds: 120 });
    const [rec] = await svc.rows('SELECT event_id, event_type FROM processed_events');
    expect(rec).toMatchObject({ event_id: row.id, event_type: 'RideRequested' });

    await c.stop();
    expect(c.state.phase).toBe('stopped');
    const committed = await kafka.committed(c.groupId, 'RideRequested');
    expect([...committed.values()].filter((o) => o === 1)).toHaveLength(1); // the one partition that had the record
    // kafkajs logged through our logger (test/setup.ts fails the test on any console output).
    expect(log.lines.some((l) => l.ns.startsWith('consumer.svc-basic.kafkajs.'))).toBe(true);
  });

  it('has exactly one effect when the same event is delivered three times', async () => {
    await kafka.createEventTopics(['RideRequested'], 3);
    const c = consumerFor('svc-dup').onEvent('RideRequested', assignDriver);
    await c.start();
    const record = encodeSinkRecord(rideRequested('ride-dup'));
    await kafka.produce('RideRequested', [record]);
    await kafka.produce('RideRequested', [record, record]); // RisingWave re-sends after a recovery (at least once)

    await waitFor(() => c.stats().handled + c.stats().duplicates === 3, 15_000);
    expect(c.stats()).toMatchObject({ handled: 1, duplicates: 2, deadLettered: 0 });
    expect(await ledger('ride-dup')).toBe(1);
    expect(await assigned('ride-dup')).toBe(1);
    expect(await processed()).toBe(1);
  });

  it('rolls back a handler that throws midway (after its business row and emit) and succeeds on the retry', async () => {
    await kafka.createEventTopics(['RideRequested'], 1);
    const seenBeforeRetry: number[] = [];
    const c = consumerFor('svc-retry').onEvent('RideRequested', async (ctx) => {
      if (ctx.attempt === 2) seenBeforeRetry.push(await ledger(), await assigned(), await processed());
      await assignDriver(ctx);
      if (ctx.attempt === 1) throw retriableError('payment provider timed out');
    });
    await c.start();
    await kafka.produceRows([rideRequested('ride-retry')]);

    await waitFor(() => c.stats().handled === 1, 15_000);
    expect(seenBeforeRetry).toEqual([0, 0, 0]); // the failed attempt left nothing
    expect(c.stats()).toMatchObject({ handled: 1, retries: 1, deadLettered: 0 });
    expect(await ledger('ride-retry')).toBe(1);
    expect(await assigned('ride-retry')).toBe(1);
    expect(await processed()).toBe(1);
  });

  it('dead-letters a non-retriable failure at once and a retriable one after maxAttempts, and handles the next event', async () => {
    await kafka.createEventTopics(['RideRequested'], 1);
    const attempts = new Map<string, number>();
    const c = consumerFor('svc-fail').onEvent('RideRequested', async (ctx) => {
      const ride = ctx.event.aggregateId;
      attempts.set(ride, ctx.attempt);
      await assignDriver(ctx);
      if (ride === 'ride-permanent') throw permanentError('rider account closed');
      if (ride === 'ride-flaky') throw new Error('downstream keeps failing'); // unmarked: retried
    });
    await c.start();
    const rows = [rideRequested('ride-permanent'), rideRequested('ride-flaky'), rideRequested('ride-fine')];
    await kafka.produceRows(rows);

    await waitFor(() => c.stats().handled === 1 && c.stats().deadLettered === 2, 15_000);
    expect(Object.fromEntries(attempts)).toEqual({ 'ride-permanent': 1, 'ride-flaky': 3, 'ride-fine': 1 });
    expect(await ledger()).toBe(1);
    expect(await ledger('ride-fine')).toBe(1);
    expect(await assigned()).toBe(1);

    const letters = await kafka.deadLetters(c.deadLetterTopic, 2);
    expect(letters.map((l) => [l.reason, l.attempts, l.eventId, l.original.topic, l.original.offset])).toEqual([
      [DeadLetterReason.HANDLER_FAILED, 1, rows[0]!.id, `${kafka.topicPrefix}RideRequested`, '0'],
      [DeadLetterReason.RETRIES_EXHAUSTED, 3, rows[1]!.id, `${kafka.topicPrefix}RideRequested`, '1'],
    ]);
    expect(letters[0]!.detail).toContain('rider account closed');
    expect(letters[1]!.detail).toContain('downstream keeps failing');
    expect(letters[0]!.value).toEqual(encodeSinkRecord(rows[0]!).value); // the original bytes, replayable
    expect(letters[0]!.key!.toString()).toBe('ride-permanent');
  });

  it('dead-letters poison records (bad JSON, contract violations, wrong key) with their reason and handles the next good one', async () => {
    await kafka.createEventTopics(['RideRequested'], 3);
    const c = consumerFor('svc-poison').onEvent('RideRequested', assignDriver);
    await c.start();
    const key = Buffer.from('ride-p');
    const good = rideRequested('ride-p');
    const json = (o: object) => Buffer.from(JSON.stringify(o));
    const base = JSON.parse(encodeSinkRecord(good).value.toString()) as Record<string, unknown>;
    // All on key ride-p: one partition, so "the next" is well defined.
    await kafka.produce('RideRequested', [
      { key, value: Buffer.from('{"aggregate_id":"ride-p",') }, // truncated JSON
      { key, value: json({ ...base, id: 'e-invalid', payload: { rider_id: 'rider-1', pickup: { lat: 95, lng: 13 }, dropoff: { lat: 52, lng: 13 } } }) }, // lat out of range
      { key, value: json({ ...base, id: 'e-string', payload: JSON.stringify(base['payload']) }) }, // jsonb.handling.mode 'string'
      { key, value: json({ ...base, id: 'e-type', event_type: 'RideStarted' }) },
      { key: Buffer.from('ride-other'), value: json({ ...base, id: 'e-key' }) }, // lands elsewhere, still poison
      { key, value: null },
      encodeSinkRecord(good),
    ]);

    await waitFor(() => c.stats().handled === 1 && c.stats().deadLettered === 6, 15_000);
    expect(await ledger('ride-p')).toBe(1);
    const letters = await kafka.deadLetters(c.deadLetterTopic, 6);
    const byId = new Map(letters.map((l) => [l.eventId ?? `offset-${l.original.offset}`, l]));
    expect(letters.map((l) => l.reason).sort()).toEqual([
      DeadLetterReason.BAD_ENVELOPE, DeadLetterReason.BAD_JSON, DeadLetterReason.BAD_JSON,
      DeadLetterReason.BAD_KEY, DeadLetterReason.INVALID_EVENT, DeadLetterReason.TOPIC_MISMATCH,
    ]);
    expect(byId.get('e-invalid')!.detail).toContain('payload.pickup');
    expect(byId.get('e-string')!.detail).toContain("jsonb.handling.mode = 'dynamic'");
    expect(byId.get('e-key')!.reason).toBe(DeadLetterReason.BAD_KEY);
    const truncated = letters.find((l) => l.reason === DeadLetterReason.BAD_JSON && l.value !== null)!;
    expect(truncated.value!.toString()).toBe('{"aggregate_id":"ride-p",');
    expect(truncated).toMatchObject({ service: 'svc-poison', attempts: 0 });
    expect(letters.find((l) => l.value === null)!.detail).toContain('tombstone');
  });

  it('keeps the order of each ride\'s events while partitions run concurrently', async () => {
    await kafka.createEventTopics(['RideRequested'], 3);
    const c = consumerFor('svc-order', { partitionsConsumedConcurrently: 3 }).onEvent('RideRequested', async ({ event, tx }) => {
      await new Promise((r) => setImmediate(r)); // let other partitions interleave
      await tx.execute('INSERT INTO ledger (ride_id, event_id, note) VALUES (?, ?, ?)', [event.aggregateId, event.id, event.payload.rider_id]);
    });
    await c.start();
    const rows = Array.from({ length: 60 }, (_, i) => rideRequested(`ride-${i % 6}`, `seq-${String(i).padStart(3, '0')}`));
    await kafka.produceRows(rows);

    await waitFor(() => c.stats().handled === 60, 20_000);
    const seen = await svc.rows('SELECT ride_id, note FROM ledger ORDER BY seq');
    for (let r = 0; r < 6; r++) {
      const notes = seen.filter((s) => s['ride_id'] === `ride-${r}`).map((s) => s['note'] as string);
      expect(notes).toEqual([...notes].sort());
      expect(notes).toHaveLength(10);
    }
  });

  it('stop() waits for the in-flight handler\'s transaction, then commits its offset', async () => {
    await kafka.createEventTopics(['RideRequested'], 1);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered = false;
    const c = consumerFor('svc-stop').onEvent('RideRequested', async (ctx) => {
      await assignDriver(ctx);
      entered = true;
      await gate;
    });
    await c.start();
    await kafka.produceRows([rideRequested('ride-stop'), rideRequested('ride-after-stop')]);
    await waitFor(() => entered, 15_000);

    let stopped = false;
    const stopping = c.stop().then(() => void (stopped = true));
    await waitFor(() => c.state.phase === 'stopping');
    expect(stopped).toBe(false);
    expect(c.stats().inFlight).toBe(1);
    release();
    await stopping;
    expect(c.stats()).toMatchObject({ handled: 1, inFlight: 0 });
    expect(await ledger('ride-stop')).toBe(1);
    expect(await ledger('ride-after-stop')).toBe(0); // not started after stop
    expect((await kafka.committed(c.groupId, 'RideRequested')).get(0)).toBe(1);
  });

  it('stop() rolls back a handler that outlives stopTimeoutMs by destroying its connection', async () => {
    await kafka.createEventTopics(['RideRequested'], 1);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered = false;
    const log = recordingLogger();
    const c = consumerFor('svc-stuck', { stopTimeoutMs: 500, log }).onEvent('RideRequested', async (ctx) => {
      await assignDriver(ctx);
      entered = true;
      await gate; // a handler stuck on something that is not the database
    });
    leftovers.push(async () => release()); // lets kafkajs finish its batch after the test
    await c.start();
    await kafka.produceRows([rideRequested('ride-stuck')]);
    await waitFor(() => entered, 15_000);

    await c.stop();
    expect(c.state.phase).toBe('stopped');
    expect(log.lines.some((l) => l.level === 'error' && l.msg.includes('destroying their connections'))).toBe(true);
    // The server rolled the transaction back: no business row, no outbox row, no claim.
    await waitFor(async () => (await ledger()) === 0 && (await processed()) === 0, 10_000);
    expect(await assigned()).toBe(0);
  });

  it('loses nothing and duplicates nothing when a consumer process is killed mid-batch and another member takes over', async () => {
    await kafka.createEventTopics(['RideRequested'], 1);
    const rows = Array.from({ length: 20 }, (_, i) => rideRequested(`ride-k${String(i).padStart(2, '0')}`));
    await kafka.produceRows(rows);
    const groupId = kafka.group('svc-crash');
    const deadLetterTopic = kafka.dlqTopic('svc-crash');

    const child = spawnCrashConsumer({ brokers: [...KAFKA_BROKERS], topicPrefix: kafka.topicPrefix, groupId, deadLetterTopic, mysqlUrl: svc.url, blockRide: 'ride-k12' });
    const inflight = await child.line(/^INFLIGHT (\d+)$/);
    expect(child.lines.filter((l) => l.startsWith('HANDLED'))).toHaveLength(12);
    child.process.kill('SIGKILL');
    await child.exited;
    // The server rolls back the killed process's open transaction when its connection drops.
    await waitFor(async () => (await svc.count('information_schema.PROCESSLIST WHERE ID = ?', [Number(inflight[1])])) === 0, 10_000);
    expect(await ledger()).toBe(12);
    expect(await ledger('ride-k12')).toBe(0);
    expect((await kafka.committed(groupId, 'RideRequested')).get(0)).toBe(-1); // nothing committed to Kafka

    const c = createEventConsumer({
      service: 'svc-crash', groupId, deadLetterTopic, topicPrefix: kafka.topicPrefix, brokers: KAFKA_BROKERS, db: svc.db, log: silentLogger, ...TEST_CONSUMER_SETTINGS,
    }).onEvent('RideRequested', assignDriver);
    leftovers.push(() => c.stop());
    await c.start(); // joins once the dead member's session (6 s) expires
    await waitFor(() => c.stats().handled + c.stats().duplicates === 20, 20_000);
    expect(c.stats()).toMatchObject({ handled: 8, duplicates: 12, deadLettered: 0 });
    expect(await ledger()).toBe(20);
    expect(await assigned()).toBe(20);
    expect(await processed()).toBe(20);
    expect(await svc.count('(SELECT ride_id FROM ledger GROUP BY ride_id HAVING count(*) > 1) d')).toBe(0);
  }, 120_000);

  it('fails start() with what to do when a topic or the processed_events table is missing, or Kafka is unreachable', async () => {
    const missingTopic = consumerFor('svc-missing').onEvent('RideRequested', assignDriver);
    const err1 = await missingTopic.start().catch((e: unknown) => e);
    expect(isConsumerError(err1, ConsumerErrorCode.BAD_CONFIG)).toBe(true);
    expect((err1 as Error).message).toContain(`Kafka topics missing: ${kafka.topicPrefix}RideRequested`);
    expect(missingTopic.state).toMatchObject({ phase: 'stopped', error: expect.stringContaining('topics missing') });

    await svc.db.query('DROP TABLE processed_events');
    const noTable = consumerFor('svc-notable').onEvent('RideRequested', assignDriver);
    await expect(noTable.start()).rejects.toThrow('processed_events is missing');

    await migrateProcessedEvents(svc.db);
    const noBroker = consumerFor('svc-nobroker', { brokers: ['127.0.0.1:1'], retry: { retries: 0, initialMs: 50, maxMs: 100 }, startTimeoutMs: 5_000 }).onEvent('RideRequested', assignDriver);
    const err3 = await noBroker.start().catch((e: unknown) => e);
    expect(isConsumerError(err3, ConsumerErrorCode.UNAVAILABLE)).toBe(true);
  });

  it('refuses onEvent after start and a second handler for a type', async () => {
    await kafka.createEventTopics(['RideRequested'], 1);
    const c = consumerFor('svc-misuse').onEvent('RideRequested', assignDriver);
    expect(() => c.onEvent('RideRequested', assignDriver)).toThrow('already registered');
    await c.start();
    expect(() => c.onEvent('DriverAssigned', async () => undefined)).toThrow('after start()');
  });
});

/** The crash child (examples/ride-hailing/test/crash-consumer.ts) and its stdout lines. */
function spawnCrashConsumer(config: Record<string, unknown>): { process: ChildProcess; lines: string[]; line(re: RegExp): Promise<RegExpMatchArray>; exited: Promise<void> } {
  const proc = spawn(process.execPath, ['-r', join(ROOT, 'examples/ride-hailing/register.js'), join(ROOT, 'examples/ride-hailing/test/crash-consumer.ts')], {
    cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '', CRASH_CONFIG: JSON.stringify(config) }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let buffer = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    lines.push(...parts);
  });
  proc.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  leftovers.push(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  });
  return {
    process: proc, lines, exited,
    line: (re) => waitFor<RegExpMatchArray | undefined>(() => {
      if (proc.exitCode !== null) throw new Error(`crash consumer exited with ${proc.exitCode}: ${stderr}`);
      for (const l of lines) {
        const m = re.exec(l);
        if (m !== null) return m;
      }
      return undefined;
    }, 30_000, 20) as Promise<RegExpMatchArray>,
  };
}
