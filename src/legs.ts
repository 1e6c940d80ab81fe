/**
 * Where the time of live fan-out goes, by leg: `fetch` (a Kafka fetch), `decode` (a batch of records
 * into changes), `hub` (routing a batch to subscribers), `execute` (one GraphQL execution and
 * serialisation for a group of subscribers), `write` (one payload written to a group's sockets).
 * Each is observed per batch or per group, never per delivery.
 *
 * Process-wide and dependency-free, so the change feeds (engine/) and the transports (graphql/)
 * report here and metrics.ts turns it into the `wavegate_fanout_leg_seconds` histogram: every
 * gateway of the process sees the legs of every feed of the process.
 */

/** The legs of live fan-out. */
export type FanoutLeg = 'fetch' | 'decode' | 'hub' | 'execute' | 'write';

/** Receives one observation (seconds). */
export type LegSink = (leg: FanoutLeg, seconds: number) => void;

const sinks = new Set<LegSink>();

/** Reports `seconds` spent on `leg`. Cheap when nobody listens. */
export function observeLeg(leg: FanoutLeg, seconds: number): void {
  for (const sink of sinks) sink(leg, seconds);
}

/** Reports the time since `startMs` (a `performance.now()` reading) on `leg`. */
export function observeLegSince(leg: FanoutLeg, startMs: number): void {
  if (sinks.size > 0) observeLeg(leg, (performance.now() - startMs) / 1000);
}

/** Adds a sink; returns its removal. */
export function onLeg(sink: LegSink): () => void {
  sinks.add(sink);
  return () => void sinks.delete(sink);
}
