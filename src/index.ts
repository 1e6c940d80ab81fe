/**
 * `wavegate`: the gateway as a library. Start one over an engine with {@link startGateway} (the CLI's
 * `wavegate serve` does the same from environment variables, read by {@link loadConfig}).
 *
 * The other entry points (package.json `exports`):
 * - `wavegate/consumer`: the event consumer toolkit (src/consumer/, docs/CONSUMERS.md);
 * - `wavegate/outbox`: the event contract and the outbox writers (src/outbox/, docs/EVENTS.md);
 * - `wavegate/simulator`: the ride simulator and its world (src/simulator/);
 * - `wavegate/kafka`: Kafka clients and topic names (src/kafka/).
 * Anything else under src/ is internal and may change without notice.
 */
export { startGateway, type Gateway, type GatewayDeps } from './gateway';
export { DEFAULT_LIMITS, DEFAULT_SUBSCRIPTIONS, ENV_VARS, loadConfig } from './config/load';
export type { Env, EnvVarDoc } from './config/env';
export type {
  AuthConfig, Config, CorsConfig, EngineKind, KafkaConfig, LimitsConfig, SimulatorConfig, SqlPassthroughSettings, SubscriptionsConfig,
} from './config/types';
export { openEngine, type EngineConfig, type OpenedEngine, type OpenEngineDeps } from './engine/open';
export type {
  ChangeEvent, ChangeFeed, ChangeFilter, ChangeListener, ChangeOp, Engine, FeedPosition, FeedStatus, QueryOptions, ReplayRequest,
  RunningStatement, Snapshot,
} from './engine/types';
export { DEFAULT_PRUNE_INTERVAL_MS, EmbeddedEngine, type EmbeddedEngineOptions } from './engine/embedded/engine';
export { RisingWaveEngine, type RisingWaveEngineOptions } from './engine/risingwave/engine';
export type { SqlExecutor } from './db/types';
export { createMetrics, type GatewayMetrics } from './metrics';
export { errors, GatewayError, GatewayErrorCode, isGatewayError, type GatewayErrorOptions } from './errors';
export { createLogger, silentLogger, type Logger, type LogLevel } from './log';
export { bundledRegistry, loadRegistry } from './views/load';
export type { ColumnType, Registry, Row, ViewModel } from './views/model';
