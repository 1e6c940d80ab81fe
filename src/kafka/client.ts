/**
 * The one kafkajs client factory. Every Kafka connection Wavegate opens — the change feed, the
 * consumer toolkit, the examples, tests and benchmarks — is made here, so they all log through the
 * injected Logger (never the console) and share one set of timeout and retry defaults.
 *
 * src/kafka/ is the only part of src/ that imports kafkajs; the types other modules need
 * (consumers, batches, messages) are re-exported from here so they never import it themselves.
 */
import { Kafka, logLevel, Partitioners, type ISocketFactory } from 'kafkajs';
import type { Logger } from '../log';
import { kafkaLogCreator } from './log';

export type { Admin, Consumer, ConsumerConfig, ConsumerRunConfig, EachBatchPayload, ISocketFactory, Kafka, KafkaMessage, Producer } from 'kafkajs';

/** kafkajs request retries: `retries` attempts, backoff from `initialMs` doubling up to `maxMs`. */
export interface KafkaRetry {
  /** Attempts before a request fails (a consumer then crashes and restarts). */
  readonly retries: number;
  /** First backoff, milliseconds. */
  readonly initialMs: number;
  /** Longest backoff, milliseconds. */
  readonly maxMs: number;
}

/** The defaults {@link createKafkaClient} applies; also the feed's documented defaults. */
export const KAFKA_CLIENT_DEFAULTS = {
  clientId: 'wavegate',
  connectionTimeoutMs: 3_000,
  requestTimeoutMs: 30_000,
  retry: { retries: 5, initialMs: 300, maxMs: 30_000 },
} as const satisfies { clientId: string; connectionTimeoutMs: number; requestTimeoutMs: number; retry: KafkaRetry };

/** Options of {@link createKafkaClient}. Durations are milliseconds. */
export interface KafkaClientOptions {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[];
  /** Root of the client's logs: kafkajs namespaces become `kafkajs.<namespace>` children. */
  readonly log: Logger;
  /** @default 'wavegate' */
  readonly clientId?: string;
  /** TCP connect timeout per broker. @default 3_000 */
  readonly connectionTimeoutMs?: number;
  /** Kafka request timeout. @default 30_000 */
  readonly requestTimeoutMs?: number;
  /** Request retries. @default { retries: 5, initialMs: 300, maxMs: 30_000 } */
  readonly retry?: Partial<KafkaRetry>;
  /** Makes the client's sockets (kafkajs `socketFactory`). @default kafkajs' (plain TCP or TLS, keep-alive) */
  readonly socketFactory?: ISocketFactory;
}

/** The kafkajs client configured for Wavegate: logs through `log`, never the console. */
export function createKafkaClient(o: KafkaClientOptions): Kafka {
  const d = KAFKA_CLIENT_DEFAULTS;
  return new Kafka({
    brokers: [...o.brokers],
    clientId: o.clientId ?? d.clientId,
    connectionTimeout: o.connectionTimeoutMs ?? d.connectionTimeoutMs,
    requestTimeout: o.requestTimeoutMs ?? d.requestTimeoutMs,
    retry: {
      initialRetryTime: o.retry?.initialMs ?? d.retry.initialMs,
      maxRetryTime: o.retry?.maxMs ?? d.retry.maxMs,
      retries: o.retry?.retries ?? d.retry.retries,
    },
    logLevel: logLevel.INFO,
    logCreator: kafkaLogCreator(o.log),
    ...(o.socketFactory !== undefined ? { socketFactory: o.socketFactory } : {}),
  });
}

/**
 * kafkajs' Java-compatible partitioner, passed explicitly so kafkajs does not log its v2 partitioner
 * warning (producers that set `partition` themselves, like the tests' and the router's, never use it).
 */
export const javaCompatiblePartitioner = Partitioners.DefaultPartitioner;
