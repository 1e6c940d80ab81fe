import { createHash } from 'node:crypto';

/** Kinds of objects Wavegate creates, spelled as RisingWave's catalog spells them. */
export type ObjectKind = 'source' | 'table' | 'view' | 'materialized view' | 'index' | 'sink';

/** One object Wavegate manages in RisingWave. */
export interface DdlObject {
  readonly name: string;
  readonly kind: ObjectKind;
  /**
   * The migration it belongs to. `base` objects (CDC source, outbox tables, `outbox`) are never recreated by
   * `migrate` (recreating them re-snapshots the upstream): a change there is refused as drift.
   * Others (`view:<name>`, `event_sinks`) are dropped and recreated, with their dependents, when
   * their statement changes.
   */
  readonly group: string;
  /** Managed objects this one reads from (dropped after it, created before it). */
  readonly dependsOn: readonly string[];
  /** The CREATE statement (no trailing semicolon). Secrets appear as {@link PASSWORD_PLACEHOLDER}. */
  readonly create: string;
  /** The DROP statement. */
  readonly drop: string;
  /** Comment lines printed above the statement in plans and golden files (not sent to RisingWave). */
  readonly notes: readonly string[];
  /** sha256 of `create` (first 16 hex digits): what `migrate` compares to decide a change. */
  readonly checksum: string;
}

/**
 * psql-style variable that stands for the CDC password in generated DDL, so plans, golden files
 * and checksums never hold (or depend on) the secret. `migrate apply` binds it; a plan can be run
 * with `psql -v cdc_password=... -f plan.sql`.
 */
export const PASSWORD_PLACEHOLDER = ":'cdc_password'";

/** Throws unless `s` is a plain lower-case SQL identifier (names are interpolated into DDL). */
export function ident(s: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(s)) throw new Error(`unsafe identifier: ${s}`);
  return s;
}

/** sha256 of `text`, first 16 hex digits. */
export function checksumOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Builds a {@link DdlObject}, computing its checksum. */
export function ddlObject(o: Omit<DdlObject, 'checksum'>): DdlObject {
  return { ...o, checksum: checksumOf(o.create) };
}

