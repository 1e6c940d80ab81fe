import { execSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { cpus, totalmem } from 'node:os';
import type { Engine } from '../src/engine/types';
import type { SqlStatement } from '../src/graphql/build/statements';
import { RIDE_AGGREGATE, validateEvent, type OutboxEvent } from '../src/outbox/events';

/** Percentile (0..100) of a numeric sample, nearest-rank. */
export function percentile(sample: readonly number[], p: number): number {
  if (sample.length === 0) return Number.NaN;
  const sorted = [...sample].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Machine and commit, recorded next to every result. */
export function environment(): Record<string, string | number> {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execSync('git status --porcelain --untracked-files=no', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    if (dirty) commit += '+dirty';
  } catch { /* not a git checkout */ }
  return {
    commit,
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    date: new Date().toISOString(),
  };
}

const P1 = { lat: 52.52, lng: 13.405 };
const P2 = { lat: 52.5, lng: 13.3 };

/** The seven events of one completed ride, in order. */
export function completedRide(id: string, rider: string, driver: string, at: Date): OutboxEvent[] {
  const t = (s: number) => new Date(at.getTime() + s * 1000);
  return [
    { type: 'RideRequested', aggregateId: id, payload: { rider_id: rider, pickup: P1, dropoff: P2 }, occurredAt: t(0) },
    { type: 'DriverAssigned', aggregateId: id, payload: { driver_id: driver, eta_seconds: 90 }, occurredAt: t(30) },
    { type: 'FareCalculated', aggregateId: id, payload: { amount: '14.20', currency: 'EUR', distance_km: '5.10' }, occurredAt: t(31) },
    { type: 'RideStarted', aggregateId: id, payload: { driver_id: driver }, occurredAt: t(200) },
    { type: 'RideCompleted', aggregateId: id, payload: { driver_id: driver, distance_km: '5.30' }, occurredAt: t(900) },
    { type: 'PaymentCaptured', aggregateId: id, payload: { amount: '14.20', currency: 'EUR', payment_id: `p-${id}` }, occurredAt: t(901) },
    { type: 'TripRated', aggregateId: id, payload: { rated_by: 'rider', rating: 5 }, occurredAt: t(1000) },
  ];
}

/**
 * The outbox events of `rides` completed rides (7 each) over `riders` riders and 50 drivers, one
 * ride a minute from `base`, validated: the data set of the query benches (queries.ts, peers.ts).
 */
export function seedEvents(rides: number, riders: number, base: number): OutboxEvent[] {
  const events: OutboxEvent[] = [];
  for (let i = 0; i < rides; i++) {
    events.push(...completedRide(`ride-${i}`, `rider-${i % riders}`, `driver-${i % 50}`, new Date(base + i * 60_000)));
  }
  for (const e of events) validateEvent(e);
  return events;
}

/** Same columns as src/outbox/writer.ts INSERT, many rows per statement; parameters from {@link bulkInsertParams}. */
export const BULK_INSERT = `INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, occurred_at)
SELECT id, $2, aggregate_id, event_type, payload::jsonb, occurred_at
FROM unnest($1::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS e(id, aggregate_id, event_type, payload, occurred_at)`;

/** Rows per {@link BULK_INSERT} statement. */
export const BULK_CHUNK = 3_500;

/** The parameters of one {@link BULK_INSERT} for `part` (at most {@link BULK_CHUNK} events). */
export function bulkInsertParams(part: readonly OutboxEvent[]): unknown[] {
  return [
    part.map(() => randomUUID()), RIDE_AGGREGATE, part.map((e) => e.aggregateId), part.map((e) => e.type),
    part.map((e) => JSON.stringify(e.payload)), part.map((e) => e.occurredAt!.toISOString()),
  ];
}

/**
 * The bare server of the query benches: POST <path> → the rows of that path's statement as JSON
 * (`{"data":[...]}`), straight from `engine`. No auth, no GraphQL, no normalisation: the limit for
 * a gateway sending the same statement to the same engine.
 */
export function startBare(engine: Engine, routes: Record<string, SqlStatement>): Promise<Server> {
  const server = createServer((req, res) => {
    const statement = routes[req.url ?? ''];
    req.resume(); // read and drop the body, as a server must before it answers on a kept-alive connection
    req.on('end', () => {
      if (statement === undefined) return void res.writeHead(404).end();
      engine.query(statement.text, statement.params).then((rows) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data: rows }));
      }, (err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ message: String(err) }] }));
      });
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Closes a server started by {@link startBare}, kept-alive connections included. */
export function stopBare(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  return closed;
}

/** POSTs a JSON body with a bearer token; the parsed JSON answer, or an error for any status but 200. */
export async function post(url: string, body: string, token: string): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

/** Runs a bench's `main`: a failure prints its stack to stderr and sets exit code 1 (no floating promise). */
export function runMain(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
