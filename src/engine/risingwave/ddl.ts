import { sourceTable, type SourceColumn, type SourceDialect } from '../../outbox/dialect';
import { loadViewSql, VIEW_LIST, type ViewDef, type ViewName } from '../../views/registry';
import type { CdcSourceSettings, SinkSettings } from './settings';
import { ddlObject, ident, PASSWORD_PLACEHOLDER, type DdlObject } from './objects';
import { eventSinks, viewSink } from './sinks';

/**
 * RisingWave DDL generated from the same sources of truth as the embedded engine: the outbox
 * table of `migrations/source/<dialect>/` and the view statements of `schema/*.sql`.
 * Every RisingWave fact used here is from ../shared/reference/risingwave.md (cited as §n).
 */

/** Options for {@link generateDdl}. */
export interface DdlOptions {
  readonly source: CdcSourceSettings;
  readonly sink: SinkSettings;
  /** Views to publish. @default VIEW_LIST */
  readonly views?: readonly ViewDef[];
  /** Reads a view's statement text. @default loadViewSql(view).text (schema/<view>.sql) */
  readonly viewText?: (view: ViewName) => string;
}

/** Name of the shared CDC source. */
export const SOURCE_NAME = 'outbox_cdc';

/** Secondary indexes for the GraphQL query patterns (§2.3: batch lookups by the leading column). */
export const VIEW_INDEXES: ReadonlyArray<{ view: ViewName; name: string; columns: readonly string[]; distributedBy: string }> = [
  { view: 'trip_history', name: 'trip_history_by_rider', columns: ['rider_id', 'requested_at'], distributedBy: 'rider_id' },
  { view: 'trip_history', name: 'trip_history_by_driver', columns: ['driver_id', 'requested_at'], distributedBy: 'driver_id' },
  { view: 'driver_earnings_daily', name: 'driver_earnings_daily_by_driver', columns: ['driver_id', 'day'], distributedBy: 'driver_id' },
];

/** §1.3: upstream column type → the type declared on the RisingWave CDC table. */
function rwType(dialect: SourceDialect, col: SourceColumn): string {
  const t = col.type.replace(/\(.*\)$/, '');
  const map: Record<SourceDialect, Record<string, string>> = {
    // MySQL TIMESTAMP is a UTC instant -> TIMESTAMPTZ; DATETIME is zone-less -> TIMESTAMP.
    mysql: { VARCHAR: 'VARCHAR', CHAR: 'VARCHAR', TEXT: 'VARCHAR', JSON: 'JSONB', TIMESTAMP: 'TIMESTAMPTZ', DATETIME: 'TIMESTAMP', BIGINT: 'BIGINT', INT: 'BIGINT' },
    postgres: { VARCHAR: 'VARCHAR', TEXT: 'VARCHAR', JSON: 'JSONB', JSONB: 'JSONB', TIMESTAMPTZ: 'TIMESTAMPTZ', TIMESTAMP: 'TIMESTAMP', BIGINT: 'BIGINT' },
  };
  const out = map[dialect][t];
  if (out === undefined) throw new Error(`no RisingWave type for ${dialect} column ${col.name} ${col.type} (see §1.3)`);
  return out;
}

/** The columns of the RisingWave outbox table for `dialect`, e.g. `[['id', 'VARCHAR'], ...]`. */
export function outboxColumns(dialect: SourceDialect): { columns: Array<[string, string]>; primaryKey: readonly string[] } {
  const table = sourceTable(dialect);
  return { columns: table.columns.map((c) => [ident(c.name), rwType(dialect, c)]), primaryKey: table.primaryKey };
}

function sourceObject(s: CdcSourceSettings): DdlObject {
  const common = [
    `  hostname = '${s.host}',`,
    `  port = '${s.port}',`,
    `  username = '${s.user}',`,
    `  password = ${PASSWORD_PLACEHOLDER},`,
    `  database.name = '${s.databases.join(',')}',`,
  ];
  const options = s.dialect === 'mysql'
    ? ["  connector = 'mysql-cdc',", ...common, `  server.id = '${s.serverId}'`]
    : ["  connector = 'postgres-cdc',", ...common, `  schema.name = '${s.schema}',`, `  slot.name = '${s.slot}',`,
      `  publication.name = '${s.publication}',`, `  publication.create.enable = '${s.publicationCreate}'`];
  const notes = [
    `Shared ${s.dialect}-cdc source (§1.1): one per upstream server; tables attach with CREATE TABLE ... FROM.`,
    'Shared sources default to transactional = true: an upstream transaction (business row + its',
    'events) is applied atomically, up to 4096 rows (§1.1). Upstream prerequisites (§1.2) are checked',
    'by `wavegate doctor`.',
    ...(s.dialect === 'mysql'
      ? ['server.id must be unique among all replication clients of that MySQL server (§1.1).']
      : ['Slot and publication names are fixed (not the rw_cdc_<uuid> defaults) so a DBA can see them (§1.1).']),
  ];
  return ddlObject({
    name: SOURCE_NAME, kind: 'source', group: 'base', dependsOn: [], notes,
    create: `CREATE SOURCE ${SOURCE_NAME} WITH (\n${options.join('\n')}\n)`,
    drop: `DROP SOURCE ${SOURCE_NAME}`,
  });
}

/** Name of the RisingWave CDC table for `database` when several outbox databases are read. */
export function outboxTableName(database: string): string {
  return ident(`outbox_${database}`);
}

/** A CDC table over `database`'s outbox; `sameAs` names an earlier one whose notes apply. */
function cdcTable(s: CdcSourceSettings, name: string, database: string, sameAs?: string): DdlObject {
  const { columns, primaryKey } = outboxColumns(s.dialect);
  const upstream = s.dialect === 'mysql' ? `${database}.outbox` : `${s.schema}.outbox`;
  const lines = columns.map(([n, t]) => `  ${n} ${t},`);
  return ddlObject({
    name, kind: 'table', group: 'base', dependsOn: [SOURCE_NAME],
    notes: sameAs !== undefined ? [`CDC table over MySQL ${upstream}: the same columns and rules as ${sameAs}.`] : [
      `CDC table over ${s.dialect === 'mysql' ? 'MySQL' : 'Postgres'} ${upstream}, columns generated from migrations/source/${s.dialect}/ (§1.3 types:`,
      `${s.dialect === 'mysql' ? 'JSON -> JSONB, TIMESTAMP(6) -> TIMESTAMPTZ' : 'JSONB -> JSONB, TIMESTAMPTZ -> TIMESTAMPTZ'}). Exactly the upstream primary key; no NOT NULL or DEFAULT (§1.1).`,
      'Do not purge sent outbox rows upstream: DELETEs replicate and retract every view row built from them',
      '(§1.4). The event sinks below drop deletes (force_append_only), the view sinks do not.',
      'Payload JSON is read with ->> and then cast (e.g. (payload->>\'amount\')::numeric): RisingWave casts',
      'JSON numbers through f64, so money travels as JSON strings (§1.4). Cast errors become NULLs, not failures.',
    ],
    create: `CREATE TABLE ${name} (\n${lines.join('\n')}\n  PRIMARY KEY (${primaryKey.map(ident).join(', ')})\n) FROM ${SOURCE_NAME} TABLE '${upstream}'`,
    drop: `DROP TABLE ${name}`,
  });
}

/**
 * The relation the views and event sinks read, named `outbox`: the CDC table itself for one
 * database; for several (one per service), a CDC table per database and a materialized view over
 * their UNION ALL (§2.1), so the view SQL of schema/ is the same either way.
 */
function outboxObjects(s: CdcSourceSettings): DdlObject[] {
  const [only, ...more] = s.databases;
  if (only === undefined) throw new Error('no outbox database configured');
  if (more.length === 0) return [cdcTable(s, 'outbox', only)];
  const tables = s.databases.map((d, i) => cdcTable(s, outboxTableName(d), d, i === 0 ? undefined : outboxTableName(only)));
  const columns = outboxColumns(s.dialect).columns.map(([n]) => n).join(', ');
  const union = tables.map((t) => `SELECT ${columns} FROM ${t.name}`).join('\nUNION ALL\n');
  return [...tables, ddlObject({
    name: 'outbox', kind: 'materialized view', group: 'base', dependsOn: tables.map((t) => t.name),
    notes: [
      `Every service's outbox in one relation: ${s.databases.map((d) => `${d}.outbox`).join(', ')}. UNION ALL is streaming SQL (§2.1);`,
      'event ids are UUIDs, unique across services. The stream key is each branch\'s primary key plus a hidden',
      '$src branch column (RisingWave planner test src/frontend/planner_test/tests/testdata/output/union.yaml;',
      'hidden columns reach no sink, §2.2). A database added later changes this base object: migrate refuses',
      'it as drift (recreating it would rebuild every view).',
    ],
    create: `CREATE MATERIALIZED VIEW outbox AS\n${union}`,
    drop: 'DROP MATERIALIZED VIEW outbox',
  })];
}

function viewObjects(view: ViewDef, text: string, sink: SinkSettings): DdlObject[] {
  const name = ident(view.name);
  const group = `view:${name}`;
  const mv = ddlObject({
    name, kind: 'materialized view', group, dependsOn: ['outbox'],
    notes: [
      `schema/${name}.sql, whole statement (RisingWave accepts the non-recursive CTE, §2.1).`,
      `Stream key = GROUP BY columns = ${view.key.join(', ')} (§2.2), the sink's primary_key below.`,
    ],
    create: `CREATE MATERIALIZED VIEW ${name} AS\n${text}`,
    drop: `DROP MATERIALIZED VIEW ${name}`,
  });
  const indexes = VIEW_INDEXES.filter((i) => i.view === view.name).map((i) => ddlObject({
    name: ident(i.name), kind: 'index', group, dependsOn: [name],
    notes: [`GraphQL lookups by ${i.distributedBy}, ordered by ${i.columns.slice(1).join(', ')} (§2.3: no INCLUDE, so all columns`,
      'are stored and the lookup needs no join back; DISTRIBUTED BY the lookup column keeps one key together).'],
    create: `CREATE INDEX ${ident(i.name)} ON ${name} (${i.columns.map(ident).join(', ')}) DISTRIBUTED BY (${ident(i.distributedBy)})`,
    drop: `DROP INDEX ${ident(i.name)}`,
  }));
  return [mv, ...indexes, viewSink(view, sink, group)];
}

/**
 * Every object Wavegate manages in RisingWave, in creation order (dependencies first): the CDC
 * source and outbox table, then per view its materialized view, indexes and Kafka sink, then one
 * Kafka sink per event type.
 */
export function generateDdl(options: DdlOptions): DdlObject[] {
  const views = options.views ?? VIEW_LIST;
  const text = options.viewText ?? ((v: ViewName) => loadViewSql(v).text);
  return [
    sourceObject(options.source),
    ...outboxObjects(options.source),
    ...views.flatMap((v) => viewObjects(v, text(v.name), options.sink)),
    ...eventSinks(outboxColumns(options.source.dialect).columns.map(([n]) => n), options.sink),
  ];
}
