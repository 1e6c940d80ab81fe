import { sourceTable, type SourceColumn } from '../../outbox/dialect';
import { bundledRegistry } from '../../views/load';
import type { ViewModel } from '../../views/model';
import { sourceDialectOf, type CdcDialect, type CdcSourceSettings, type SinkSettings } from './settings';
import { ddlObject, ident, PASSWORD_PLACEHOLDER, type DdlObject } from './objects';
import { eventSinks, viewSink } from './sinks';

/**
 * RisingWave DDL generated from the same sources of truth as the embedded engine: the outbox
 * table of `migrations/source/<dialect>/` and the view statements of `schema/*.sql`.
 * `[ID]` in comments and notes names a row of the table of RisingWave behaviours in
 * docs/RISINGWAVE.md, which gives the RisingWave source file (v3.0.3) for each.
 */

/** Options for {@link generateDdl}. */
export interface DdlOptions {
  readonly source: CdcSourceSettings;
  readonly sink: SinkSettings;
  /** Views to publish, in dependency order (`config.views.views`). @default bundledRegistry().views */
  readonly views?: readonly ViewModel[];
}

/** Name of the shared CDC source. */
export const SOURCE_NAME = 'outbox_cdc';

/**
 * [CDC3]: upstream column type → the type declared on the RisingWave CDC table, per what
 * RisingWave's validator accepts over the type the upstream reports. MariaDB's JSON is LONGTEXT,
 * which takes VARCHAR (or BYTEA), never JSONB: the payload is cast to jsonb in `outbox` instead.
 */
const RW_TYPES: Record<CdcDialect, Record<string, string>> = {
  // MySQL TIMESTAMP is a UTC instant -> TIMESTAMPTZ; DATETIME is zone-less -> TIMESTAMP.
  mysql: { VARCHAR: 'VARCHAR', CHAR: 'VARCHAR', TEXT: 'VARCHAR', JSON: 'JSONB', TIMESTAMP: 'TIMESTAMPTZ', DATETIME: 'TIMESTAMP', BIGINT: 'BIGINT', INT: 'BIGINT' },
  mariadb: { VARCHAR: 'VARCHAR', CHAR: 'VARCHAR', TEXT: 'VARCHAR', JSON: 'VARCHAR', TIMESTAMP: 'TIMESTAMPTZ', DATETIME: 'TIMESTAMP', BIGINT: 'BIGINT', INT: 'BIGINT' },
  postgres: { VARCHAR: 'VARCHAR', TEXT: 'VARCHAR', JSON: 'JSONB', JSONB: 'JSONB', TIMESTAMPTZ: 'TIMESTAMPTZ', TIMESTAMP: 'TIMESTAMP', BIGINT: 'BIGINT' },
};

function rwType(dialect: CdcDialect, col: SourceColumn): string {
  const out = RW_TYPES[dialect][col.type.replace(/\(.*\)$/, '')];
  if (out === undefined) throw new Error(`no RisingWave type for ${dialect} column ${col.name} ${col.type} (see [CDC3] in docs/RISINGWAVE.md)`);
  return out;
}

/** The columns of the RisingWave CDC table for `dialect`, e.g. `[['id', 'VARCHAR'], ...]`. */
export function outboxColumns(dialect: CdcDialect): { columns: Array<[string, string]>; primaryKey: readonly string[] } {
  const table = sourceTable(sourceDialectOf(dialect));
  return { columns: table.columns.map((c) => [ident(c.name), rwType(dialect, c)]), primaryKey: table.primaryKey };
}

/** Columns CDC tables hold as text that `outbox` casts to jsonb (MariaDB's JSON). */
function jsonAsText(dialect: CdcDialect): ReadonlySet<string> {
  const table = sourceTable(sourceDialectOf(dialect));
  return new Set(table.columns.filter((c) => c.type === 'JSON' && rwType(dialect, c) === 'VARCHAR').map((c) => c.name));
}

function sourceObject(s: CdcSourceSettings): DdlObject {
  const common = [
    `  hostname = '${s.host}',`,
    `  port = '${s.port}',`,
    `  username = '${s.user}',`,
    `  password = ${PASSWORD_PLACEHOLDER},`,
    `  database.name = '${s.databases.join(',')}',`,
  ];
  const mysqlFamily = s.dialect !== 'postgres';
  const options = mysqlFamily
    ? ["  connector = 'mysql-cdc',", ...common, `  server.id = '${s.serverId}'`]
    : ["  connector = 'postgres-cdc',", ...common, `  schema.name = '${s.schema}',`, `  slot.name = '${s.slot}',`,
      `  publication.name = '${s.publication}',`, `  publication.create.enable = '${s.publicationCreate}'`];
  const notes = [
    `Shared ${mysqlFamily ? 'mysql' : 'postgres'}-cdc source [CDC1]: one per upstream server; tables attach with CREATE TABLE ... FROM${s.dialect === 'mariadb' ? ' (MariaDB: same connector)' : ''}.`,
    'Shared sources default to transactional = true: an upstream transaction (business row + its',
    'events) is applied atomically, up to 4096 rows [CDC4]. Upstream prerequisites [CDC5] are checked',
    'by `wavegate doctor`.',
    ...(mysqlFamily
      ? ['server.id must be unique among all replication clients of that server [CDC1].']
      : ['Slot and publication names are fixed (not the rw_cdc_<uuid> defaults) so a DBA can see them [CDC1].']),
  ];
  return ddlObject({
    name: SOURCE_NAME, kind: 'source', group: 'base', dependsOn: [], notes,
    create: `CREATE SOURCE ${SOURCE_NAME} WITH (\n${options.join('\n')}\n)`,
    drop: `DROP SOURCE ${SOURCE_NAME}`,
  });
}

/** Name of the RisingWave CDC table for `database` when it is not `outbox` itself (several databases, or MariaDB). */
export function outboxTableName(database: string): string {
  return ident(`outbox_${database}`);
}

const TYPE_NOTES: Record<CdcDialect, string> = {
  mysql: 'JSON -> JSONB, TIMESTAMP(6) -> TIMESTAMPTZ',
  mariadb: 'JSON (LONGTEXT on MariaDB) -> VARCHAR, jsonb in outbox; TIMESTAMP(6) -> TIMESTAMPTZ',
  postgres: 'JSONB -> JSONB, TIMESTAMPTZ -> TIMESTAMPTZ',
};

/** A CDC table over `database`'s outbox; `sameAs` names an earlier one whose notes apply. */
function cdcTable(s: CdcSourceSettings, name: string, database: string, sameAs?: string): DdlObject {
  const { columns, primaryKey } = outboxColumns(s.dialect);
  const upstream = s.dialect === 'postgres' ? `${s.schema}.outbox` : `${database}.outbox`;
  const server = { mysql: 'MySQL', mariadb: 'MariaDB', postgres: 'Postgres' }[s.dialect];
  const lines = columns.map(([n, t]) => `  ${n} ${t},`);
  return ddlObject({
    name, kind: 'table', group: 'base', dependsOn: [SOURCE_NAME],
    notes: sameAs !== undefined ? [`CDC table over ${server} ${upstream}: the same columns and rules as ${sameAs}.`] : [
      `CDC table over ${server} ${upstream}, columns generated from migrations/source/${sourceDialectOf(s.dialect)}/ [CDC3]:`,
      `${TYPE_NOTES[s.dialect]}. Exactly the upstream primary key; no NOT NULL or DEFAULT [CDC2].`,
      'Do not purge sent outbox rows upstream: DELETEs replicate and retract every view row built from them',
      '[CDC7]. The event sinks below drop deletes (force_append_only), the view sinks do not.',
      'Payload JSON is read with ->> and then cast (e.g. (payload->>\'amount\')::numeric): RisingWave casts',
      'JSON numbers through f64, so money travels as JSON strings [SQL4]. Cast errors become NULLs, not failures.',
    ],
    create: `CREATE TABLE ${name} (\n${lines.join('\n')}\n  PRIMARY KEY (${primaryKey.map(ident).join(', ')})\n) FROM ${SOURCE_NAME} TABLE '${upstream}'`,
    drop: `DROP TABLE ${name}`,
  });
}

/**
 * The relation the views and event sinks read, named `outbox`, so the view SQL of schema/ is the
 * same for every upstream:
 * - one database on MySQL or Postgres: the CDC table itself;
 * - several databases (one per service): a CDC table per database and a materialized view over
 *   their UNION ALL [SQL2];
 * - MariaDB: CDC tables `outbox_<db>` with the payload as VARCHAR [CDC3], and `outbox` casting it
 *   back to jsonb: a plain VIEW for one database (inlined into every reader [SQL6], so the outbox is
 *   not stored twice), the materialized union with the cast in each branch for several.
 */
function outboxObjects(s: CdcSourceSettings): DdlObject[] {
  const [only, ...more] = s.databases;
  if (only === undefined) throw new Error('no outbox database configured');
  const cast = jsonAsText(s.dialect);
  if (more.length === 0 && cast.size === 0) return [cdcTable(s, 'outbox', only)];
  const tables = s.databases.map((d, i) => cdcTable(s, outboxTableName(d), d, i === 0 ? undefined : outboxTableName(only)));
  const columns = outboxColumns(s.dialect).columns.map(([n]) => (cast.has(n) ? `${n}::jsonb AS ${n}` : n)).join(', ');
  const castNote = cast.size === 0 ? [] : [`${[...cast].join(', ')}: VARCHAR in the CDC table (MariaDB's JSON is LONGTEXT [CDC3]), jsonb here [SQL6].`];
  if (more.length === 0) {
    return [...tables, ddlObject({
      name: 'outbox', kind: 'view', group: 'base', dependsOn: tables.map((t) => t.name),
      notes: [`The outbox as the views read it: ${only}.outbox with its payload as jsonb.`, ...castNote,
        'A plain view: RisingWave inlines it into each materialized view and sink that reads it [SQL6].'],
      create: `CREATE VIEW outbox AS\nSELECT ${columns} FROM ${tables[0]!.name}`,
      drop: 'DROP VIEW outbox',
    })];
  }
  const union = tables.map((t) => `SELECT ${columns} FROM ${t.name}`).join('\nUNION ALL\n');
  return [...tables, ddlObject({
    name: 'outbox', kind: 'materialized view', group: 'base', dependsOn: tables.map((t) => t.name),
    notes: [
      `Every service's outbox in one relation: ${s.databases.map((d) => `${d}.outbox`).join(', ')}. UNION ALL is streaming SQL;`,
      'event ids are UUIDs, unique across services. The stream key is each branch\'s primary key plus a hidden',
      '$src branch column [SQL2]; hidden columns reach no sink [SQL3]. A database added later changes this base',
      'object: migrate refuses it as drift (recreating it would rebuild every view).',
      ...castNote,
    ],
    create: `CREATE MATERIALIZED VIEW outbox AS\n${union}`,
    drop: 'DROP MATERIALIZED VIEW outbox',
  })];
}

function viewObjects(view: ViewModel, sink: SinkSettings): DdlObject[] {
  const name = ident(view.name);
  const group = `view:${name}`;
  const mv = ddlObject({
    name, kind: 'materialized view', group, dependsOn: ['outbox', ...view.dependsOn.map(ident)],
    notes: [
      `schema/${name}.sql, whole statement (RisingWave accepts the non-recursive CTE [SQL1]).`,
      `Stream key = GROUP BY columns = ${view.key.join(', ')} [SQL3], the sink's primary_key below.`,
    ],
    create: `CREATE MATERIALIZED VIEW ${name} AS\n${view.sql}`,
    drop: `DROP MATERIALIZED VIEW ${name}`,
  });
  const indexes = view.indexes.map((i) => {
    const rest = i.columns.slice(1).map((c) => c.column);
    return ddlObject({
      name: ident(i.name), kind: 'index', group, dependsOn: [name],
      notes: [`GraphQL lookups by ${i.distributedBy}${rest.length > 0 ? `, ordered by ${rest.join(', ')}` : ''} [SQL7]: no INCLUDE, so all columns`,
        'are stored and the lookup needs no join back; DISTRIBUTED BY the lookup column keeps one key together.'],
      create: `CREATE INDEX ${ident(i.name)} ON ${name} (${i.columns.map((c) => `${ident(c.column)}${c.desc ? ' DESC' : ''}`).join(', ')}) DISTRIBUTED BY (${ident(i.distributedBy)})`,
      drop: `DROP INDEX ${ident(i.name)}`,
    });
  });
  return [mv, ...indexes, ...(view.sink ? [viewSink(view, sink, group)] : [])];
}

/**
 * Every object Wavegate manages in RisingWave, in creation order (dependencies first): the CDC
 * source and outbox table, then per view its materialized view, indexes and Kafka sink, then one
 * Kafka sink per event type.
 */
export function generateDdl(options: DdlOptions): DdlObject[] {
  const views = options.views ?? bundledRegistry().views;
  return [
    sourceObject(options.source),
    ...outboxObjects(options.source),
    ...views.flatMap((v) => viewObjects(v, options.sink)),
    ...eventSinks(outboxColumns(options.source.dialect).columns.map(([n]) => n), options.sink),
  ];
}
