/**
 * Event consumers of the ride-hailing example (src/consumer + examples/ride-hailing) on the real
 * Kafka broker and MariaDB: how many events each service handles per second, and how long from
 * consuming an event to the commit of the service's transaction (business rows + its own outbox
 * events + processed_events).
 *
 * Three services consume `events.RideRequested`, each in its own consumer group and database, all in
 * this one process: Driver (nearest-driver assignment → DriverAssigned), Payment (fare estimate →
 * FareCalculated), Notification (a notifications row, emits nothing). Records are produced in the
 * exact bytes of RisingWave's append-only event sink, to RisingWave's partition for the key.
 *
 * Phases:
 *  1. backlog: `events` RideRequested are produced first, then the services start; throughput =
 *     events / (last commit − first record received), per service. Latency = receive → commit
 *     (the handler's transaction, without queueing behind other records).
 *  2. paced: `rate` events/s for `seconds` against running services; latency = produce (the
 *     record's CreateTime) → commit, i.e. consume lag included.
 *
 * Needs `scripts/kafka.sh start` and MariaDB/MySQL (WAVEGATE_TEST_MYSQL_URL, default
 * mysql://root@127.0.0.1:3306/). Creates and removes its own topics, groups and databases.
 *
 * Run: `node -r ./examples/ride-hailing/register.js bench/consumer.ts [--events=3000] [--rate=50] [--seconds=10] [--partitions=3] [--drivers=500]`
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { crc32 } from 'node:zlib';
import type { Pool } from 'mysql2/promise';
import { encodeSinkRecord, utcString, type Outcome } from '../src/consumer';
import { createKafkaClient, createTopicsAndWait, DEFAULT_EVENT_TOPIC_PREFIX, eventTopic, javaCompatiblePartitioner } from '../src/kafka';
import { silentLogger } from '../src/log';
import { EVENT_TYPES } from '../src/outbox/events';
import { createMysqlPool, openMysqlConnection } from '../src/outbox/mysql';
import { addDrivers, createDriverService, migrateDriver } from '../examples/ride-hailing/src/driver';
import { createNotificationService, migrateNotification } from '../examples/ride-hailing/src/notification';
import { createPaymentService, migratePayment } from '../examples/ride-hailing/src/payment';
import type { Service, ServiceOptions } from '../examples/ride-hailing/src/service';
import { environment, percentile, runMain } from './util';

type Name = 'driver' | 'payment' | 'notification';
const NAMES: readonly Name[] = ['driver', 'payment', 'notification'];

const NUMERIC = { events: 3_000, rate: 50, seconds: 10, partitions: 3, drivers: 500, maxWait: 100 };

function flags(): typeof NUMERIC & { only: Name[] } {
  const out = { ...NUMERIC, only: [...NAMES] };
  for (const a of process.argv.slice(2)) {
    const only = /^--only=([a-z,]+)$/.exec(a);
    if (only !== null) {
      out.only = only[1]!.split(',') as Name[];
      if (!out.only.every((n) => NAMES.includes(n))) throw new Error(`--only takes ${NAMES.join(',')}`);
      continue;
    }
    const m = /^--(\w+)=(\d+)$/.exec(a);
    if (m === null || !(m[1]! in NUMERIC)) throw new Error(`unknown argument ${a}; flags: ${Object.keys(NUMERIC).map((k) => `--${k}=N`).join(' ')} --only=driver,payment,notification`);
    out[m[1] as keyof typeof NUMERIC] = Number(m[2]);
  }
  return out;
}

const ADMIN_URL = process.env['WAVEGATE_TEST_MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306/';
const BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:19092').split(',');
const CENTER = { lat: 52.52, lng: 13.405 };

/** Per service: outcome timings of the current phase. */
interface Tally {
  received: number[];
  committed: number[];
  produced: number[];
}

const ms = (n: number) => +n.toFixed(2);
const ns = () => Number(process.hrtime.bigint()) / 1e6;

async function main(): Promise<void> {
  const f = flags();
  const load1AtStart = +loadavg()[0]!.toFixed(2); // the machine is shared: record how busy it was
  const scope = `bench${randomBytes(4).toString('hex')}`;
  const topicPrefix = `${scope}.${DEFAULT_EVENT_TOPIC_PREFIX}`;
  const topic = eventTopic('RideRequested', topicPrefix);
  const kafka = createKafkaClient({ brokers: BROKERS, clientId: scope, log: silentLogger, retry: { retries: 5, initialMs: 100, maxMs: 1_000 }, connectionTimeoutMs: 3_000, requestTimeoutMs: 30_000 });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: javaCompatiblePartitioner });
  await admin.connect().catch((err: unknown) => {
    throw new Error(`Kafka broker not reachable at ${BROKERS.join(',')}: run \`scripts/kafka.sh start\` first (${String(err)})`);
  });
  await producer.connect();
  const admin2 = await openMysqlConnection({ url: ADMIN_URL });
  const pools = new Map<Name, Pool>();
  const services: Service[] = [];
  const cleanup = async () => {
    for (const s of services) await s.stop().catch(() => undefined);
    for (const [name, p] of pools) {
      await p.end().catch(() => undefined);
      await admin2.query(`DROP DATABASE IF EXISTS ${scope}_${name}`).catch(() => undefined);
    }
    await admin2.end();
    const existing = new Set(await admin.listTopics());
    const mine = [...existing].filter((t) => t.startsWith(`${scope}.`));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(`${scope}.`));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
    await producer.disconnect();
    await admin.disconnect();
  };

  try {
    // Every event topic the services subscribe to; only RideRequested gets records.
    await createTopicsAndWait(admin, EVENT_TYPES.map((t) => ({ topic: eventTopic(t, topicPrefix), numPartitions: f.partitions })));
    const tallies = new Map<Name, Tally>(f.only.map((n) => [n, { received: [], committed: [], produced: [] }]));
    const rideRows: Array<{ key: Buffer; value: Buffer; partition: number }> = [];
    const makeRecords = (n: number, from: number) => Array.from({ length: n }, (_, i) => {
      const angle = (from + i) * 2.399963; // spread pickups around the centre
      const pickup = { lat: CENTER.lat + 0.03 * Math.sin(angle), lng: CENTER.lng + 0.05 * Math.cos(angle) };
      const r = encodeSinkRecord({
        id: randomUUID(), aggregate_type: 'Ride', aggregate_id: `ride-${from + i}`, event_type: 'RideRequested',
        payload: { rider_id: `rider-${(from + i) % 500}`, pickup, dropoff: CENTER }, occurred_at: utcString(new Date()), trace_context: null,
      });
      return { ...r, partition: crc32(r.key) % f.partitions };
    });

    for (const name of f.only) {
      await admin2.query(`CREATE DATABASE ${scope}_${name} CHARACTER SET utf8mb4`);
      const url = new URL(ADMIN_URL);
      url.pathname = `/${scope}_${name}`;
      pools.set(name, createMysqlPool({ url: url.toString(), connectionLimit: f.partitions + 1 }));
    }
    const options = (name: Name): ServiceOptions => ({
      db: pools.get(name)!, brokers: BROKERS, log: silentLogger,
      consumer: {
        topicPrefix, groupId: `${scope}.${name}`, deadLetterTopic: `${scope}.dlq.${name}`, partitionsConsumedConcurrently: f.partitions,
        retry: { retries: 5, initialMs: 100, maxMs: 1_000 }, maxAttempts: 3, maxWaitTimeMs: f.maxWait, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000,
        onOutcome: (o: Outcome, info) => {
          if (o.kind !== 'handled') return;
          const t = tallies.get(name)!;
          t.received.push(info.receivedAt);
          t.committed.push(o.committedAt);
          t.produced.push(Number(info.record.timestamp));
        },
      },
    });
    const build = { driver: createDriverService, payment: createPaymentService, notification: createNotificationService };
    const migrate = { driver: migrateDriver, payment: migratePayment, notification: migrateNotification };
    for (const name of f.only) await migrate[name](options(name));
    if (f.only.includes('driver')) {
      await addDrivers(options('driver'), Array.from({ length: f.drivers }, (_, i) => ({
        id: `driver-${i}`, lat: CENTER.lat + 0.04 * Math.sin(i * 1.7), lng: CENTER.lng + 0.06 * Math.cos(i * 1.3),
      })));
    }

    // Phase 1: backlog.
    rideRows.push(...makeRecords(f.events, 0));
    for (let i = 0; i < rideRows.length; i += 500) await producer.send({ topic, acks: -1, messages: rideRows.slice(i, i + 500) });
    for (const name of f.only) services.push(build[name](options(name)));
    const statsOf = (name: Name) => {
      const st = services[f.only.indexOf(name)]!.consumer.stats();
      return { retries: st.retries, deadLettered: st.deadLettered };
    };
    const startedAt = Date.now();
    await Promise.all(services.map((s) => s.start()));
    const waitAll = async (n: number, timeoutMs: number) => {
      const end = Date.now() + timeoutMs;
      while (f.only.some((name) => tallies.get(name)!.committed.length < n)) {
        if (Date.now() > end) throw new Error(`timed out: ${f.only.map((x) => `${x}=${tallies.get(x)!.committed.length}`).join(' ')} of ${n}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitAll(f.events, 300_000);
    const backlog = Object.fromEntries(f.only.map((name) => {
      const t = tallies.get(name)!;
      const first = Math.min(...t.received);
      const last = Math.max(...t.committed);
      const lat = t.committed.map((c, i) => c - t.received[i]!);
      return [name, { ...statsOf(name), events: t.committed.length, eventsPerSecond: Math.round(t.committed.length / ((last - first) / 1_000)), receiveToCommitMsP50: ms(percentile(lat, 50)), receiveToCommitMsP99: ms(percentile(lat, 99)) }];
    }));
    const baseline = new Map(f.only.map((n) => [n, statsOf(n)]));
    const joinMs = Math.min(...f.only.map((n) => Math.min(...tallies.get(n)!.received))) - startedAt;

    // Phase 2: paced.
    for (const t of tallies.values()) for (const a of [t.received, t.committed, t.produced]) a.length = 0;
    const total = f.rate * f.seconds;
    const paced = makeRecords(total, f.events);
    const t0 = ns();
    for (let k = 0; k < total; k += Math.max(1, Math.round(f.rate / 50))) {
      const due = t0 + (k * 1_000) / f.rate - ns();
      if (due > 1) await new Promise((r) => setTimeout(r, due));
      await producer.send({ topic, acks: -1, messages: paced.slice(k, k + Math.max(1, Math.round(f.rate / 50))) });
    }
    await waitAll(total, 120_000);
    const pacedOut = Object.fromEntries(f.only.map((name) => {
      const t = tallies.get(name)!;
      const lat = t.committed.map((c, i) => c - t.produced[i]!);
      const handler = t.committed.map((c, i) => c - t.received[i]!);
      const before = baseline.get(name)!;
      const now = statsOf(name);
      return [name, { retries: now.retries - before.retries, deadLettered: now.deadLettered - before.deadLettered, events: t.committed.length, produceToCommitMsP50: ms(percentile(lat, 50)), produceToCommitMsP99: ms(percentile(lat, 99)), receiveToCommitMsP50: ms(percentile(handler, 50)), receiveToCommitMsP99: ms(percentile(handler, 99)) }];
    }));

    const driverDb = pools.get('driver');
    const assigned = driverDb === undefined ? undefined : ((await driverDb.query("SELECT count(*) AS n FROM outbox WHERE event_type = 'DriverAssigned'")) as unknown as [[{ n: number }]])[0][0];
    process.stdout.write(`${JSON.stringify({
      bench: 'consumer',
      ...environment(),
      load1AtStart,
      load1AtEnd: +loadavg()[0]!.toFixed(2),
      partitions: f.partitions,
      drivers: f.drivers,
      note: 'the services consume events.RideRequested concurrently in one process, sharing the CPU with Kafka and MariaDB',
      groupJoinMs: joinMs,
      backlog,
      paced: { rate: f.rate, seconds: f.seconds, ...pacedOut },
      services: f.only,
      driverAssignedEvents: assigned === undefined ? undefined : Number(assigned.n),
    })}\n`);
  } finally {
    await cleanup();
  }
}

runMain(main);
