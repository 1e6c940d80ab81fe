import { checksumOf, type DdlObject, type ObjectKind } from './objects';

/**
 * Migration planning, pure: desired objects (from the DDL generator) against what earlier
 * migrations created (replayed from wavegate_migration_steps). No I/O here, so every rule is unit
 * tested without a database.
 */

/** One statement of a migration and the catalog effect it has. */
export interface Step {
  readonly op: 'create' | 'drop';
  readonly name: string;
  readonly kind: ObjectKind;
  /** Checksum of the object's CREATE statement (for drops: of the object being dropped). */
  readonly objectChecksum: string;
  /** SQL to run (secrets as placeholders). */
  readonly sql: string;
  /** Why, for the printed plan. */
  readonly reason: string;
  /** Comment lines for the printed plan. */
  readonly notes: readonly string[];
}

/** An ordered list of statements, applied one by one, recorded under `version`. */
export interface Migration {
  /** Sequence number of this application (1, 2, ...), unique in wavegate_migrations. */
  readonly version: number;
  /** `base`, `view:<name>`, `event_sinks` or `retire`. */
  readonly name: string;
  /** Checksum of the ordered statements. */
  readonly checksum: string;
  readonly steps: readonly Step[];
}

/** An object as earlier migrations left it. */
export interface AppliedObject {
  readonly name: string;
  readonly kind: ObjectKind;
  readonly checksum: string;
}

/** Something `migrate` did not make, or made and can no longer vouch for. It refuses to go on. */
export interface Drift {
  readonly object: string;
  readonly problem: string;
}

/** The result of {@link planMigrations}. */
export interface Plan {
  readonly migrations: readonly Migration[];
  readonly drift: readonly Drift[];
}

/** Drop order for objects whose dependencies are unknown (retired ones): dependents first. */
const DROP_RANK: Record<ObjectKind, number> = { sink: 0, index: 1, 'materialized view': 2, view: 3, table: 4, source: 5 };

/** Checksum of a migration: its ordered (op, sql) pairs. */
export function migrationChecksum(steps: readonly Step[]): string {
  return checksumOf(steps.map((s) => `${s.op}\n${s.sql}`).join('\n;\n'));
}

function createStep(o: DdlObject, reason: string): Step {
  return { op: 'create', name: o.name, kind: o.kind, objectChecksum: o.checksum, sql: o.create, reason, notes: o.notes };
}

function dropStep(o: { name: string; kind: ObjectKind; checksum: string }, sql: string, reason: string): Step {
  return { op: 'drop', name: o.name, kind: o.kind, objectChecksum: o.checksum, sql, reason, notes: [] };
}

/** `DROP <KIND> <name>` for an object known only from history. */
export function dropSql(kind: ObjectKind, name: string): string {
  return `DROP ${kind.toUpperCase()} ${name}`;
}

/**
 * Plans the migrations that take `applied` to `desired`:
 * - a `base` object (CDC source, outbox table) that is new is created; one whose statement changed
 *   is drift (recreating it would re-snapshot the upstream and rebuild every view: a human decides);
 * - any other changed object is dropped and recreated together with everything depending on it,
 *   dependents dropped first: a changed view is DROP SINK, DROP INDEX, DROP MATERIALIZED VIEW, then
 *   CREATE MATERIALIZED VIEW, CREATE INDEX, CREATE SINK;
 * - objects no longer generated are dropped in a final `retire` migration.
 * One migration per group, in the generator's order; versions start at `firstVersion`.
 */
export function planMigrations(desired: readonly DdlObject[], applied: ReadonlyMap<string, AppliedObject>, firstVersion: number): Plan {
  const drift: Drift[] = [];
  const byName = new Map(desired.map((o) => [o.name, o]));
  for (const o of desired) {
    for (const d of o.dependsOn) {
      const dep = byName.get(d);
      if (dep === undefined) throw new Error(`${o.name} depends on ${d}, which is not generated`);
      if (dep.group !== o.group && dep.group !== 'base') throw new Error(`${o.name} (${o.group}) depends on ${d} of another group (${dep.group})`);
    }
  }
  const changed = new Set<string>();
  for (const o of desired) {
    const was = applied.get(o.name);
    if (was === undefined) continue;
    if (was.checksum === o.checksum && was.kind === o.kind) continue;
    if (o.group === 'base') {
      drift.push({ object: o.name, problem: `the ${o.kind} was created with checksum ${was.checksum} and now generates ${o.checksum}: `
        + 'recreating it re-snapshots the upstream and rebuilds every view, so migrate will not do it; restore the settings it was created with, or drop the Wavegate objects and wavegate_* tables by hand and apply from scratch' });
    } else {
      changed.add(o.name);
    }
  }
  // Dependents of a changed object are recreated with it (creation order puts dependents later).
  for (const o of desired) {
    if (o.dependsOn.some((d) => changed.has(d)) && applied.has(o.name)) changed.add(o.name);
  }
  for (const [name, was] of applied) {
    if (!byName.has(name) && ['source', 'table'].includes(was.kind)) {
      drift.push({ object: name, problem: `the ${was.kind} is no longer generated; migrate does not drop CDC objects: drop it by hand` });
    }
  }
  const migrations: Migration[] = [];
  const groups = [...new Set(desired.map((o) => o.group))];
  let version = firstVersion;
  for (const group of groups) {
    const members = desired.filter((o) => o.group === group);
    const drops = members.filter((o) => changed.has(o.name)).reverse().map((o) => {
      const was = applied.get(o.name)!;
      const reason = was.checksum === o.checksum ? 'recreate: an object it reads from is recreated' : `recreate: statement changed (${was.checksum} -> ${o.checksum})`;
      return dropStep(was, dropSql(was.kind, was.name), reason);
    });
    const creates = members.filter((o) => !applied.has(o.name) || changed.has(o.name))
      .map((o) => createStep(o, applied.has(o.name) ? 'recreate' : 'new'));
    const steps = [...drops, ...creates];
    if (steps.length > 0) migrations.push({ version: version++, name: group, checksum: migrationChecksum(steps), steps });
  }
  const retired = [...applied.values()].filter((a) => !byName.has(a.name) && !['source', 'table'].includes(a.kind))
    .sort((a, b) => DROP_RANK[a.kind] - DROP_RANK[b.kind] || a.name.localeCompare(b.name))
    .map((a) => dropStep(a, dropSql(a.kind, a.name), 'retire: no longer generated'));
  if (retired.length > 0) migrations.push({ version: version++, name: 'retire', checksum: migrationChecksum(retired), steps: retired });
  return { migrations, drift };
}

/** A catalog entry: a relation RisingWave reports. */
export interface CatalogObject {
  readonly name: string;
  readonly kind: string;
}

/**
 * Compares the catalog with what migrate's history says exists. `expected` = replay of every
 * recorded step; `uncertain` = the object of an interrupted step (it may or may not exist);
 * `own` = the bookkeeping tables. Anything else present is foreign; anything expected but absent
 * was dropped behind migrate's back.
 */
export function catalogDrift(
  expected: ReadonlyMap<string, AppliedObject>,
  catalog: readonly CatalogObject[],
  own: readonly string[],
  uncertain?: string,
): Drift[] {
  const drift: Drift[] = [];
  const present = new Set(catalog.map((c) => c.name));
  for (const c of catalog) {
    if (own.includes(c.name) || c.name === uncertain) continue;
    const exp = expected.get(c.name);
    // A table with a connector may also be listed as a source of the same name (rw_sources).
    if (exp !== undefined && (exp.kind === c.kind || (c.kind === 'source' && exp.kind === 'table'))) continue;
    drift.push({ object: c.name, problem: exp === undefined
      ? `a ${c.kind} that migrate did not create is present: drop or rename it, or use another database/schema`
      : `migrate created a ${exp.kind} of this name, but the catalog has a ${c.kind}` });
  }
  for (const e of expected.values()) {
    if (!present.has(e.name) && e.name !== uncertain) {
      drift.push({ object: e.name, problem: `migrate created this ${e.kind}, but it is gone: it was dropped outside migrate; recreate it from \`wavegate migrate plan\` output or restore it` });
    }
  }
  return drift;
}

/** Renders migrations as a SQL script: a header per migration, notes and reasons as comments. */
export function renderPlan(migrations: readonly Migration[], header: readonly string[]): string {
  const out = header.map((l) => `-- ${l}`.trimEnd());
  if (migrations.length === 0) out.push('-- Nothing to do: the database matches the generated DDL.');
  for (const m of migrations) {
    out.push('', `-- ==== migration ${m.version}: ${m.name} (checksum ${m.checksum}, ${m.steps.length} statement${m.steps.length === 1 ? '' : 's'})`);
    for (const s of m.steps) {
      out.push('', `-- ${s.op} ${s.kind} ${s.name}: ${s.reason}`, ...s.notes.map((n) => `-- ${n}`.trimEnd()), `${s.sql};`);
    }
  }
  return `${out.join('\n')}\n`;
}
