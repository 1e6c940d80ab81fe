/**
 * Starts one example service, chosen by environment, until SIGINT/SIGTERM:
 *
 *   SERVICE       ride | driver | payment | notification | router | traffic (required)
 *   MYSQL_URL     mysql://user:pass@host:3306/<service db>  (router: ROUTER_SOURCES instead; traffic: none)
 *   KAFKA_BROKERS host:port[,host:port]                     @default 127.0.0.1:19092
 *   TOPIC_PREFIX  event topics are <prefix><EventType>      @default events.
 *   LOG_LEVEL     debug | info | warn | error | silent      @default info
 *   PORT          ride: HTTP port                           @default 8080
 *   HOST          ride: HTTP bind address                   @default 127.0.0.1
 *   RIDE_MATCH_TIMEOUT_MS  ride: cancel (system) a ride still without a driver after this  @default 60000
 *   DRIVERS_SEED  driver: add this many drivers around Berlin when the table is empty  @default 0
 *   ROUTER_SOURCES  router: name=mysql-url;name=mysql-url  (the outboxes to forward)
 *   ROUTER_POLL_MS  router: poll interval in ms              @default 200
 *   RIDE_URL      traffic: the Ride service's base URL, e.g. http://ride:8080   (required)
 *   TRAFFIC_RATE  traffic: rides requested per second (> 0)                    @default 1
 *   TRAFFIC_RIDERS  traffic: riders rider-0001 … rider-<n>                     @default 200
 *   TRAFFIC_TRIP_MS  traffic: ms from start to complete                       @default 5000
 *   TRAFFIC_CANCEL_RATE  traffic: share of rides the rider cancels, 0..1      @default 0.1
 *   TRAFFIC_SEED  traffic: PRNG seed (0..4294967295), for a reproducible run  @default from the clock (logged)
 *
 * SERVICE=traffic stands in for the rider and driver apps (traffic.ts): it talks only HTTP to the
 * Ride service, needs no MySQL or Kafka, and waits (retrying) while the Ride service is not up.
 *
 * Each service creates its tables on start (CREATE TABLE IF NOT EXISTS). The router stands in for
 * RisingWave CDC + sinks (router.ts); run it only where RisingWave does not.
 *
 *   node -r ./examples/ride-hailing/register.js examples/ride-hailing/src/main.ts
 */
import type { Pool } from 'mysql2/promise';
import { createLogger, type Logger, type LogLevel } from 'wavegate/consumer';
import { DEFAULT_EVENT_TOPIC_PREFIX } from 'wavegate/kafka';
import { createMysqlPool } from 'wavegate/outbox';
import { addDrivers, createDriverService, migrateDriver } from './driver';
import { createNotificationService, migrateNotification } from './notification';
import { createPaymentService, migratePayment } from './payment';
import { createRideService, migrateRide } from './ride';
import { OutboxRouter } from './router';
import { SERVICE_NAMES, type ServiceName } from './service';
import { createTraffic } from './traffic';

/** The runner's settings, parsed from the environment. */
export type MainConfig =
  | { readonly service: ServiceName; readonly mysqlUrl: string; readonly brokers: string[]; readonly topicPrefix: string; readonly logLevel: LogLevel; readonly port: number; readonly host: string; readonly driversSeed: number; readonly matchTimeoutMs: number }
  | { readonly service: 'router'; readonly sources: Array<{ name: string; url: string }>; readonly brokers: string[]; readonly topicPrefix: string; readonly logLevel: LogLevel; readonly pollMs: number }
  | { readonly service: 'traffic'; readonly rideUrl: string; readonly logLevel: LogLevel; readonly rate: number; readonly riders: number; readonly tripMs: number; readonly cancelRate: number; readonly seed: number | undefined };

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

function decimal(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number, unit: string): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new Error(`${name} must be a number from ${min} to ${max} (${unit}), got ${JSON.stringify(raw)}`);
  return n;
}

function parseTrafficEnv(env: NodeJS.ProcessEnv, logLevel: LogLevel): MainConfig {
  const rideUrl = env['RIDE_URL'] ?? '';
  let ok = false;
  try {
    ok = ['http:', 'https:'].includes(new URL(rideUrl).protocol);
  } catch {
    ok = false;
  }
  if (!ok) throw new Error(`RIDE_URL must be the Ride service's base URL, e.g. http://ride:8080, got ${JSON.stringify(rideUrl)}`);
  const seed = env['TRAFFIC_SEED'];
  return {
    service: 'traffic', rideUrl, logLevel,
    rate: decimal(env, 'TRAFFIC_RATE', 1, 0.001, 1_000, 'rides per second'),
    riders: int(env, 'TRAFFIC_RIDERS', 200, 1, 9_999),
    tripMs: int(env, 'TRAFFIC_TRIP_MS', 5_000, 0, 3_600_000),
    cancelRate: decimal(env, 'TRAFFIC_CANCEL_RATE', 0.1, 0, 1, 'a share of rides'),
    seed: seed === undefined || seed === '' ? undefined : int(env, 'TRAFFIC_SEED', 0, 0, 4_294_967_295),
  };
}

/** Parses the environment; throws a message naming the variable to fix. */
export function parseMainEnv(env: NodeJS.ProcessEnv): MainConfig {
  const service = env['SERVICE'];
  const names = [...SERVICE_NAMES, 'router', 'traffic'];
  if (service === undefined || !names.includes(service)) throw new Error(`SERVICE must be one of ${names.join(', ')}, got ${JSON.stringify(service ?? '')}`);
  const logLevel = (env['LOG_LEVEL'] ?? 'info') as LogLevel;
  if (!LEVELS.includes(logLevel)) throw new Error(`LOG_LEVEL must be one of ${LEVELS.join(', ')}`);
  if (service === 'traffic') return parseTrafficEnv(env, logLevel);
  const brokers = (env['KAFKA_BROKERS'] ?? '127.0.0.1:19092').split(',').map((b) => b.trim()).filter((b) => b.length > 0);
  if (brokers.length === 0) throw new Error('KAFKA_BROKERS must name at least one host:port');
  const topicPrefix = env['TOPIC_PREFIX'] ?? DEFAULT_EVENT_TOPIC_PREFIX;
  if (service === 'router') {
    const sources = (env['ROUTER_SOURCES'] ?? '').split(';').filter((s) => s.trim() !== '').map((s) => {
      const i = s.indexOf('=');
      if (i <= 0) throw new Error(`ROUTER_SOURCES entries are name=mysql-url, got ${JSON.stringify(s)}`);
      return { name: s.slice(0, i).trim(), url: s.slice(i + 1).trim() };
    });
    if (sources.length === 0) throw new Error('ROUTER_SOURCES must name at least one outbox: name=mysql-url;name=mysql-url');
    return { service, sources, brokers, topicPrefix, logLevel, pollMs: int(env, 'ROUTER_POLL_MS', 200, 10, 60_000) };
  }
  const mysqlUrl = env['MYSQL_URL'];
  if (mysqlUrl === undefined || !mysqlUrl.startsWith('mysql://')) throw new Error('MYSQL_URL must be mysql://user:password@host:port/database (the service\'s own database)');
  return {
    service: service as ServiceName, mysqlUrl, brokers, topicPrefix, logLevel,
    port: int(env, 'PORT', 8080, 0, 65_535), host: env['HOST'] ?? '127.0.0.1', driversSeed: int(env, 'DRIVERS_SEED', 0, 0, 100_000),
    matchTimeoutMs: int(env, 'RIDE_MATCH_TIMEOUT_MS', 60_000, 1_000, 86_400_000),
  };
}

/** Starts what `config` names; resolves to its stop function. */
export async function runMain(config: MainConfig, log: Logger): Promise<() => Promise<void>> {
  if (config.service === 'router') {
    const pools = config.sources.map((s) => ({ name: s.name, db: createMysqlPool({ url: s.url }) }));
    const router = new OutboxRouter({ brokers: config.brokers, sources: pools, log, topicPrefix: config.topicPrefix });
    await router.connect();
    router.start(config.pollMs);
    log.info({ sources: config.sources.map((s) => s.name) }, 'outbox router running (stand-in for RisingWave CDC + sinks)');
    return async () => {
      await router.stop();
      for (const p of pools) await p.db.end();
    };
  }
  if (config.service === 'traffic') {
    const traffic = createTraffic({ rideUrl: config.rideUrl, log, rate: config.rate, riders: config.riders, tripMs: config.tripMs, cancelRate: config.cancelRate, seed: config.seed });
    traffic.start();
    const report = setInterval(() => log.info({ ...traffic.stats() }, 'traffic'), 10_000);
    return async () => {
      clearInterval(report);
      await traffic.stop();
    };
  }
  const db: Pool = createMysqlPool({ url: config.mysqlUrl, connectionLimit: 5 });
  const o = { db, brokers: config.brokers, log, consumer: { topicPrefix: config.topicPrefix } };
  let stop: () => Promise<void>;
  switch (config.service) {
    case 'ride': {
      await migrateRide(o);
      const ride = createRideService(o, { matchTimeoutMs: config.matchTimeoutMs });
      await ride.listen(config.port, config.host);
      log.info({ port: config.port, host: config.host }, 'ride service listening');
      stop = () => ride.stop();
      break;
    }
    case 'driver': {
      await migrateDriver(o);
      const [rows] = await db.query('SELECT count(*) AS n FROM drivers');
      if (Number((rows as Array<{ n: number }>)[0]?.n ?? 0) === 0 && config.driversSeed > 0) {
        await addDrivers(o, Array.from({ length: config.driversSeed }, (_, i) => ({
          id: `driver-${String(i + 1).padStart(3, '0')}`, lat: 52.52 + ((i * 37) % 100 - 50) / 1000, lng: 13.405 + ((i * 61) % 100 - 50) / 1000,
        })));
      }
      const s = createDriverService(o);
      await s.start();
      stop = () => s.stop();
      break;
    }
    case 'payment': {
      await migratePayment(o);
      const s = createPaymentService(o);
      await s.start();
      stop = () => s.stop();
      break;
    }
    case 'notification': {
      await migrateNotification(o);
      const s = createNotificationService(o);
      await s.start();
      stop = () => s.stop();
      break;
    }
  }
  log.info({ service: config.service }, 'service running');
  return async () => {
    await stop();
    await db.end();
  };
}

if (require.main === module) {
  let config: MainConfig;
  try {
    config = parseMainEnv(process.env);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel).child(config.service);
  runMain(config, log).then((stop) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      stop().then(() => process.exit(0), (err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      });
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
  }, (err: unknown) => {
    log.error({ err }, 'failed to start');
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 100).unref();
  });
}
