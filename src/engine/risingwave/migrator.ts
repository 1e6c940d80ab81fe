import { errors } from '../../errors';
import type { SqlExecutor } from '../../db/types';
import { ensureHistoryTables, HISTORY_TABLES, listCatalog, readHistory, recordMigration, recordStep, replay, serverVersion, type History } from './history';
import { PASSWORD_PLACEHOLDER, type DdlObject } from './objects';
import { catalogDrift, planMigrations, type CatalogObject, type Drift, type Migration, type Plan } from './plan';

/** A migration that started and did not finish (the process died or a statement failed). */
export interface Interrupted {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  /** Steps recorded as done. */
  readonly done: number;
}

/** What migrate found in the database: the input to plan, apply and status. */
export interface Inspection {
  /** `version()` text. */
  readonly serverVersion: string;
  readonly history: History;
  readonly interrupted: Interrupted | undefined;
  /** Pending migrations (the interrupted one first, whole, if any). */
  readonly plan: Plan;
  /** Everything that stops migrate: plan drift, catalog drift, an interrupted migration that changed. */
  readonly drift: readonly Drift[];
  readonly catalog: readonly CatalogObject[];
}

/** Thrown when the server is not RisingWave (e.g. plain Postgres): migrate refuses to touch it. */
export class NotRisingWaveError extends Error {
  constructor(readonly serverVersion: string) {
    super(`the server is not RisingWave: version() = ${serverVersion}`);
    this.name = 'NotRisingWaveError';
  }
}

/** Reads version, catalog and history, and plans. Creates nothing. */
export async function inspect(db: SqlExecutor, desired: readonly DdlObject[]): Promise<Inspection> {
  const version = await serverVersion(db);
  if (!version.risingwave) throw new NotRisingWaveError(version.text);
  const catalog = await listCatalog(db);
  const history = await readHistory(db, catalog);
  const completed = new Set(history.migrations.map((m) => m.version));
  const unfinished = [...new Set(history.steps.map((s) => s.version).filter((v) => !completed.has(v)))];
  const drift: Drift[] = [];
  let interrupted: Interrupted | undefined;
  if (unfinished.length > 1) {
    drift.push({ object: 'wavegate_migration_steps', problem: `${unfinished.length} unfinished migrations are recorded (${unfinished.join(', ')}); migrate leaves at most one: the history was edited` });
  } else if (unfinished.length === 1) {
    const steps = history.steps.filter((s) => s.version === unfinished[0]);
    interrupted = { version: unfinished[0]!, name: steps[0]!.migration, checksum: steps[0]!.migrationChecksum,
      done: steps.filter((s) => s.op !== 'begin').length };
  }
  const versions = [...history.migrations.map((m) => m.version), ...history.steps.map((s) => s.version)];
  const next = interrupted?.version ?? (versions.length === 0 ? 1 : Math.max(...versions) + 1);
  const plan = planMigrations(desired, replay(history.steps, (v) => completed.has(v)), next);
  drift.push(...plan.drift);
  let uncertain: string | undefined;
  if (interrupted !== undefined) {
    const first = plan.migrations[0];
    if (first === undefined || first.name !== interrupted.name || first.checksum !== interrupted.checksum) {
      drift.push({ object: `migration ${interrupted.version}`, problem: `${interrupted.name} (checksum ${interrupted.checksum}) stopped after ${interrupted.done} statement(s), `
        + `and the same migration now plans differently (${first === undefined ? 'nothing pending' : `${first.name}, checksum ${first.checksum}`}): `
        + 'restore the schema/settings it started with and rerun apply, then make the change' });
    } else {
      uncertain = first.steps[interrupted.done]?.name;
    }
  }
  drift.push(...catalogDrift(replay(history.steps), catalog, HISTORY_TABLES, uncertain));
  return { serverVersion: version.text, history, interrupted, plan, drift, catalog };
}

/** Replaces the password placeholder with a quoted SQL literal. */
export function bindPassword(sql: string, password: string | undefined): string {
  if (!sql.includes(PASSWORD_PLACEHOLDER)) return sql;
  if (password === undefined) throw errors.badConfig('WAVEGATE_CDC_PASSWORD is not set: the CDC source statement needs it');
  return sql.split(PASSWORD_PLACEHOLDER).join(`'${password.replace(/'/g, "''")}'`);
}

/** Progress callbacks of {@link applyPlan}. */
export interface ApplyListener {
  step(m: Migration, index: number, sql: string, skipped: boolean): void;
  done(m: Migration): void;
}

/** A statement failed: what ran before it is recorded, so a rerun resumes at this statement. */
export class StepFailedError extends Error {
  constructor(readonly migration: Migration, readonly index: number, readonly sqlText: string, cause: unknown) {
    super(`migration ${migration.version} (${migration.name}) failed at statement ${index} of ${migration.steps.length}: `
      + `${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StepFailedError';
  }
}

/**
 * Applies the inspected plan statement by statement, recording each. Refuses when the inspection
 * found drift. Resumes an interrupted migration after its last recorded statement; the statement
 * that was running when it stopped may have taken effect unrecorded, so it is checked against the
 * catalog (created object present / dropped object absent) and recorded instead of rerun.
 */
export async function applyPlan(db: SqlExecutor, inspection: Inspection, password: string | undefined, on: ApplyListener): Promise<number> {
  if (inspection.drift.length > 0) throw new Error('refusing to apply: drift (see status)');
  const all = inspection.plan.migrations;
  for (const m of all) for (const s of m.steps) bindPassword(s.sql, password); // fail before the first statement
  await ensureHistoryTables(db, inspection.catalog);
  const present = new Set(inspection.catalog.map((c) => c.name));
  let applied = 0;
  for (const m of all) {
    const resuming = inspection.interrupted?.version === m.version;
    const resume = resuming ? inspection.interrupted!.done : 0;
    if (!resuming) await recordStep(db, m, 0, undefined);
    for (let i = resume; i < m.steps.length; i++) {
      const step = m.steps[i]!;
      const took = resuming && i === resume && (step.op === 'create' ? present.has(step.name) : !present.has(step.name));
      if (!took) {
        try {
          await db.query(bindPassword(step.sql, password));
        } catch (err) {
          throw new StepFailedError(m, i + 1, step.sql, err);
        }
      }
      await recordStep(db, m, i + 1, step);
      on.step(m, i + 1, step.sql, took);
      applied++;
    }
    await recordMigration(db, m);
    on.done(m);
  }
  return applied;
}
