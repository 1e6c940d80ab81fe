import type { SqlExecutor } from '../db/types';
import { sourceTable } from '../outbox/dialect';
import { finding, type Finding } from './types';

/**
 * Preflight for RisingWave's postgres-cdc source (docs/RISINGWAVE.md, "CDC prerequisites", [CDC5]):
 * wal_level, replication capacity, the CDC role (REPLICATION LOGIN, SELECT on the outbox), the
 * publication, and the outbox table. Reads only (settings, catalogs, has_*_privilege()).
 */

/** Options for {@link checkPostgresSource}. */
export interface PostgresCheckOptions {
  /** Schema of the outbox (`WAVEGATE_CDC_SCHEMA`). @default 'public' */
  schema?: string;
  /** Publication RisingWave uses (`WAVEGATE_CDC_PUBLICATION`). */
  publication: string;
  /** May RisingWave create the publication (`WAVEGATE_CDC_PUBLICATION_CREATE`)? */
  publicationCreate: boolean;
  /** The CDC role to check. @default the connected user (run the doctor as the CDC user). */
  cdcRole?: string;
}

async function one<R>(db: SqlExecutor, sql: string, params: readonly unknown[] = []): Promise<R | undefined> {
  return (await db.query<R>(sql, params)).rows[0];
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** Runs every Postgres preflight check. Never throws for a failed check; throws only if a query fails. */
export async function checkPostgresSource(db: SqlExecutor, options: PostgresCheckOptions): Promise<Finding[]> {
  const schema = options.schema ?? 'public';
  const expected = sourceTable('postgres');
  const qualified = `${schema}.${expected.name}`;
  const findings: Finding[] = [];
  const s = await one<Record<string, string>>(db,
    `SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version,
            current_setting('wal_level') AS wal_level, current_setting('max_replication_slots') AS slots,
            current_setting('max_wal_senders') AS senders, (SELECT count(*) FROM pg_replication_slots)::text AS used,
            current_database() AS db, current_user AS me`);
  const num = Number(s?.['num']);
  findings.push(finding('postgres.version', num >= 100_000 && num < 190_000, `server ${s?.['version']}`,
    'use PostgreSQL 10 to 18'));
  findings.push(finding('postgres.wal_level', s?.['wal_level'] === 'logical', `wal_level = ${s?.['wal_level']} (RisingWave needs logical)`,
    "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL (in compose: command: postgres -c wal_level=logical)"));
  const slots = Number(s?.['slots']);
  const used = Number(s?.['used']);
  const senders = Number(s?.['senders']);
  findings.push(finding('postgres.replication_capacity', slots > used && senders > 0,
    `max_replication_slots = ${slots} (${used} in use), max_wal_senders = ${senders}`,
    'raise max_replication_slots and max_wal_senders to at least the number of CDC sources (plus other replicas), then restart'));

  const role = options.cdcRole ?? String(s?.['me']);
  const r = await one<{ rolreplication: boolean; rolsuper: boolean; rolcanlogin: boolean }>(db,
    'SELECT rolreplication, rolsuper, rolcanlogin FROM pg_roles WHERE rolname = $1', [role]);
  findings.push(finding('postgres.cdc_role', r !== undefined && (r.rolreplication || r.rolsuper) && r.rolcanlogin,
    r === undefined ? `role ${role} does not exist` : `role ${role}: ${r.rolsuper ? 'superuser' : r.rolreplication ? 'REPLICATION' : 'no REPLICATION'}, ${r.rolcanlogin ? 'LOGIN' : 'NOLOGIN'}`,
    `ALTER ROLE ${quoteIdent(role)} WITH REPLICATION LOGIN; (on RDS: GRANT rds_replication TO ${quoteIdent(role)})`));

  const table = await one<{ relkind: string; pk: string | null }>(db,
    `SELECT c.relkind::text AS relkind,
            (SELECT string_agg(a.attname, ',' ORDER BY array_position(i.indkey::int2[], a.attnum))
               FROM pg_index i JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
              WHERE i.indrelid = c.oid AND i.indisprimary) AS pk
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2`, [schema, expected.name]);
  findings.push(finding('postgres.outbox_table', table?.pk === expected.primaryKey.join(','),
    table === undefined ? `no table ${qualified}` : `${qualified} primary key (${table.pk ?? 'none'})`,
    `apply migrations/source/postgres/ to database ${s?.['db']}; RisingWave's table declares the same primary key (${expected.primaryKey.join(', ')})`));

  const canSelect = table !== undefined && (await one<{ ok: boolean }>(db,
    "SELECT has_table_privilege($1, $2, 'SELECT') AS ok", [role, qualified]))?.ok === true;
  findings.push(finding('postgres.cdc_select', canSelect,
    canSelect ? `${role} can SELECT ${qualified}` : `${role} cannot SELECT ${qualified}${table === undefined ? ' (no such table)' : ''}`,
    `GRANT SELECT ON ${qualified} TO ${quoteIdent(role)};`));

  findings.push(await publicationFinding(db, options, role, qualified, table?.relkind === 'p', String(s?.['db'])));
  return findings;
}

async function publicationFinding(db: SqlExecutor, o: PostgresCheckOptions, role: string, qualified: string, partitioned: boolean, database: string): Promise<Finding> {
  const create = `CREATE PUBLICATION ${quoteIdent(o.publication)} FOR TABLE ${qualified}${partitioned ? ' WITH (publish_via_partition_root = true)' : ''};`;
  const pub = await one<{ viaroot: boolean; covers: boolean; alltables: boolean }>(db,
    `SELECT p.pubviaroot AS viaroot, p.puballtables AS alltables,
            EXISTS (SELECT 1 FROM pg_publication_tables t WHERE t.pubname = p.pubname
                     AND t.schemaname || '.' || t.tablename = $2) AS covers
       FROM pg_publication p WHERE p.pubname = $1`, [o.publication, qualified]);
  if (pub !== undefined) {
    const ok = pub.covers && (!partitioned || pub.viaroot);
    return finding('postgres.publication', ok,
      `publication ${o.publication} exists${pub.covers ? ` and covers ${qualified}` : ` but does not cover ${qualified}`}${partitioned && !pub.viaroot ? ' (partitioned table without publish_via_partition_root)' : ''}`,
      pub.covers ? `ALTER PUBLICATION ${quoteIdent(o.publication)} SET (publish_via_partition_root = true);` : `ALTER PUBLICATION ${quoteIdent(o.publication)} ADD TABLE ${qualified};`);
  }
  const canCreate = o.publicationCreate && (await one<{ ok: boolean }>(db,
    "SELECT has_database_privilege($1, current_database(), 'CREATE') AS ok", [role]))?.ok === true;
  return finding('postgres.publication', canCreate,
    canCreate ? `publication ${o.publication} does not exist yet; RisingWave will create it (${role} has CREATE on ${database})`
      : `publication ${o.publication} does not exist${o.publicationCreate ? ` and ${role} lacks CREATE on database ${database}` : ' and WAVEGATE_CDC_PUBLICATION_CREATE=off'}`,
    `as the table owner: ${create} and set WAVEGATE_CDC_PUBLICATION_CREATE=off; or GRANT CREATE ON DATABASE ${quoteIdent(database)} TO ${quoteIdent(role)};`);
}
