import { randomBytes } from 'node:crypto';
import { errors } from '../errors';
import { loadCorsConfig } from './cors';
import { envFlag, envInt, envMatching, envNumber, envOneOf, envRaw, envString, type Env, type EnvVarDoc } from './env';
import { loadSqlPassthroughSettings, SQL_PASSTHROUGH_ENV_VARS } from './sql';
import { loadViews } from './views';
import type { Config, EngineKind, LimitsConfig, SubscriptionsConfig } from './types';

/** The limits when no variable is set (on the embedded engine). Tests and benches build configurations from these. */
export const DEFAULT_LIMITS: Readonly<LimitsConfig> = Object.freeze({
  maxDepth: 10,
  maxCost: 10_000,
  maxBodyBytes: 102_400,
  maxConnectionsPerAddress: 256,
  maxPageSize: 100,
  maxTokens: 5_000,
  maxAliases: 30,
  maxRootFields: 20,
  requestTimeoutMs: 10_000,
  queryConcurrency: 1,
  viewerQueryConcurrency: 2,
  viewerQueueLimit: 200,
});

/** Engine queries at once on RisingWave by default: below the read pool's 10 connections, so the readiness probe finds one. */
export const RISINGWAVE_QUERY_CONCURRENCY = 8;

/** The subscription settings when no variable is set. */
export const DEFAULT_SUBSCRIPTIONS: Readonly<SubscriptionsConfig> = Object.freeze({
  queueLimit: 1_000,
  conflateLimit: 10_000,
  maxPerSocket: 100,
  maxSocketsPerSubject: 20,
  replayPageSize: 500,
  maxReplays: 16,
  maxReplaysPerSubject: 4,
  maxReplaysPerSocket: 2,
  keepAliveMs: 12_000,
});

/** Every variable Wavegate reads (the README's table is generated from this list). Keep in step with {@link loadConfig}. */
export const ENV_VARS: readonly EnvVarDoc[] = [
  { name: 'WAVEGATE_PORT', default: '4000', description: 'HTTP port for /graphql (queries, GraphiQL, websockets), /healthz, /readyz, /metrics; 0 = any free port' },
  { name: 'WAVEGATE_HOST', default: '127.0.0.1', description: 'Address to bind; use 0.0.0.0 in containers' },
  { name: 'WAVEGATE_ENGINE', default: 'embedded', description: '`embedded` (PGlite in process) or `risingwave`' },
  { name: 'WAVEGATE_SCHEMA_DIR', default: '(bundled schema/)', description: 'Directory of the views to serve: `wavegate.yaml` (roles) and `<view>.sql` + `<view>.yaml` per view (docs/VIEWS.md)' },
  { name: 'WAVEGATE_DATA_DIR', default: '(in memory)', description: 'Embedded engine: directory to persist the database in' },
  { name: 'WAVEGATE_CHANGE_RETENTION', default: '100000', description: 'Embedded engine: change-log rows kept for subscription resume' },
  { name: 'WAVEGATE_DATABASE_URL', default: '-', description: 'RisingWave engine: postgres:// URL of the RisingWave frontend' },
  { name: 'WAVEGATE_KAFKA_BROKERS', default: '-', description: 'RisingWave engine: Kafka bootstrap servers the change feed reads the view topics from, `host:port[,host:port...]`; required there' },
  { name: 'WAVEGATE_KAFKA_TOPIC_PREFIX', default: 'view.', description: 'RisingWave engine: a view\'s topic is this prefix + the view name (`wavegate migrate` sinks there too)' },
  { name: 'WAVEGATE_AUTH', default: 'on', description: '`off` disables auth (every caller is `ops`); local demos only' },
  { name: 'WAVEGATE_JWT_SECRET', default: '(generated on embedded)', description: 'HS256 secret, at least 32 bytes. Required for the risingwave engine unless WAVEGATE_JWKS_URL is set' },
  { name: 'WAVEGATE_JWKS_URL', default: '-', description: 'JWKS URL for asymmetric tokens (RS256/ES256); instead of the secret' },
  { name: 'WAVEGATE_JWT_ISSUER', default: '-', description: 'Required `iss` claim, if set' },
  { name: 'WAVEGATE_JWT_AUDIENCE', default: '-', description: 'Required `aud` claim, if set' },
  { name: 'WAVEGATE_SIMULATE', default: 'on (embedded)', description: 'Run the ride simulator inside `serve`' },
  { name: 'WAVEGATE_SIM_RATE', default: '2', description: 'Simulator: new rides per second' },
  { name: 'WAVEGATE_SIM_RIDERS', default: '200', description: 'Simulator: number of riders' },
  { name: 'WAVEGATE_SIM_DRIVERS', default: '50', description: 'Simulator: number of drivers' },
  { name: 'WAVEGATE_SIM_SEED', default: '(random)', description: 'Simulator: PRNG seed for a reproducible run' },
  { name: 'WAVEGATE_SIM_OUTBOX_URL', default: '-', description: '`wavegate simulate`: write rides into this MySQL outbox (mysql://user:pass@host:port/db) instead of the embedded engine' },
  { name: 'WAVEGATE_MAX_DEPTH', default: '10', description: 'Maximum query depth' },
  { name: 'WAVEGATE_MAX_COST', default: '10000', description: 'Maximum estimated query cost: 100 per statement a root field sends, 20 per batched relation, 1 per field per row read (src/graphql/limits.ts)' },
  { name: 'WAVEGATE_HTTP_MAX_CONNECTIONS_PER_ADDRESS', default: '256', description: 'Open HTTP connections (websockets included) from one client address; more are closed at once (0 = no cap)' },
  { name: 'WAVEGATE_MAX_BODY_BYTES', default: '102400', description: 'Maximum HTTP request body in bytes' },
  { name: 'WAVEGATE_MAX_TOKENS', default: '5000', description: 'Most lexical tokens in one GraphQL document; longer documents are refused while parsing (400 GRAPHQL_PARSE_FAILED)' },
  { name: 'WAVEGATE_MAX_ALIASES', default: '30', description: 'Most aliased fields in one operation, fragments expanded (QUERY_TOO_COSTLY beyond)' },
  { name: 'WAVEGATE_MAX_ROOT_FIELDS', default: '20', description: 'Most root fields in one operation, fragments expanded (QUERY_TOO_COSTLY beyond)' },
  { name: 'WAVEGATE_REQUEST_TIMEOUT_MS', default: '10000', description: 'Deadline of one GraphQL request (and of a subscription\'s start and each event), in ms: queries still waiting are not run, running ones are cancelled on RisingWave (REQUEST_TIMEOUT)' },
  { name: 'WAVEGATE_QUERY_CONCURRENCY', default: '1 (embedded), 8 (risingwave)', description: 'Engine queries GraphQL runs at once over all viewers; waiting queries are served round-robin per viewer' },
  { name: 'WAVEGATE_VIEWER_QUERY_CONCURRENCY', default: '2', description: 'Engine queries one viewer (token subject) runs at once' },
  { name: 'WAVEGATE_VIEWER_QUEUE_LIMIT', default: '200', description: 'Engine queries of one viewer waiting for a slot; more are refused (TOO_MANY_REQUESTS)' },
  { name: 'WAVEGATE_WS_KEEPALIVE_MS', default: '12000', description: 'Websocket keep-alive: a ping this often; a socket that does not answer within as long again is closed' },
  { name: 'WAVEGATE_SUB_QUEUE_LIMIT', default: '1000', description: 'Changes buffered per subscriber before conflation' },
  { name: 'WAVEGATE_MAX_SUBSCRIPTIONS_PER_SOCKET', default: '100', description: 'Active subscriptions on one websocket (TOO_MANY_REQUESTS beyond)' },
  { name: 'WAVEGATE_MAX_SOCKETS_PER_SUBJECT', default: '20', description: 'Open websockets of one token subject; more are closed with 4429 (raise it for service accounts that share a subject)' },
  { name: 'WAVEGATE_REPLAY_PAGE_SIZE', default: '500', description: 'Changes read per page when a subscription resumes from a cursor (the memory bound of one replay)' },
  { name: 'WAVEGATE_MAX_REPLAYS', default: '16', description: 'Resumes (`after:` replays) running at once over all clients (TOO_MANY_REQUESTS beyond)' },
  { name: 'WAVEGATE_MAX_REPLAYS_PER_SUBJECT', default: '4', description: 'Resumes running at once for one token subject (TOO_MANY_REQUESTS beyond)' },
  { name: 'WAVEGATE_MAX_REPLAYS_PER_SOCKET', default: '2', description: 'Resumes running at once on one websocket (TOO_MANY_REQUESTS beyond)' },
  { name: 'WAVEGATE_CORS_ORIGINS', default: '(same origin only)', description: 'Browser origins allowed to call /graphql (CORS) and open its websocket besides the gateway\'s own (GraphiQL): exact origins, comma-separated (`https://app.example.com,http://localhost:3000`), or `*` for any' },
  { name: 'WAVEGATE_LOG_LEVEL', default: 'info', description: '`debug`, `info`, `warn`, `error` or `silent`' },
  ...SQL_PASSTHROUGH_ENV_VARS,
];

const BROKER_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/** `WAVEGATE_KAFKA_BROKERS`: comma-separated `host:port`, blanks ignored; [] when unset. */
function brokers(env: Env): string[] {
  const raw = envString(env, 'WAVEGATE_KAFKA_BROKERS') ?? '';
  const list = raw.split(',').map((b) => b.trim()).filter((b) => b !== '');
  for (const b of list) {
    const port = Number(BROKER_RE.exec(b)?.[1] ?? 0);
    if (port < 1 || port > 65535) {
      throw errors.badConfig(`WAVEGATE_KAFKA_BROKERS=${raw} is not valid: use host:port[,host:port...] (${b} is not a host:port)`);
    }
  }
  return list;
}

/** `WAVEGATE_KAFKA_TOPIC_PREFIX`: characters Kafka topic names allow, leaving room for the view name (topics are at most 249). */
function topicPrefix(env: Env): string {
  return envMatching(env, 'WAVEGATE_KAFKA_TOPIC_PREFIX', 'view.', /^[A-Za-z0-9._-]{1,200}$/, "use letters, digits, '.', '_' and '-' (at most 200)");
}

/**
 * Reads configuration from `WAVEGATE_*` variables and checks it once, with messages that say
 * what to change. Throws a `BAD_CONFIG` GatewayError.
 */
export function loadConfig(env: Env = process.env): Config {
  const engine = envOneOf<EngineKind>(env, 'WAVEGATE_ENGINE', ['embedded', 'risingwave'], 'embedded');
  const authEnabled = envFlag(env, 'WAVEGATE_AUTH', true);
  const secret = envRaw(env, 'WAVEGATE_JWT_SECRET');
  const jwksUrl = envString(env, 'WAVEGATE_JWKS_URL');
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    throw errors.badConfig('WAVEGATE_JWT_SECRET is shorter than 32 bytes: use a longer random secret (e.g. `openssl rand -hex 32`)');
  }
  if (secret !== undefined && jwksUrl !== undefined) {
    throw errors.badConfig('Set WAVEGATE_JWT_SECRET or WAVEGATE_JWKS_URL, not both');
  }
  if (jwksUrl !== undefined && !/^https?:\/\//.test(jwksUrl)) {
    throw errors.badConfig(`WAVEGATE_JWKS_URL=${jwksUrl} is not an http(s) URL`);
  }
  let generated = false;
  let effectiveSecret = secret;
  if (authEnabled && secret === undefined && jwksUrl === undefined) {
    if (engine === 'risingwave') {
      throw errors.badConfig('Auth is on but no key is configured: set WAVEGATE_JWT_SECRET (>= 32 bytes) or WAVEGATE_JWKS_URL, or WAVEGATE_AUTH=off for a local demo');
    }
    effectiveSecret = randomBytes(32).toString('hex');
    generated = true;
  }
  const databaseUrl = envString(env, 'WAVEGATE_DATABASE_URL');
  if (engine === 'risingwave' && databaseUrl === undefined) {
    throw errors.badConfig('WAVEGATE_ENGINE=risingwave needs WAVEGATE_DATABASE_URL (e.g. postgres://root@localhost:4566/dev)');
  }
  const kafka = { brokers: brokers(env), topicPrefix: topicPrefix(env) };
  if (engine === 'risingwave' && kafka.brokers.length === 0) {
    throw errors.badConfig('WAVEGATE_ENGINE=risingwave needs WAVEGATE_KAFKA_BROKERS: the Kafka bootstrap servers the view sinks write to, as this gateway reaches them (e.g. localhost:9092)');
  }
  const issuer = envString(env, 'WAVEGATE_JWT_ISSUER');
  const audience = envString(env, 'WAVEGATE_JWT_AUDIENCE');
  const dataDir = envString(env, 'WAVEGATE_DATA_DIR');
  const views = loadViews(env);
  const config: Config = {
    views,
    host: envString(env, 'WAVEGATE_HOST') ?? '127.0.0.1',
    port: envInt(env, 'WAVEGATE_PORT', 4000, 0, 65535),
    engine,
    changeRetention: envInt(env, 'WAVEGATE_CHANGE_RETENTION', 100_000, 100, 100_000_000),
    kafka,
    auth: {
      enabled: authEnabled,
      secretGenerated: generated,
      ...(effectiveSecret !== undefined ? { secret: effectiveSecret } : {}),
      ...(jwksUrl !== undefined ? { jwksUrl } : {}),
      ...(issuer !== undefined ? { issuer } : {}),
      ...(audience !== undefined ? { audience } : {}),
    },
    simulator: {
      enabled: envFlag(env, 'WAVEGATE_SIMULATE', engine === 'embedded'),
      ridesPerSecond: envNumber(env, 'WAVEGATE_SIM_RATE', 2, 0.01, 10_000),
      riders: envInt(env, 'WAVEGATE_SIM_RIDERS', 200, 1, 1_000_000),
      drivers: envInt(env, 'WAVEGATE_SIM_DRIVERS', 50, 1, 1_000_000),
      pace: 1,
      ...(envString(env, 'WAVEGATE_SIM_SEED') !== undefined ? { seed: envInt(env, 'WAVEGATE_SIM_SEED', 0, 0, 2 ** 31 - 1) } : {}),
    },
    limits: loadLimits(env, engine),
    subscriptions: loadSubscriptions(env),
    cors: loadCorsConfig(env),
    sql: loadSqlPassthroughSettings(env),
    logLevel: envOneOf(env, 'WAVEGATE_LOG_LEVEL', ['debug', 'info', 'warn', 'error', 'silent'] as const, 'info'),
  };
  if (dataDir !== undefined) config.dataDir = dataDir;
  if (databaseUrl !== undefined) config.databaseUrl = databaseUrl;
  return config;
}

/** `WAVEGATE_MAX_*` query limits and the engine-query scheduler's settings. */
function loadLimits(env: Env, engine: EngineKind): LimitsConfig {
  const d = DEFAULT_LIMITS;
  return {
    maxDepth: envInt(env, 'WAVEGATE_MAX_DEPTH', d.maxDepth, 2, 100),
    maxCost: envInt(env, 'WAVEGATE_MAX_COST', d.maxCost, 10, 10_000_000),
    maxBodyBytes: envInt(env, 'WAVEGATE_MAX_BODY_BYTES', d.maxBodyBytes, 1_024, 100 * 1024 * 1024),
    maxConnectionsPerAddress: envInt(env, 'WAVEGATE_HTTP_MAX_CONNECTIONS_PER_ADDRESS', d.maxConnectionsPerAddress, 0, 1_000_000),
    maxPageSize: d.maxPageSize,
    maxTokens: envInt(env, 'WAVEGATE_MAX_TOKENS', d.maxTokens, 100, 1_000_000),
    maxAliases: envInt(env, 'WAVEGATE_MAX_ALIASES', d.maxAliases, 0, 100_000),
    maxRootFields: envInt(env, 'WAVEGATE_MAX_ROOT_FIELDS', d.maxRootFields, 1, 100_000),
    requestTimeoutMs: envInt(env, 'WAVEGATE_REQUEST_TIMEOUT_MS', d.requestTimeoutMs, 10, 3_600_000),
    queryConcurrency: envInt(env, 'WAVEGATE_QUERY_CONCURRENCY', engine === 'embedded' ? d.queryConcurrency : RISINGWAVE_QUERY_CONCURRENCY, 1, 1_000),
    viewerQueryConcurrency: envInt(env, 'WAVEGATE_VIEWER_QUERY_CONCURRENCY', d.viewerQueryConcurrency, 1, 1_000),
    viewerQueueLimit: envInt(env, 'WAVEGATE_VIEWER_QUEUE_LIMIT', d.viewerQueueLimit, 1, 1_000_000),
  };
}

/** Subscription buffers and the caps on sockets, subscriptions and replays. */
function loadSubscriptions(env: Env): SubscriptionsConfig {
  const d = DEFAULT_SUBSCRIPTIONS;
  return {
    queueLimit: envInt(env, 'WAVEGATE_SUB_QUEUE_LIMIT', d.queueLimit, 1, 1_000_000),
    conflateLimit: d.conflateLimit,
    maxPerSocket: envInt(env, 'WAVEGATE_MAX_SUBSCRIPTIONS_PER_SOCKET', d.maxPerSocket, 1, 1_000_000),
    maxSocketsPerSubject: envInt(env, 'WAVEGATE_MAX_SOCKETS_PER_SUBJECT', d.maxSocketsPerSubject, 1, 1_000_000),
    replayPageSize: envInt(env, 'WAVEGATE_REPLAY_PAGE_SIZE', d.replayPageSize, 1, 100_000),
    maxReplays: envInt(env, 'WAVEGATE_MAX_REPLAYS', d.maxReplays, 1, 100_000),
    maxReplaysPerSubject: envInt(env, 'WAVEGATE_MAX_REPLAYS_PER_SUBJECT', d.maxReplaysPerSubject, 1, 100_000),
    maxReplaysPerSocket: envInt(env, 'WAVEGATE_MAX_REPLAYS_PER_SOCKET', d.maxReplaysPerSocket, 1, 100_000),
    keepAliveMs: envInt(env, 'WAVEGATE_WS_KEEPALIVE_MS', d.keepAliveMs, 1_000, 600_000),
  };
}
