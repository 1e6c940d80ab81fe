import type { Registry } from '../views/model';

/** Which engine serves the views. */
export type EngineKind = 'embedded' | 'risingwave';

/** JWT verification settings. Exactly one of `secret` / `jwksUrl` is set when auth is on. */
export interface AuthConfig {
  /** `false` only when explicitly switched off (`WAVEGATE_AUTH=off`) for a local demo. @default true */
  enabled: boolean;
  /** HS256 shared secret, at least 32 bytes (`WAVEGATE_JWT_SECRET`). */
  secret?: string;
  /** True when the secret was generated at start-up (embedded demo without a configured secret). */
  secretGenerated?: boolean;
  /** JWKS URL for RS256/ES256 tokens (`WAVEGATE_JWKS_URL`). */
  jwksUrl?: string;
  /** Required `iss` claim, if set (`WAVEGATE_JWT_ISSUER`). */
  issuer?: string;
  /** Required `aud` claim, if set (`WAVEGATE_JWT_AUDIENCE`). */
  audience?: string;
}

/** Ride simulator settings (the embedded demo's stand-in for the services). */
export interface SimulatorConfig {
  /** Run the simulator inside `wavegate serve`. @default true on the embedded engine */
  enabled: boolean;
  /** New rides started per second. @default 2 */
  ridesPerSecond: number;
  /** Size of the rider population. @default 200 */
  riders: number;
  /** Size of the driver population. @default 50 */
  drivers: number;
  /** PRNG seed, for reproducible runs. @default random */
  seed?: number;
  /** Step delay scale: 1 = realistic demo pacing (seconds between steps); 0 = as fast as possible. @default 1 */
  pace: number;
}

/** Query limits: what one GraphQL operation may ask for, and how engine work is shared out. */
export interface LimitsConfig {
  /** Maximum selection depth of an operation (`WAVEGATE_MAX_DEPTH`). @default 10 */
  maxDepth: number;
  /** Maximum estimated cost, in cost units (`WAVEGATE_MAX_COST`; the model is in graphql/limits.ts). @default 10_000 */
  maxCost: number;
  /**
   * Open HTTP connections (websockets included) from one client address; more are closed at once
   * (`WAVEGATE_HTTP_MAX_CONNECTIONS_PER_ADDRESS`, 0 = no cap). A client that opens connections and
   * sends its headers slowly holds at most this many descriptors. @default 256
   */
  maxConnectionsPerAddress: number;
  /** Maximum HTTP request body (and websocket message), in bytes (`WAVEGATE_MAX_BODY_BYTES`). @default 102_400 (100 KiB) */
  maxBodyBytes: number;
  /** Largest `first` accepted by connections, in rows. @default 100 */
  maxPageSize: number;
  /** Most lexical tokens in one GraphQL document; parsing stops beyond (`WAVEGATE_MAX_TOKENS`). @default 5_000 */
  maxTokens: number;
  /** Most aliased fields in one operation, fragments expanded (`WAVEGATE_MAX_ALIASES`). @default 30 */
  maxAliases: number;
  /** Most root fields in one operation, fragments expanded (`WAVEGATE_MAX_ROOT_FIELDS`). @default 20 */
  maxRootFields: number;
  /**
   * Deadline of one HTTP request, websocket query or subscription start (and of each subscription
   * event's nested reads), in milliseconds (`WAVEGATE_REQUEST_TIMEOUT_MS`). @default 10_000
   */
  requestTimeoutMs: number;
  /**
   * Engine queries the GraphQL side runs at once, all viewers together (`WAVEGATE_QUERY_CONCURRENCY`).
   * @default 1 on the embedded engine (PGlite runs one statement at a time anyway), 8 on RisingWave
   */
  queryConcurrency: number;
  /** Engine queries one viewer (token subject) runs at once (`WAVEGATE_VIEWER_QUERY_CONCURRENCY`). @default 2 */
  viewerQueryConcurrency: number;
  /** Engine queries of one viewer waiting for a slot before more are refused (`WAVEGATE_VIEWER_QUEUE_LIMIT`). @default 200 */
  viewerQueueLimit: number;
}

/** Subscription delivery settings. */
export interface SubscriptionsConfig {
  /** Changes buffered per subscriber before conflating to the latest value per key (`WAVEGATE_SUB_QUEUE_LIMIT`). @default 1_000 */
  queueLimit: number;
  /** Keys held per subscriber while conflating before it is told to resync. @default 10_000 */
  conflateLimit: number;
  /** Active subscriptions on one websocket (`WAVEGATE_MAX_SUBSCRIPTIONS_PER_SOCKET`). @default 100 */
  maxPerSocket: number;
  /** Open websockets of one token subject (`WAVEGATE_MAX_SOCKETS_PER_SUBJECT`). @default 20 */
  maxSocketsPerSubject: number;
  /** Changes read per replay page, in changes (`WAVEGATE_REPLAY_PAGE_SIZE`): the memory bound of one resume. @default 500 */
  replayPageSize: number;
  /** Resumes (`after:` replays) running at once, all clients together (`WAVEGATE_MAX_REPLAYS`). @default 16 */
  maxReplays: number;
  /** Resumes running at once for one token subject (`WAVEGATE_MAX_REPLAYS_PER_SUBJECT`). @default 4 */
  maxReplaysPerSubject: number;
  /** Resumes running at once on one websocket (`WAVEGATE_MAX_REPLAYS_PER_SOCKET`). @default 2 */
  maxReplaysPerSocket: number;
  /**
   * Websocket keep-alive (`WAVEGATE_WS_KEEPALIVE_MS`): a ping this often, and a socket whose pong
   * does not come within as long again is closed. @default 12_000 (as graphql-ws)
   */
  keepAliveMs: number;
}

/** Kafka as the gateway's change feed reaches it (the risingwave engine's live changes). */
export interface KafkaConfig {
  /**
   * Bootstrap brokers, `host:port` (`WAVEGATE_KAFKA_BROKERS`, comma-separated). Required on the
   * risingwave engine; empty on the embedded engine unless set.
   */
  brokers: string[];
  /**
   * A view's topic is `topicPrefix + view name` (`WAVEGATE_KAFKA_TOPIC_PREFIX`). `wavegate migrate`
   * reads the same variable, so its sinks write the topics the feed reads.
   * @default 'view.'
   */
  topicPrefix: string;
}

/** The SQL passthrough (`WAVEGATE_SQL_*`, docs/SQL.md): a Postgres wire-protocol listener for BI tools. */
export interface SqlPassthroughSettings {
  /** True when `WAVEGATE_SQL_USERS` is set; the listener runs only then. */
  readonly enabled: boolean;
  /** `WAVEGATE_SQL_HOST`. @default WAVEGATE_HOST, else '127.0.0.1' */
  readonly host: string;
  /** `WAVEGATE_SQL_PORT`; 0 = any free port. @default 5433 */
  readonly port: number;
  /**
   * `WAVEGATE_SQL_USERS` as set (`name:password[:role[:id]]`, comma-separated; '' when unset). It
   * may hold passwords: never log it. The passthrough turns it into SCRAM verifiers when `serve`
   * wires it (passthrough/config.ts), before anything is opened, so a bad entry still stops start-up.
   */
  readonly users: string;
  /** `WAVEGATE_SQL_STATEMENT_TIMEOUT_MS`, milliseconds. @default 30_000 */
  readonly statementTimeoutMs: number;
  /** `WAVEGATE_SQL_MAX_ROWS`: larger results are refused with 54000. @default 10_000 */
  readonly maxRows: number;
  /** `WAVEGATE_SQL_MAX_CONNECTIONS`: authenticated sessions (53300 beyond). @default 100 */
  readonly maxConnections: number;
  /**
   * `WAVEGATE_SQL_MAX_PENDING`: connections not yet authenticated, all addresses; beyond, the
   * oldest of them is closed with 53300. @default 16
   */
  readonly maxPending: number;
  /** `WAVEGATE_SQL_MAX_PENDING_PER_ADDRESS`: not yet authenticated, one address (IPv6: /64); at most maxPending. @default 8 */
  readonly maxPendingPerAddress: number;
  /** `WAVEGATE_SQL_MAX_CONNECTIONS_PER_ADDRESS`: pending and authenticated, one address (IPv6: /64). @default 50 */
  readonly maxConnectionsPerAddress: number;
  /** `WAVEGATE_SQL_AUTH_TIMEOUT_MS`: connect to authenticated, milliseconds. @default 5_000 */
  readonly authTimeoutMs: number;
  /** `WAVEGATE_SQL_MAX_MESSAGE_BYTES`: largest message after login, bytes (65_535 before). @default 8_388_608 (8 MiB) */
  readonly maxMessageBytes: number;
  /** `WAVEGATE_SQL_LOGIN_BACKOFF_MS`: back-off after one wrong password, doubling per failure, ms; 0 = off. @default 100 */
  readonly loginBackoffMs: number;
  /** `WAVEGATE_SQL_LOGIN_BACKOFF_MAX_MS`: longest back-off, ms; below authTimeoutMs. @default 3_000 */
  readonly loginBackoffMaxMs: number;
  /** `WAVEGATE_SQL_LOGIN_BACKOFF_WINDOW_MS`: failures forgotten this long after the last one, ms. @default 300_000 */
  readonly loginBackoffWindowMs: number;
  /** `WAVEGATE_SQL_SESSION_MEMORY_BYTES`: one session's prepared statements and portals, estimated bytes (54000 beyond). @default 33_554_432 (32 MiB) */
  readonly sessionMemoryBytes: number;
  /** `WAVEGATE_SQL_TOTAL_MEMORY_BYTES`: all sessions' prepared statements and portals, estimated bytes (53200 beyond); at least sessionMemoryBytes. @default 268_435_456 (256 MiB) */
  readonly totalMemoryBytes: number;
  /** `WAVEGATE_SQL_EMBEDDED_MAX_COST`: embedded engine plan-cost cap. @default 1_000_000 */
  readonly embeddedMaxPlanCost: number;
  /** `WAVEGATE_SQL_EMBEDDED_WORKER_HEAP_MB`: the passthrough worker's V8 old-generation heap, MiB. @default 256 */
  readonly embeddedWorkerHeapMb: number;
  /** `WAVEGATE_SQL_EMBEDDED_WORKER_MEMORY_MB`: RSS growth a running statement may cause, MiB. @default 512 */
  readonly embeddedWorkerMemoryMb: number;
  /** `WAVEGATE_SQL_EMBEDDED_MAX_RESULT_MB`: largest result the worker hands back, MiB. @default 32 */
  readonly embeddedMaxResultMb: number;
  /** `WAVEGATE_SQL_TLS_CERT` + `WAVEGATE_SQL_TLS_KEY` (PEM file paths): both or neither. */
  readonly tls?: { readonly certPath: string; readonly keyPath: string };
}

/**
 * Which browser origins may call the gateway from their pages (CORS, and the websocket upgrade's
 * `Origin` check). The gateway's own origin (the bundled GraphiQL) always may; requests without an
 * `Origin` header (curl, servers, native apps) are not browser requests and are not limited by it.
 */
export interface CorsConfig {
  /**
   * `WAVEGATE_CORS_ORIGINS`: exact origins (`https://app.example.com`: scheme, host and port as the
   * browser sends them), or `'*'` for any origin. @default [] (the gateway's own origin only)
   */
  readonly origins: readonly string[] | '*';
}

/** Full gateway configuration. */
export interface Config {
  /**
   * The views served, migrated and sunk, with their roles and permissions: the declarations of
   * `WAVEGATE_SCHEMA_DIR` (docs/VIEWS.md), loaded once. @default bundledRegistry() (the bundled schema/)
   */
  views: Registry;
  /** HTTP host to bind (`WAVEGATE_HOST`). @default '127.0.0.1' */
  host: string;
  /** HTTP port (`WAVEGATE_PORT`); 0 picks a free port. @default 4000 */
  port: number;
  /** `WAVEGATE_ENGINE`. @default 'embedded' */
  engine: EngineKind;
  /** Embedded engine data directory (`WAVEGATE_DATA_DIR`); undefined = in memory. */
  dataDir?: string;
  /** Embedded change-log rows retained for resume (`WAVEGATE_CHANGE_RETENTION`). @default 100_000 */
  changeRetention: number;
  /** RisingWave connection string (`WAVEGATE_DATABASE_URL`), risingwave engine only. */
  databaseUrl?: string;
  /**
   * The Kafka change feed, risingwave engine only. loadConfig always sets it; optional so that
   * configurations built in code for the embedded engine (tests, benches) need not.
   */
  kafka?: KafkaConfig;
  auth: AuthConfig;
  simulator: SimulatorConfig;
  limits: LimitsConfig;
  subscriptions: SubscriptionsConfig;
  /** Browser origins allowed besides the gateway's own (`WAVEGATE_CORS_ORIGINS`). @default { origins: [] } */
  cors?: CorsConfig;
  /** SQL passthrough (`WAVEGATE_SQL_*`); the listener runs when it names users. Absent = off. */
  sql?: SqlPassthroughSettings;
  /** `WAVEGATE_LOG_LEVEL`. @default 'info' */
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
}
