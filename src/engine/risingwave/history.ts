import type { SqlExecutor } from '../../db/types';
import type { ObjectKind } from './objects';
import type { AppliedObject, CatalogObject, Migration, Step } from './plan';

/**
 * What `wavegate migrate` records in RisingWave, and the catalog/version look-ups it needs.
 *
 * RisingWave DDL is not transactional (only read-only transactions exist, [READ7] in
 * docs/RISINGWAVE.md, "RisingWave behaviours Wavegate depends on"), so a migration is applied
 * statement by statement and each statement is recorded right after it succeeds; a rerun resumes
 * after the last recorded one. Records are append-only INSERTs, each followed by FLUSH so it is
 * durable and visible to the next read (reads see committed epochs only, [SINK7]).
 */

/** The bookkeeping tables (migrate ignores them when looking for foreign objects). */
export const HISTORY_TABLES = ['wavegate_migrations', 'wavegate_migration_steps'] as const;

const CREATE_TABLES: Record<(typeof HISTORY_TABLES)[number], string> = {
  wavegate_migrations: `CREATE TABLE wavegate_migrations (
  version INT, name VARCHAR, checksum VARCHAR, steps INT, applied_at TIMESTAMPTZ,
  PRIMARY KEY (version)
)`,
  wavegate_migration_steps: `CREATE TABLE wavegate_migration_steps (
  version INT, step INT, migration VARCHAR, migration_checksum VARCHAR,
  op VARCHAR, object_kind VARCHAR, object_name VARCHAR, object_checksum VARCHAR, applied_at TIMESTAMPTZ,
  PRIMARY KEY (version, step)
)`,
};

/** A completed migration, as recorded. */
export interface MigrationRecord {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  readonly steps: number;
  readonly appliedAt: string;
}

/** One recorded statement. */
export interface StepRecord {
  readonly version: number;
  readonly step: number;
  readonly migration: string;
  readonly migrationChecksum: string;
  /** `begin` (step 0) is written before a migration's first statement runs. */
  readonly op: 'create' | 'drop' | 'begin';
  readonly kind: ObjectKind;
  readonly object: string;
  readonly objectChecksum: string;
}

/** Everything recorded so far. */
export interface History {
  readonly migrations: readonly MigrationRecord[];
  readonly steps: readonly StepRecord[];
}

/**
 * Is the server RisingWave? RisingWave reports PostgreSQL 13.14.0 as server_version ([READ1]), so the
 * check reads `version()`, whose text names RisingWave.
 */
export async function serverVersion(db: SqlExecutor): Promise<{ text: string; risingwave: boolean }> {
  const { rows: [row] } = await db.query<{ version: string }>('SELECT version() AS version');
  const text = String(row?.version ?? '');
  return { text, risingwave: /risingwave/i.test(text) };
}

/**
 * Relations in schema `public` of the current database.
 * rw_catalog.rw_relations (id, name, relation_type, schema_id, ...) and rw_catalog.rw_schemas (id,
 * name, ...), as RisingWave v3.0.3 defines them ([READ6] in docs/RISINGWAVE.md, "RisingWave
 * behaviours Wavegate depends on"; rw_relations is the UNION ALL of the relation kinds with
 * relation_type 'table', 'system table', 'source', 'index', 'sink', 'subscription', 'materialized
 * view', 'view').
 */
export async function listCatalog(db: SqlExecutor): Promise<CatalogObject[]> {
  const { rows } = await db.query<{ name: string; relation_type: string }>(
    `SELECT r.name, r.relation_type FROM rw_catalog.rw_relations r
     JOIN rw_catalog.rw_schemas s ON s.id = r.schema_id
     WHERE s.name = 'public' AND r.relation_type <> 'system table'`);
  return rows.map((r) => ({ name: r.name, kind: r.relation_type }));
}

/** Creates the bookkeeping tables that `catalog` does not list yet. */
export async function ensureHistoryTables(db: SqlExecutor, catalog: readonly CatalogObject[]): Promise<void> {
  let created = false;
  for (const t of HISTORY_TABLES) {
    if (catalog.some((c) => c.name === t)) continue;
    await db.query(CREATE_TABLES[t]);
    created = true;
  }
  if (created) await db.query('FLUSH');
}

/** Reads the history; empty when the tables do not exist yet. */
export async function readHistory(db: SqlExecutor, catalog: readonly CatalogObject[]): Promise<History> {
  if (!HISTORY_TABLES.every((t) => catalog.some((c) => c.name === t))) return { migrations: [], steps: [] };
  const { rows: m } = await db.query<Record<string, unknown>>(
    'SELECT version, name, checksum, steps, applied_at FROM wavegate_migrations ORDER BY version');
  const { rows: s } = await db.query<Record<string, unknown>>(
    `SELECT version, step, migration, migration_checksum, op, object_kind, object_name, object_checksum
     FROM wavegate_migration_steps ORDER BY version, step`);
  return {
    migrations: m.map((r) => ({ version: Number(r['version']), name: String(r['name']), checksum: String(r['checksum']),
      steps: Number(r['steps']), appliedAt: String(r['applied_at']) })),
    steps: s.map((r) => ({ version: Number(r['version']), step: Number(r['step']), migration: String(r['migration']),
      migrationChecksum: String(r['migration_checksum']), op: r['op'] === 'drop' ? 'drop' : r['op'] === 'begin' ? 'begin' : 'create',
      kind: String(r['object_kind']) as ObjectKind, object: String(r['object_name']), objectChecksum: String(r['object_checksum']) })),
  };
}

/** Replays recorded steps (optionally only those of some versions) into the objects they leave. */
export function replay(steps: readonly StepRecord[], include: (version: number) => boolean = () => true): Map<string, AppliedObject> {
  const out = new Map<string, AppliedObject>();
  for (const s of steps) {
    if (!include(s.version)) continue;
    if (s.op === 'create') out.set(s.object, { name: s.object, kind: s.kind, checksum: s.objectChecksum });
    else if (s.op === 'drop') out.delete(s.object);
  }
  return out;
}

/**
 * Records, durably, that step `index` (1-based) of `m` took effect; `step` undefined records the
 * `begin` marker (index 0), written before the first statement so an interruption is always visible.
 */
export async function recordStep(db: SqlExecutor, m: Migration, index: number, step: Step | undefined): Promise<void> {
  await db.query(
    `INSERT INTO wavegate_migration_steps (version, step, migration, migration_checksum, op, object_kind, object_name, object_checksum, applied_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::timestamptz)`,
    [m.version, index, m.name, m.checksum, step?.op ?? 'begin', step?.kind ?? '', step?.name ?? '', step?.objectChecksum ?? '',
      new Date().toISOString()]);
  await db.query('FLUSH');
}

/** Records that every step of `m` took effect, durably. */
export async function recordMigration(db: SqlExecutor, m: Migration): Promise<void> {
  await db.query(
    'INSERT INTO wavegate_migrations (version, name, checksum, steps, applied_at) VALUES ($1, $2, $3, $4, $5::timestamptz)',
    [m.version, m.name, m.checksum, m.steps.length, new Date().toISOString()]);
  await db.query('FLUSH');
}
