import { execSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import type { OutboxEvent } from '../src/outbox/events';

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

/** Runs a bench's `main`: a failure prints its stack to stderr and sets exit code 1 (no floating promise). */
export function runMain(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
