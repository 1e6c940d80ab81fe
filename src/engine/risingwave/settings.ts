import { DEFAULT_EVENT_TOPIC_PREFIX, DEFAULT_VIEW_TOPIC_PREFIX } from '../../kafka/topics';
import { envFlag, envInt, envMatching, envRaw, envString, type Env, type EnvVarDoc } from '../../config/env';
import { errors } from '../../errors';
import type { SourceDialect } from '../../outbox/dialect';

/**
 * The upstream database kind, as RisingWave's CDC sees it: `mysql` and `mariadb` both use the
 * mysql-cdc connector and the outbox of migrations/source/mysql/, but RisingWave's MySQL validator
 * sees the outbox's JSON column as `json` on MySQL and as `longtext` on MariaDB (where JSON is an
 * alias of LONGTEXT), and accepts a JSONB column only over `json`
 * (https://github.com/risingwavelabs/risingwave/blob/v3.0.3/java/connector-node/risingwave-connector-service/src/main/java/com/risingwave/connector/source/common/MySqlValidator.java,
 * `isDataTypeCompatible`). So the generated DDL differs (ddl.ts).
 */
export type CdcDialect = 'mysql' | 'mariadb' | 'postgres';

/** The source migrations (`migrations/source/<dialect>/`) a CDC dialect's outbox is made with. */
export function sourceDialectOf(dialect: CdcDialect): SourceDialect {
  return dialect === 'postgres' ? 'postgres' : 'mysql';
}

/**
 * Where RisingWave reads the outbox from: the upstream database as RisingWave's CDC connector
 * reaches it (host names are resolved inside RisingWave's network, e.g. `mysql` in compose).
 */
export interface CdcSourceSettings {
  /** `WAVEGATE_CDC_DIALECT`: `mysql` or `mariadb` (mysql-cdc), or `postgres` (postgres-cdc). @default 'mysql' */
  readonly dialect: CdcDialect;
  /** `WAVEGATE_CDC_HOST`. @default the dialect's name: 'mysql', 'mariadb' or 'postgres' (compose service names) */
  readonly host: string;
  /** `WAVEGATE_CDC_PORT`. @default 3306 or 5432 */
  readonly port: number;
  /** `WAVEGATE_CDC_USER`: the replication user (see docs/RISINGWAVE.md for its grants). @default 'rw_cdc' */
  readonly user: string;
  /** `WAVEGATE_CDC_PASSWORD`: needed by `migrate apply` and `doctor`, never printed. */
  readonly password: string | undefined;
  /**
   * `WAVEGATE_CDC_DATABASE`: the database(s) holding an outbox table, comma-separated. One per
   * service is the outbox pattern's usual shape (each service owns its database); RisingWave then
   * reads them all through one mysql-cdc source (`database.name` takes a list) and the views read
   * their UNION ALL. Several are supported for mysql and mariadb only. @default ['rides']
   */
  readonly databases: readonly string[];
  /** `WAVEGATE_CDC_SCHEMA` (postgres only). @default 'public' */
  readonly schema: string;
  /** `WAVEGATE_CDC_SERVER_ID` (mysql only): unique among the server's replication clients. @default 5701 */
  readonly serverId: number;
  /** `WAVEGATE_CDC_SLOT` (postgres only): replication slot name, [a-z0-9_] up to 63. @default 'wavegate_outbox' */
  readonly slot: string;
  /** `WAVEGATE_CDC_PUBLICATION` (postgres only). @default 'wavegate_outbox' */
  readonly publication: string;
  /**
   * `WAVEGATE_CDC_PUBLICATION_CREATE` (postgres only): let RisingWave create the publication
   * (needs CREATE on the database); `off` when a DBA pre-created it. @default true
   */
  readonly publicationCreate: boolean;
}

/** Kafka as RisingWave's sinks reach it. */
export interface SinkSettings {
  /**
   * `WAVEGATE_SINK_BROKERS` (falls back to `WAVEGATE_KAFKA_BROKERS`): comma-separated bootstrap
   * servers as seen from RisingWave. @default 'kafka:9092'
   */
  readonly brokers: string;
  /** `WAVEGATE_SINK_TOPIC_PARTITIONS`: partitions of the topics `wavegate migrate topics --create` makes. @default 1 */
  readonly topicPartitions: number;
  /** `WAVEGATE_KAFKA_TOPIC_PREFIX`: a view's sink writes `<prefix><view>`, the topic the gateway's feed reads. @default 'view.' */
  readonly viewTopicPrefix: string;
  /** `WAVEGATE_EVENT_TOPIC_PREFIX`: an event type's sink writes `<prefix><EventType>`. @default 'events.' */
  readonly eventTopicPrefix: string;
}

/** Everything `wavegate migrate` and `wavegate doctor` read from the environment. */
export interface RisingWaveSettings {
  /** `WAVEGATE_DATABASE_URL`: the RisingWave frontend, e.g. postgres://root@localhost:4566/dev. */
  readonly databaseUrl: string | undefined;
  readonly source: CdcSourceSettings;
  readonly sink: SinkSettings;
}

/** The variables {@link loadRisingWaveSettings} reads (docs/RISINGWAVE.md lists them). */
export const RISINGWAVE_ENV_VARS: readonly EnvVarDoc[] = [
  { name: 'WAVEGATE_DATABASE_URL', default: '-', description: 'RisingWave frontend URL (postgres://root@risingwave:4566/dev); `migrate plan` without it prints the plan from scratch' },
  { name: 'WAVEGATE_CDC_DIALECT', default: 'mysql', description: 'Upstream database kind: `mysql` (MySQL 5.7/8), `mariadb` or `postgres`' },
  { name: 'WAVEGATE_CDC_HOST', default: 'mysql / mariadb / postgres', description: 'Upstream host as RisingWave (and `doctor`) reach it' },
  { name: 'WAVEGATE_CDC_PORT', default: '3306 / 5432', description: 'Upstream port' },
  { name: 'WAVEGATE_CDC_USER', default: 'rw_cdc', description: 'Replication user RisingWave connects as' },
  { name: 'WAVEGATE_CDC_PASSWORD', default: '-', description: 'Its password: required by `migrate apply` and `doctor`; never printed (plans show :\'cdc_password\')' },
  { name: 'WAVEGATE_CDC_DATABASE', default: 'rides', description: 'Database(s) holding an outbox table, comma-separated (mysql/mariadb: one per service, e.g. `ride,driver,payment,notification`; postgres: one)' },
  { name: 'WAVEGATE_CDC_SCHEMA', default: 'public', description: 'postgres: schema of the outbox table' },
  { name: 'WAVEGATE_CDC_SERVER_ID', default: '5701', description: 'mysql/mariadb: server.id, unique among the server\'s replication clients' },
  { name: 'WAVEGATE_CDC_SLOT', default: 'wavegate_outbox', description: 'postgres: replication slot name ([a-z0-9_], <= 63)' },
  { name: 'WAVEGATE_CDC_PUBLICATION', default: 'wavegate_outbox', description: 'postgres: publication name' },
  { name: 'WAVEGATE_CDC_PUBLICATION_CREATE', default: 'on', description: 'postgres: `off` if a DBA pre-created the publication' },
  { name: 'WAVEGATE_SINK_BROKERS', default: 'kafka:9092', description: 'Kafka bootstrap servers as RisingWave reaches them (else WAVEGATE_KAFKA_BROKERS); `migrate topics --create` connects to WAVEGATE_KAFKA_BROKERS, else these' },
  { name: 'WAVEGATE_SINK_TOPIC_PARTITIONS', default: '1', description: '`migrate topics --create`: partitions of each sink topic it creates (replication factor: the broker\'s default)' },
  { name: 'WAVEGATE_KAFKA_TOPIC_PREFIX', default: 'view.', description: 'A view\'s sink writes the topic this prefix + the view name (the gateway\'s feed reads the same)' },
  { name: 'WAVEGATE_EVENT_TOPIC_PREFIX', default: 'events.', description: 'An event type\'s sink writes the topic this prefix + the type (e.g. `events.RideRequested`)' },
  { name: 'WAVEGATE_SCHEMA_DIR', default: '(bundled schema/)', description: 'The views to migrate and sink: `<view>.sql` + `<view>.yaml` per view (docs/VIEWS.md)' },
];

const NAME_RE = /^[a-z0-9_]{1,63}$/;

/** Most outbox databases one source reads (a limit for sanity, not RisingWave's). */
export const MAX_OUTBOX_DATABASES = 16;

function databaseList(env: Env, dialect: CdcDialect): string[] {
  const raw = envString(env, 'WAVEGATE_CDC_DATABASE') ?? 'rides';
  const list = raw.split(',').map((d) => d.trim());
  const bad = (why: string) => errors.badConfig(`WAVEGATE_CDC_DATABASE=${raw} is not valid: ${why}`);
  // A RisingWave table outbox_<db> is made for each database when there are several, and on
  // MariaDB (ddl.ts), so the names must then be lower-case identifiers.
  if (list.length === 1 && dialect !== 'mariadb') {
    if (!/^[A-Za-z0-9_]{1,64}$/.test(list[0] ?? '')) throw bad('use letters, digits and _');
    return list;
  }
  if (dialect === 'postgres') {
    throw bad('several outbox databases need WAVEGATE_CDC_DIALECT=mysql or mariadb (a postgres-cdc source reads one database); give one database');
  }
  if (list.length > MAX_OUTBOX_DATABASES) throw bad(`name at most ${MAX_OUTBOX_DATABASES} databases`);
  for (const d of list) if (!/^[a-z0-9_]{1,56}$/.test(d)) throw bad(`"${d}": with several databases or on MariaDB use lower-case letters, digits and _ (up to 56), comma-separated`);
  if (new Set(list).size !== list.length) throw bad('a database is named twice');
  return list;
}

/**
 * Reads the RisingWave migration/preflight settings and checks them once, with messages that say
 * what to change (BAD_CONFIG). Values end up inside SQL string literals, so they are restricted to
 * characters that need no quoting (the password is bound separately and escaped).
 */
export function loadRisingWaveSettings(env: Env): RisingWaveSettings {
  const dialect = envMatching(env, 'WAVEGATE_CDC_DIALECT', 'mysql', /^(?:mysql|mariadb|postgres)$/, 'use mysql, mariadb or postgres') as CdcDialect;
  const host = /^[A-Za-z0-9.-]{1,253}$/;
  const ident = /^[A-Za-z0-9_]{1,64}$/;
  return {
    databaseUrl: envString(env, 'WAVEGATE_DATABASE_URL'),
    source: {
      dialect,
      host: envMatching(env, 'WAVEGATE_CDC_HOST', dialect, host, 'use a host name or IP address'),
      port: envInt(env, 'WAVEGATE_CDC_PORT', dialect === 'postgres' ? 5432 : 3306, 1, 65535),
      user: envMatching(env, 'WAVEGATE_CDC_USER', 'rw_cdc', ident, 'use letters, digits and _'),
      // Not trimmed: a space may be part of a password.
      password: envRaw(env, 'WAVEGATE_CDC_PASSWORD'),
      databases: databaseList(env, dialect),
      schema: envMatching(env, 'WAVEGATE_CDC_SCHEMA', 'public', ident, 'use letters, digits and _'),
      // server.id must be unique among the MySQL server's replication clients (Debezium's MySQL connector).
      serverId: envInt(env, 'WAVEGATE_CDC_SERVER_ID', 5701, 1, 4_294_967_295),
      // PostgreSQL replication slot names are [a-z0-9_], at most 63 characters.
      slot: envMatching(env, 'WAVEGATE_CDC_SLOT', 'wavegate_outbox', NAME_RE, 'use [a-z0-9_], at most 63 characters'),
      publication: envMatching(env, 'WAVEGATE_CDC_PUBLICATION', 'wavegate_outbox', NAME_RE, 'use [a-z0-9_], at most 63 characters'),
      publicationCreate: envFlag(env, 'WAVEGATE_CDC_PUBLICATION_CREATE', true),
    },
    sink: {
      brokers: envMatching(env, 'WAVEGATE_SINK_BROKERS', envString(env, 'WAVEGATE_KAFKA_BROKERS') ?? 'kafka:9092',
        /^[A-Za-z0-9.:,_-]{1,1000}$/, 'use host:port[,host:port...]'),
      topicPartitions: envInt(env, 'WAVEGATE_SINK_TOPIC_PARTITIONS', 1, 1, 10_000),
      eventTopicPrefix: envMatching(env, 'WAVEGATE_EVENT_TOPIC_PREFIX', DEFAULT_EVENT_TOPIC_PREFIX, /^[A-Za-z0-9._-]{1,200}$/, "use letters, digits, '.', '_' and '-' (at most 200)"),
      viewTopicPrefix: envMatching(env, 'WAVEGATE_KAFKA_TOPIC_PREFIX', DEFAULT_VIEW_TOPIC_PREFIX, /^[A-Za-z0-9._-]{1,200}$/, "use letters, digits, '.', '_' and '-' (at most 200)"),
    },
  };
}
