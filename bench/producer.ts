/**
 * The stand-in for RisingWave's Kafka sink in bench/kafka-fanout.ts, in a child process of its own
 * (RisingWave is another process: a producer sharing the gateway's event loop would slow down
 * exactly when the gateway is busy and hide the queueing).
 *
 * Records are trip_history upserts in FORMAT UPSERT ENCODE JSON, byte-for-byte as the sink writes
 * them (the encoding of test/fixtures/risingwave/encode.ts, copied: benches do not import test
 * code; [SINK1], [SINK2], [SINK4] in docs/RISINGWAVE.md, "RisingWave behaviours Wavegate depends
 * on"): key `{"trip_id":…}`, value the whole row with sorted keys, timestamptz with 6 fraction
 * digits. Partition = CRC32(key) mod partitions, as RisingWave's librdkafka producer
 * (`consistent_random`) picks it. Every record is a new REQUESTED trip with a unique updated_at, so
 * `<trip_id>|<updated_at ms>` identifies its delivery.
 *
 * Paced runs send what is due every `lingerMs` (default 5 ms: librdkafka's default `linger.ms`,
 * https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md, which RisingWave's Kafka
 * sink uses unless `properties.linger.ms` is set), and stamp each record with the moment it became
 * due (CLOCK_MONOTONIC, {@link nowMs}), so the linger and any lag of the producer itself count in
 * the latency. Bursts stamp each record right before the `producer.send` that carries it. Sends are
 * awaited (acks=-1), one in flight.
 *
 * Parent side: {@link ProducerProcess}. Not a bench of its own.
 */
import { crc32 } from 'node:zlib';
import { silentLogger } from '../src/log';
import { createKafkaClient } from '../src/kafka';
import { bundledRegistry } from '../src/views/load';
import { viewNamed } from '../src/views/find';
import type { Row } from '../src/views/model';
import { nowMs, sleep } from './harness';
import { ChildRpc, isBenchChild, serveRpc, type Usage } from './ipc';

const BASE = Date.parse('2026-10-05T08:00:00Z');

/** Where and what to produce. */
export interface ProducerSpec {
  brokers: string[];
  topic: string;
  partitions: number;
  /** Riders `rider-0` … `rider-<riders-1>`; record j goes to rider (j × 7919) mod riders, spreading over all of them. */
  riders: number;
}

/** Send times since the previous collect. */
export interface Sent {
  keys: string[];
  times: Float64Array;
  /** Per send request: handed to producer.send → acknowledged (ms). */
  ackMs: number[];
}

/** A production run. */
export interface ProduceRun {
  sent: number;
  /** nowMs() before the first send. */
  start: number;
  seconds: number;
}

// ---- child side ------------------------------------------------------------------------------

function encodeValue(type: string, v: string | number | boolean | null): unknown {
  if (v === null) return null;
  return type === 'timestamptz' ? `${String(v).slice(0, 23)}000Z` : v; // "…07.123Z" → "…07.123000Z"
}

const tripHistory = viewNamed(bundledRegistry(), 'trip_history');
/** [name, type] of the key and of all columns, sorted by name (the sink's JSON has sorted keys). */
const keyColumns = [...tripHistory.key].sort().map((name) => [name, tripHistory.columns.find((c) => c.name === name)!.type] as const);
const valueColumns = tripHistory.columns.map((c) => [c.name, c.type] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Key and value of the upsert of `row`: JSON objects with sorted keys. */
function upsertRecord(row: Row): { key: Buffer; value: Buffer } {
  const json = (columns: ReadonlyArray<readonly [string, string]>) => {
    const out: Record<string, unknown> = {};
    for (const [name, type] of columns) out[name] = encodeValue(type, row[name] ?? null);
    return Buffer.from(JSON.stringify(out));
  };
  return { key: json(keyColumns), value: json(valueColumns) };
}

let producer: ReturnType<ReturnType<typeof createKafkaClient>['producer']> | undefined;
let spec: ProducerSpec | undefined;
let n = 0;
let keys: string[] = [];
let times: number[] = [];
let ackMs: number[] = [];

/** Sends `count` new records; `dueAt(i)` stamps the i-th (default: the moment of the send). */
async function send(prefix: string, count: number, dueAt?: (i: number) => number): Promise<void> {
  if (producer === undefined || spec === undefined) throw new Error('open first');
  const messages = [];
  const batchKeys: string[] = [];
  for (let i = 0; i < count; i++) {
    const j = n++;
    const at = new Date(BASE + j * 1_000).toISOString();
    const id = `${prefix}-${j}`;
    const r = upsertRecord({
      trip_id: id, rider_id: `rider-${(j * 7_919) % spec.riders}`, driver_id: null, status: 'REQUESTED',
      pickup_lat: 52.52, pickup_lng: 13.405, dropoff_lat: 52.5, dropoff_lng: 13.3,
      requested_at: at, assigned_at: null, started_at: null, completed_at: null, cancelled_at: null, cancelled_by: null,
      fare_amount: null, fare_currency: null, paid_amount: null, distance_km: null, rider_rating: null, driver_rating: null,
      updated_at: at, event_count: 1,
    });
    messages.push({ key: r.key, value: r.value, partition: crc32(r.key) % spec.partitions });
    batchKeys.push(`${id}|${Date.parse(at)}`);
  }
  const t0 = nowMs();
  for (const [i, k] of batchKeys.entries()) {
    keys.push(k);
    times.push(dueAt === undefined ? t0 : Math.min(t0, dueAt(i)));
  }
  await producer.send({ topic: spec.topic, acks: -1, messages });
  ackMs.push(nowMs() - t0);
}

if (isBenchChild()) {
  serveRpc({
    open: async (s: ProducerSpec) => {
      spec = s;
      const kafka = createKafkaClient({ brokers: s.brokers, clientId: 'wavegate-bench-producer', log: silentLogger, connectionTimeoutMs: 3_000 });
      producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      return null;
    },
    /**
     * `rate` records/s for `seconds`: every `lingerMs` what is due goes out in one request, each
     * record stamped with when it became due (record k: start + k / rate).
     */
    paced: async ({ prefix, rate, seconds, lingerMs }: { prefix: string; rate: number; seconds: number; lingerMs: number }): Promise<ProduceRun> => {
      const total = Math.round(rate * seconds);
      const start = nowMs();
      let sent = 0;
      while (sent < total) {
        const due = Math.min(total, Math.floor(((nowMs() - start) / 1_000) * rate) + 1) - sent;
        if (due > 0) {
          const first = sent;
          await send(prefix, due, (i) => start + ((first + i) * 1_000) / rate);
          sent += due;
        }
        if (sent < total) await sleep(Math.max(1, lingerMs));
      }
      return { sent, start, seconds: (nowMs() - start) / 1_000 };
    },
    /** `count` records as fast as one-in-flight sends of `chunk` go. */
    burst: async ({ prefix, count, chunk }: { prefix: string; count: number; chunk: number }): Promise<ProduceRun> => {
      const start = nowMs();
      for (let sent = 0; sent < count; sent += chunk) await send(prefix, Math.min(chunk, count - sent));
      return { sent: count, start, seconds: (nowMs() - start) / 1_000 };
    },
    collect: async (): Promise<Sent> => {
      const out = { keys, times: Float64Array.from(times), ackMs };
      keys = [];
      times = [];
      ackMs = [];
      return out;
    },
    close: async () => {
      await producer?.disconnect();
      producer = undefined;
      return null;
    },
  });
}

// ---- parent side -----------------------------------------------------------------------------

/** The producer child process, seen from the bench. */
export class ProducerProcess {
  private constructor(private readonly rpc: ChildRpc) {}

  /** Forks dist/bench/producer.js and connects its producer. */
  static async start(spec: ProducerSpec): Promise<ProducerProcess> {
    const p = new ProducerProcess(ChildRpc.fork(__filename));
    await p.rpc.call('open', spec);
    return p;
  }

  /** `rate` records/s for `seconds`, sent every `lingerMs` (see the module comment). */
  paced(prefix: string, rate: number, seconds: number, lingerMs = 5): Promise<ProduceRun> {
    return this.rpc.call('paced', { prefix, rate, seconds, lingerMs });
  }

  burst(prefix: string, count: number, chunk = 1_000): Promise<ProduceRun> {
    return this.rpc.call('burst', { prefix, count, chunk });
  }

  /** Send times since the last collect, as a key → time map, and the ack times. */
  async collect(): Promise<{ sentAt: Map<string, number>; ackMs: number[] }> {
    const s = await this.rpc.call<Sent>('collect');
    return { sentAt: new Map(s.keys.map((k, i) => [k, s.times[i]!])), ackMs: s.ackMs };
  }

  usage(): Promise<Usage> {
    return this.rpc.usage();
  }

  async close(): Promise<void> {
    await this.rpc.call('close').catch(() => undefined);
    await this.rpc.close();
  }
}
