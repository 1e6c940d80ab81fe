/**
 * `wavegate migrate plan|apply|status|topics`: creates and evolves Wavegate's objects in RisingWave (CDC
 * source, outbox table, materialized views, indexes, Kafka sinks) from the DDL generator, recording
 * what it applied in RisingWave (wavegate_migrations, wavegate_migration_steps). docs/RISINGWAVE.md
 * documents the variables, the exit codes and what Kafka consumers see while a view is recreated.
 */
import { loadViews } from '../config/views';
import { isGatewayError } from '../errors';
import { generateDdl } from '../engine/risingwave/ddl';
import { createTopicsAndWait } from '../kafka/admin';
import { createKafkaClient } from '../kafka/client';
import { DEFAULT_EVENT_TOPIC_PREFIX, DEFAULT_VIEW_TOPIC_PREFIX, eventTopic, isTopicName, viewTopic } from '../kafka/topics';
import { silentLogger } from '../log';
import { EVENT_TYPES } from '../outbox/events';
import type { Registry } from '../views/model';
import { applyPlan, inspect, NotRisingWaveError, StepFailedError, type Inspection } from '../engine/risingwave/migrator';
import { connectClient, isTransient, redactUrl, type OneClient } from '../engine/risingwave/pg';
import { planMigrations, renderPlan } from '../engine/risingwave/plan';
import { loadRisingWaveSettings, type RisingWaveSettings } from '../engine/risingwave/settings';

/** Exit codes of `wavegate migrate` (0, 1, 2 and 78 mean what they mean for every command). */
export const MigrateExit = {
  OK: 0,
  /** A statement failed (what ran before it is recorded: rerun apply to resume) or anything unexpected. */
  FAILURE: 1,
  /** Bad command line. */
  USAGE: 2,
  /** Drift: objects migrate did not create, objects it created are gone, or a base object changed. */
  DRIFT: 3,
  /** The server is not RisingWave (e.g. plain PostgreSQL). Nothing was changed. */
  NOT_RISINGWAVE: 4,
  /** `status` only: migrations are pending. */
  PENDING: 5,
  /** RisingWave could not be reached (EX_UNAVAILABLE). */
  UNAVAILABLE: 69,
  /** A WAVEGATE_* variable is wrong (EX_CONFIG). */
  CONFIG: 78,
} as const;

/** Output streams and (optionally) the environment; `main` passes its CliIo. */
export interface MigrateIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Opens the RisingWave connection. @default a pg client (tests pass a fake RisingWave) */
  readonly connect?: (url: string) => Promise<OneClient>;
}

const USAGE = `wavegate migrate plan|apply|status [--from-scratch] | topics [--create]
  plan     Prints the statements apply would run (SQL, runnable with psql -v cdc_password=...).
           Without WAVEGATE_DATABASE_URL, or with --from-scratch, prints the full plan for an empty database.
  apply    Runs them one by one, recording each; a rerun resumes an interrupted migration.
  status   Applied, interrupted and pending migrations, and drift. Exit 5 when something is pending.
  topics   Prints the Kafka topics the sinks write (one per sunk view of WAVEGATE_SCHEMA_DIR, named
           WAVEGATE_KAFKA_TOPIC_PREFIX + view, and one per event type, WAVEGATE_EVENT_TOPIC_PREFIX + type), one a line. With --create, creates
           the missing ones on WAVEGATE_KAFKA_BROKERS (else WAVEGATE_SINK_BROKERS) with
           WAVEGATE_SINK_TOPIC_PARTITIONS partitions; existing topics are left as they are.
  Exit codes: 0 ok, 1 failure, 2 usage, 3 drift, 4 not RisingWave, 5 pending (status), 69 unreachable, 78 bad config.
`;

function header(s: RisingWaveSettings, where: string): string[] {
  const src = s.source;
  return [
    `wavegate migrate plan: ${where}`,
    `source: ${src.dialect === 'mariadb' ? 'mysql-cdc (MariaDB)' : `${src.dialect}-cdc`} ${src.host}:${src.port}, database ${src.databases.join(', ')}${src.dialect === 'postgres' ? `, schema ${src.schema}` : ''}, user ${src.user}; sinks: Kafka ${s.sink.brokers}`,
    "Run by hand with: psql -h <risingwave> -p 4566 -d dev -U root -v cdc_password=... -f <this file>",
    'Notes cite RisingWave behaviours as [ID]: rows of the table in docs/RISINGWAVE.md, each with its source file at v3.0.3.',
  ];
}

function printDrift(io: MigrateIo, ins: Inspection): void {
  io.stderr('wavegate migrate: refusing to continue: the database has drifted from what migrate recorded:\n');
  for (const d of ins.drift) io.stderr(`  - ${d.object}: ${d.problem}\n`);
}

function printStatus(io: MigrateIo, ins: Inspection): void {
  io.stdout(`server: ${ins.serverVersion}\n`);
  if (ins.history.migrations.length === 0) io.stdout('applied: none\n');
  for (const m of ins.history.migrations) {
    io.stdout(`applied ${m.version} ${m.name} checksum ${m.checksum} (${m.steps} statements) at ${m.appliedAt}\n`);
  }
  if (ins.interrupted) {
    const i = ins.interrupted;
    io.stdout(`interrupted ${i.version} ${i.name} checksum ${i.checksum} after ${i.done} statement(s): apply resumes it\n`);
  }
  for (const m of ins.plan.migrations) io.stdout(`pending ${m.version} ${m.name} checksum ${m.checksum} (${m.steps.length} statements)\n`);
  for (const d of ins.drift) io.stdout(`drift ${d.object}: ${d.problem}\n`);
}

async function connect(io: MigrateIo, url: string): Promise<OneClient | number> {
  try {
    // No statement timeout: CREATE MATERIALIZED VIEW runs until its backfill is done.
    return await (io.connect ?? ((u: string) => connectClient({ url: u, statementTimeoutMs: 0, applicationName: 'wavegate-migrate' })))(url);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    io.stderr(`wavegate migrate: cannot reach RisingWave at ${redactUrl(url)}: ${msg}\n`);
    return isTransient(err) ? MigrateExit.UNAVAILABLE : MigrateExit.FAILURE;
  }
}

async function online(command: string, io: MigrateIo, s: RisingWaveSettings, url: string, views: Registry): Promise<number> {
  const desired = generateDdl({ ...s, views: views.views });
  const client = await connect(io, url);
  if (typeof client === 'number') return client;
  try {
    const ins = await inspect(client, desired);
    if (command === 'status') {
      printStatus(io, ins);
      if (ins.drift.length > 0) return MigrateExit.DRIFT;
      return ins.plan.migrations.length > 0 || ins.interrupted ? MigrateExit.PENDING : MigrateExit.OK;
    }
    if (ins.drift.length > 0) {
      printDrift(io, ins);
      return MigrateExit.DRIFT;
    }
    if (command === 'plan') {
      const resume = ins.interrupted ? `; migration ${ins.interrupted.version} resumes after statement ${ins.interrupted.done}` : '';
      io.stdout(renderPlan(ins.plan.migrations, header(s, `against ${redactUrl(url)} (${ins.serverVersion})${resume}`)));
      return MigrateExit.OK;
    }
    if (ins.plan.migrations.length === 0) {
      io.stdout('wavegate migrate: up to date\n');
      return MigrateExit.OK;
    }
    const n = await applyPlan(client, ins, s.source.password, {
      step: (m, i, sql, skipped) => io.stdout(`migration ${m.version} ${m.name} [${i}/${m.steps.length}] ${skipped ? 'already in effect: ' : ''}${sql.split('\n')[0]}\n`),
      done: (m) => io.stdout(`migration ${m.version} ${m.name} applied (checksum ${m.checksum})\n`),
    });
    io.stdout(`wavegate migrate: applied ${n} statement(s)\n`);
    return MigrateExit.OK;
  } catch (err) {
    if (err instanceof NotRisingWaveError) {
      io.stderr(`wavegate migrate: ${redactUrl(url)} is not RisingWave (version() = "${err.serverVersion}"). `
        + 'Nothing was changed. Point WAVEGATE_DATABASE_URL at the RisingWave frontend (e.g. postgres://root@risingwave:4566/dev).\n');
      return MigrateExit.NOT_RISINGWAVE;
    }
    if (err instanceof StepFailedError) {
      io.stderr(`wavegate migrate: ${err.message}\n  statement: ${err.sqlText.split('\n')[0]}\n`
        + '  The statements before it are recorded; fix the cause and rerun `wavegate migrate apply` to resume.\n');
      return isTransient(err.cause) ? MigrateExit.UNAVAILABLE : MigrateExit.FAILURE;
    }
    if (isTransient(err)) {
      io.stderr(`wavegate migrate: lost the connection to RisingWave: ${err instanceof Error ? err.message : String(err)}; rerun to resume\n`);
      return MigrateExit.UNAVAILABLE;
    }
    throw err;
  } finally {
    await client.close();
  }
}

/** Runs `wavegate migrate <args>`; resolves to the exit code, never throws. */
export async function runMigrate(args: readonly string[], io: MigrateIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    if (command === undefined) {
      io.stderr(USAGE);
      return MigrateExit.USAGE;
    }
    io.stdout(USAGE);
    return MigrateExit.OK;
  }
  const fromScratch = rest.includes('--from-scratch');
  const create = rest.includes('--create');
  const unknown = rest.filter((a) => a !== '--from-scratch' && a !== '--create');
  if (!['plan', 'apply', 'status', 'topics'].includes(command) || unknown.length > 0 || (fromScratch && command !== 'plan')
    || (create && command !== 'topics')) {
    io.stderr(`wavegate migrate: unknown command or option: ${[command, ...rest].join(' ')}\n${USAGE}`);
    return MigrateExit.USAGE;
  }
  try {
    const env = io.env ?? process.env;
    const settings = loadRisingWaveSettings(env);
    const views = loadViews(env);
    if (command === 'topics') return await topics(io, env, settings, views, create);
    const url = settings.databaseUrl;
    if (command === 'plan' && (fromScratch || url === undefined)) {
      const plan = planMigrations(generateDdl({ ...settings, views: views.views }), new Map(), 1);
      io.stdout(renderPlan(plan.migrations, header(settings, 'from scratch (no database consulted)')));
      return MigrateExit.OK;
    }
    if (url === undefined) {
      io.stderr(`wavegate migrate ${command}: WAVEGATE_DATABASE_URL is not set (e.g. postgres://root@risingwave:4566/dev)\n`);
      return MigrateExit.CONFIG;
    }
    return await online(command, io, settings, url, views);
  } catch (err) {
    if (isGatewayError(err)) {
      io.stderr(`wavegate migrate: ${err.message}\n`);
      return MigrateExit.CONFIG;
    }
    io.stderr(`wavegate migrate: ${err instanceof Error ? err.message : String(err)}\n`);
    return MigrateExit.FAILURE;
  }
}

/**
 * The topics the sinks write: `<view prefix><view>` for every view with a sink (the prefix the
 * gateway's feed reads, WAVEGATE_KAFKA_TOPIC_PREFIX), and `<event prefix><EventType>` per event type.
 */
export function sinkTopics(views: Registry, viewPrefix: string = DEFAULT_VIEW_TOPIC_PREFIX, eventPrefix: string = DEFAULT_EVENT_TOPIC_PREFIX): string[] {
  return [...views.views.filter((v) => v.sink).map((v) => viewTopic(v.name, viewPrefix)), ...EVENT_TYPES.map((t) => eventTopic(t, eventPrefix))];
}

/** `migrate topics [--create]`: prints the sink topics, and creates them when asked. */
async function topics(io: MigrateIo, env: Readonly<Record<string, string | undefined>>, s: RisingWaveSettings, views: Registry, create: boolean): Promise<number> {
  const names = sinkTopics(views, s.sink.viewTopicPrefix, s.sink.eventTopicPrefix);
  const bad = names.find((t) => !isTopicName(t));
  if (bad !== undefined) {
    io.stderr(`wavegate migrate topics: ${bad} is not a legal Kafka topic name (at most 249 of A-Z a-z 0-9 . _ -)\n`);
    return MigrateExit.CONFIG;
  }
  if (!create) {
    io.stdout(names.map((t) => `${t}\n`).join(''));
    return MigrateExit.OK;
  }
  const brokers = (env['WAVEGATE_KAFKA_BROKERS']?.trim() || s.sink.brokers).split(',').map((b) => b.trim()).filter((b) => b !== '');
  const admin = createKafkaClient({ brokers, log: silentLogger, clientId: 'wavegate-migrate', retry: { retries: 3 } }).admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = names.filter((t) => !existing.has(t));
    if (missing.length > 0) await createTopicsAndWait(admin, missing.map((topic) => ({ topic, numPartitions: s.sink.topicPartitions })));
    for (const t of names) io.stdout(`${t} ${missing.includes(t) ? `created (${s.sink.topicPartitions} partitions)` : 'exists'}\n`);
    return MigrateExit.OK;
  } catch (err) {
    io.stderr(`wavegate migrate topics: Kafka at ${brokers.join(',')}: ${err instanceof Error ? err.message : String(err)}\n`);
    return MigrateExit.UNAVAILABLE;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
