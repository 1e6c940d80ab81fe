/**
 * Prometheus metrics of one gateway, in its own Registry (never prom-client's global one, so two
 * gateways in one process, as in tests, do not share or clash).
 *
 * /metrics is served without auth, like most exporters: it holds counts and error codes, no row
 * data and no ids. The server binds WAVEGATE_HOST (127.0.0.1 by default); when it listens on a
 * public interface, restrict /metrics at the network edge (ingress rule or NetworkPolicy).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ChangeFeed } from './engine/types';
import { onLeg, type FanoutLeg } from './legs';

/** Where the gauges read their values at scrape time. */
export interface MetricSources {
  readonly hub: { readonly size: number; readonly buffered: { readonly total: number; readonly max: number } };
  readonly feed: Pick<ChangeFeed, 'status'>;
}

/** The gateway's metrics. */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** Counts one finished HTTP GraphQL request. `operationType`: query, mutation, subscription or unknown. */
  httpRequest(operationType: string, status: number): void;
  /** Counts one error sent to a client, by `extensions.code`. */
  graphqlError(code: string): void;
  /** Records the commit-to-delivery latency of one change handed to a subscriber. */
  delivered(latencyMs: number): void;
  /** Counts one poison record the change feed skipped (KafkaFeed `onPoison`), by decode reason. */
  feedPoison(reason: string): void;
  /** Counts one HTTP connection closed on arrival: its address had the most open connections allowed. */
  httpConnectionRefused(): void;
  /** Connects the gauges to the running hub and feed. */
  bind(sources: MetricSources): void;
  /** The exposition text. */
  render(): Promise<string>;
  readonly contentType: string;
}

/** Creates the metrics of one gateway. */
export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  let sources: MetricSources | undefined;
  const requests = new Counter({
    name: 'wavegate_http_requests_total',
    help: 'HTTP GraphQL requests, by operation type and HTTP status.',
    labelNames: ['operation_type', 'status'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'wavegate_graphql_errors_total',
    help: 'Errors sent to clients (HTTP and websocket), by extensions.code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'wavegate_active_subscriptions',
    help: 'Subscriptions registered in the hub.',
    registers: [registry],
    collect() {
      this.set(sources?.hub.size ?? 0);
    },
  });
  new Gauge({
    name: 'wavegate_change_feed_lag_ms',
    help: 'Milliseconds between the commit of the newest delivered change and its delivery by the feed.',
    registers: [registry],
    collect() {
      this.set(sources?.feed.status().lagMs ?? 0);
    },
  });
  new Gauge({
    name: 'wavegate_subscription_buffered',
    help: 'Changes waiting for slow subscribers (queued or conflated to the latest per key), over all subscribers.',
    registers: [registry],
    collect() {
      this.set(sources?.hub.buffered.total ?? 0);
    },
  });
  new Gauge({
    name: 'wavegate_subscription_buffered_max',
    help: 'Changes waiting for the most backed-up subscriber; bounded by WAVEGATE_SUB_QUEUE_LIMIT plus the keys it conflates.',
    registers: [registry],
    collect() {
      this.set(sources?.hub.buffered.max ?? 0);
    },
  });
  const connectionsRefused = new Counter({
    name: 'wavegate_http_connections_refused_total',
    help: 'HTTP connections closed on arrival because their client address had WAVEGATE_HTTP_MAX_CONNECTIONS_PER_ADDRESS open.',
    registers: [registry],
  });
  const poison = new Counter({
    name: 'wavegate_feed_poison_total',
    help: 'Change-feed records skipped as undecodable (poison), by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'wavegate_delivery_latency_seconds',
    help: 'Seconds from the commit of a change to its hand-over to a subscriber.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const legs = new Histogram({
    name: 'wavegate_fanout_leg_seconds',
    help: 'Seconds spent per leg of live fan-out, observed per batch (fetch, decode, hub) or per group of subscribers (execute, write): where the time goes.',
    labelNames: ['leg'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  // legs.ts is process-wide; a weak reference lets the metrics of a stopped gateway go.
  const ref = new WeakRef(legs);
  const stop = onLeg((leg: FanoutLeg, seconds: number) => {
    const h = ref.deref();
    if (h === undefined) stop();
    else h.observe({ leg }, seconds);
  });
  return {
    registry,
    httpRequest: (operationType, status) => requests.inc({ operation_type: operationType, status: String(status) }),
    graphqlError: (code) => errors.inc({ code }),
    delivered: (latencyMs) => latency.observe(Math.max(0, latencyMs) / 1000),
    feedPoison: (reason) => poison.inc({ reason }),
    httpConnectionRefused: () => connectionsRefused.inc(),
    bind: (s) => {
      sources = s;
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
