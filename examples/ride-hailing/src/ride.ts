/**
 * Ride service: the riders' HTTP API. Every state change writes the `rides` row and its event to
 * this service's outbox in one transaction (src/outbox/mysql.ts). It also consumes DriverAssigned
 * (the ride gets its driver). It is the only writer of RideCancelled: a rider's or driver's cancel
 * over HTTP, or `system` ("no driver available") for a ride still waiting for a driver after
 * `matchTimeoutMs` (found by a sweep every min(matchTimeoutMs / 4, 5 s)). Both go through the same
 * locked status transition, so a ride gets at most one.
 *
 *   POST /rides                {rider_id, pickup:{lat,lng}, dropoff:{lat,lng}, ride_id?} → 201 RideRequested
 *   POST /rides/:id/start      (status assigned)                                         → RideStarted
 *   POST /rides/:id/complete   {distance_km:"5.30"} (status started)                      → RideCompleted
 *   POST /rides/:id/cancel     {cancelled_by:"rider"|"driver", reason} (requested|assigned) → RideCancelled
 *   GET  /rides/:id
 * Errors: 400 (body fails the event contract), 404, 409 (wrong status or id taken), 500 (logged).
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { RowDataPacket } from 'mysql2/promise';
import { GatewayErrorCode, inTransaction, isGatewayError, mysqlOutbox, validateEvent, type OutboxEvent } from 'wavegate/outbox';
import { consumerService, migrateCommon, runStatements, serviceConsumer, type Service, type ServiceOptions } from './service';

/** The Ride service's own tables. */
export const RIDE_TABLES = [
  `CREATE TABLE IF NOT EXISTS rides (
    id          VARCHAR(64)  NOT NULL PRIMARY KEY,
    rider_id    VARCHAR(64)  NOT NULL,
    status      VARCHAR(16)  NOT NULL,
    driver_id   VARCHAR(64)  NULL,
    pickup_lat  DOUBLE NOT NULL, pickup_lng  DOUBLE NOT NULL,
    dropoff_lat DOUBLE NOT NULL, dropoff_lng DOUBLE NOT NULL,
    requested_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at  TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    KEY rides_waiting_idx (status, requested_at)
  ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`,
];

/** Ride statuses. */
export type RideStatus = 'requested' | 'assigned' | 'started' | 'completed' | 'cancelled';

/** Creates the outbox, processed_events and `rides`. */
export async function migrateRide(o: Pick<ServiceOptions, 'db'>): Promise<void> {
  await migrateCommon(o.db);
  await runStatements(o.db, RIDE_TABLES);
}

/** The Ride service: an express app plus its consumer. */
export interface RideService extends Service {
  readonly app: express.Express;
  /** Starts the consumer and the match-timeout sweeper (no HTTP). */
  start(): Promise<void>;
  /** start(), then listens on `port` (0 = any); resolves to the server. */
  listen(port: number, host?: string): Promise<Server>;
  /**
   * Cancels (system, "no driver available") every ride still `requested` after matchTimeoutMs, now;
   * resolves to how many this sweep cancelled. The sweeper calls it every min(matchTimeoutMs / 4,
   * 5 s); a call while a sweep runs gets that sweep. Never rejects: errors are logged.
   */
  sweep(): Promise<number>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Options of the Ride service beyond {@link ServiceOptions}. */
export interface RideOptions {
  /**
   * Milliseconds: a ride still `requested` (no driver yet) this long after its request is cancelled
   * by `system`, "no driver available". Must be > 0. @default 60_000 // 1 minute
   */
  matchTimeoutMs?: number;
  /**
   * Milliseconds between the sweeper's own sweeps; 0 runs no sweeper (only {@link RideService.sweep}
   * calls sweep, as tests that count what their sweep cancelled need).
   * @default sweepIntervalMs(matchTimeoutMs) // a quarter of the match timeout, within 50 ms … 5 s
   */
  sweepEveryMs?: number;
}

/** The sweeper's period for `matchTimeoutMs`: a quarter of it, within 50 ms … 5 s. */
export function sweepIntervalMs(matchTimeoutMs: number): number {
  return Math.max(50, Math.min(matchTimeoutMs / 4, 5_000));
}

/** Builds the Ride service (nothing runs before start() / listen()). */
export function createRideService(o: ServiceOptions, options: RideOptions = {}): RideService {
  const log = o.log.child('ride');
  const matchTimeoutMs = options.matchTimeoutMs ?? 60_000;
  if (!Number.isFinite(matchTimeoutMs) || matchTimeoutMs <= 0) throw new Error(`matchTimeoutMs must be a positive number of milliseconds, got ${matchTimeoutMs}`);
  const sweepEveryMs = options.sweepEveryMs ?? sweepIntervalMs(matchTimeoutMs);
  if (!Number.isSafeInteger(sweepEveryMs) || sweepEveryMs < 0) throw new Error(`sweepEveryMs must be a whole number of milliseconds >= 0, got ${sweepEveryMs}`);
  const consumer = serviceConsumer('ride', o)
    .onEvent('DriverAssigned', async ({ event, tx }) => {
      // Only a ride still waiting takes the driver; one cancelled meanwhile keeps its status (the
      // Driver service frees the driver when it sees the RideCancelled).
      await tx.execute("UPDATE rides SET status = 'assigned', driver_id = ? WHERE id = ? AND status = 'requested'",
        [event.payload.driver_id, event.aggregateId]);
    });

  /** Locks the ride, checks its status, updates it and writes the event: one transaction. */
  const transition = (id: string, from: readonly RideStatus[], to: RideStatus, event: (ride: RowDataPacket) => OutboxEvent) =>
    inTransaction(o.db, async (conn) => {
      const [rows] = await conn.execute<RowDataPacket[]>('SELECT * FROM rides WHERE id = ? FOR UPDATE', [id]);
      const ride = rows[0];
      if (ride === undefined) throw new HttpError(404, `no ride ${id}`);
      if (!from.includes(ride['status'] as RideStatus)) throw new HttpError(409, `ride ${id} is ${String(ride['status'])}, not ${from.join(' or ')}`);
      const e = event(ride);
      validateEvent(e);
      await conn.execute('UPDATE rides SET status = ? WHERE id = ?', [to, id]);
      const written = await mysqlOutbox.writeEvent(conn, e);
      return { ride_id: id, status: to, event_id: written.id };
    });

  let stopping = false;
  /**
   * One sweep: a plain indexed read (rides_waiting_idx) finds the candidates, and each goes through
   * the same locked transition as an HTTP cancel, so a rider cancelling at the same moment gets a
   * 409 or makes this one skip the ride: one RideCancelled either way.
   */
  const sweepOnce = async (): Promise<number> => {
    let cancelled = 0;
    try {
      const [rows] = await o.db.execute<RowDataPacket[]>(
        "SELECT id FROM rides WHERE status = 'requested' AND requested_at < NOW(6) - INTERVAL ? MICROSECOND ORDER BY requested_at LIMIT 500",
        [Math.round(matchTimeoutMs * 1000)]);
      for (const r of rows) {
        if (stopping) break;
        try {
          await transition(r['id'] as string, ['requested'], 'cancelled', (ride) =>
            ({ type: 'RideCancelled', aggregateId: ride['id'] as string, payload: { cancelled_by: 'system', reason: 'no driver available' } }));
          cancelled++;
          log.info({ rideId: r['id'] }, 'no driver within the match timeout: ride cancelled');
        } catch (err) {
          if (!(err instanceof HttpError)) throw err; // 409/404: assigned or cancelled meanwhile
        }
      }
    } catch (err) {
      log.error({ err }, 'match timeout sweep failed');
    }
    return cancelled;
  };
  let sweeping: Promise<number> | undefined;
  const sweep = (): Promise<number> => {
    sweeping ??= sweepOnce().finally(() => {
      sweeping = undefined;
    });
    return sweeping;
  };
  let started = false;
  let sweeper: NodeJS.Timeout | undefined;

  const trace = (req: Request) => {
    const t = req.header('traceparent');
    return t === undefined ? {} : { traceContext: t };
  };
  const body = (req: Request): Record<string, unknown> => (typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {});

  const app = express();
  app.use(express.json({ limit: '16kb' }));

  app.post('/rides', async (req, res) => {
    const b = body(req);
    const id = typeof b['ride_id'] === 'string' ? b['ride_id'] : `ride-${randomUUID()}`;
    const e: OutboxEvent<'RideRequested'> = { type: 'RideRequested', aggregateId: id, payload: { rider_id: b['rider_id'], pickup: b['pickup'], dropoff: b['dropoff'] } as never, ...trace(req) };
    validateEvent(e);
    const result = await inTransaction(o.db, async (conn) => {
      try {
        await conn.execute('INSERT INTO rides (id, rider_id, status, pickup_lat, pickup_lng, dropoff_lat, dropoff_lng) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [id, e.payload.rider_id, 'requested', e.payload.pickup.lat, e.payload.pickup.lng, e.payload.dropoff.lat, e.payload.dropoff.lng]);
      } catch (err) {
        if ((err as { code?: unknown }).code === 'ER_DUP_ENTRY') throw new HttpError(409, `ride ${id} exists`);
        throw err;
      }
      const written = await mysqlOutbox.writeEvent(conn, e);
      return { ride_id: id, status: 'requested', event_id: written.id };
    });
    res.status(201).json(result);
  });

  app.post('/rides/:id/start', async (req, res) => {
    res.json(await transition(req.params['id'] as string, ['assigned'], 'started', (ride) =>
      ({ type: 'RideStarted', aggregateId: ride['id'] as string, payload: { driver_id: ride['driver_id'] as string }, ...trace(req) })));
  });

  app.post('/rides/:id/complete', async (req, res) => {
    const b = body(req);
    res.json(await transition(req.params['id'] as string, ['started'], 'completed', (ride) =>
      ({ type: 'RideCompleted', aggregateId: ride['id'] as string, payload: { driver_id: ride['driver_id'] as string, distance_km: b['distance_km'] as string }, ...trace(req) })));
  });

  app.post('/rides/:id/cancel', async (req, res) => {
    const b = body(req);
    const by = b['cancelled_by'];
    if (by !== 'rider' && by !== 'driver') throw new HttpError(400, 'cancelled_by must be rider or driver');
    res.json(await transition(req.params['id'] as string, ['requested', 'assigned'], 'cancelled', (ride) =>
      ({ type: 'RideCancelled', aggregateId: ride['id'] as string, payload: { cancelled_by: by, reason: b['reason'] as string }, ...trace(req) })));
  });

  app.get('/rides/:id', async (req, res) => {
    const [rows] = await o.db.execute<RowDataPacket[]>('SELECT id, rider_id, status, driver_id FROM rides WHERE id = ?', [req.params['id']]);
    if (rows[0] === undefined) throw new HttpError(404, `no ride ${req.params['id']}`);
    res.json(rows[0]);
  });

  // express 5 passes rejected promises of async handlers here.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof HttpError) {
      res.status(err.status).json({ error: err.message });
    } else if (isGatewayError(err, GatewayErrorCode.BAD_OUTBOX_PAYLOAD)) {
      res.status(400).json({ error: err.message, path: err.details?.['path'] });
    } else if (typeof err === 'object' && err !== null && (err as { type?: unknown }).type === 'entity.parse.failed') {
      res.status(400).json({ error: 'body is not JSON' });
    } else {
      const id = randomUUID();
      log.error({ err, errorId: id }, 'request failed');
      res.status(500).json({ error: `internal error ${id}` });
    }
  });

  let server: Server | undefined;
  const start = async (): Promise<void> => {
    if (started) return;
    await consumer.start();
    started = true;
    stopping = false;
    if (sweepEveryMs === 0) return;
    // sweep() never rejects, so the timer's promise needs no handler.
    sweeper = setInterval(() => void sweep(), sweepEveryMs);
    sweeper.unref();
  };
  return {
    ...consumerService('ride', consumer),
    app,
    start,
    sweep,
    async listen(port, host = '127.0.0.1') {
      await start();
      const s = app.listen(port, host);
      server = s;
      await new Promise<void>((resolve, reject) => {
        s.once('listening', resolve);
        s.once('error', reject);
      });
      return s;
    },
    async stop() {
      stopping = true;
      started = false;
      if (sweeper !== undefined) clearInterval(sweeper);
      sweeper = undefined;
      await sweeping;
      if (server !== undefined) {
        const s = server;
        server = undefined;
        const closed = new Promise<void>((resolve) => s.close(() => resolve()));
        s.closeAllConnections();
        await closed;
      }
      await consumer.stop();
    },
  };
}
