import { outboxColumns } from '../engine/risingwave/ddl';
import { sourceTable } from '../outbox/dialect';
import { finding, type Finding } from './types';

/**
 * Preflight for RisingWave's mysql-cdc source (docs/RISINGWAVE.md, "CDC prerequisites"; rows [CDC3]
 * and [CDC5] of its table of RisingWave behaviours): binlog settings, the CDC user's privileges,
 * the outbox table and its column types as RisingWave's validator will judge them. Reads only:
 * SHOW VARIABLES, SHOW GRANTS, information_schema.
 */

/** What the checks need of a mysql2/promise Connection. */
export interface MysqlQueryable {
  query(sql: string, values?: unknown[]): Promise<[unknown, unknown]>;
}

/** Options for {@link checkMysqlSource}. */
export interface MysqlCheckOptions {
  /** Databases holding an outbox (`WAVEGATE_CDC_DATABASE`, one per service or just one). */
  databases: readonly string[];
  /**
   * The CDC account to check, as `SHOW GRANTS FOR` names it. @default the connected user
   * (run the doctor as the CDC user, the way RisingWave connects).
   */
  cdcUser?: { user: string; host: string };
  /** `WAVEGATE_CDC_DIALECT`: which CDC table DDL migrate generates (its column types are checked). @default 'mysql' */
  dialect?: 'mysql' | 'mariadb';
}

/** The privileges a shared mysql-cdc source needs, on *.* ([CDC5]). */
export const REQUIRED_PRIVILEGES = ['SELECT', 'REPLICATION SLAVE', 'REPLICATION CLIENT'] as const;

/** Synonyms: MariaDB >= 10.5 prints BINLOG MONITOR for REPLICATION CLIENT (RisingWave accepts it, [CDC5]), REPLICA for SLAVE. */
const SYNONYMS: Record<string, string> = { 'BINLOG MONITOR': 'REPLICATION CLIENT', 'REPLICATION REPLICA': 'REPLICATION SLAVE' };

async function rows(db: MysqlQueryable, sql: string, values: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  const [r] = await db.query(sql, values);
  return r as Array<Record<string, unknown>>;
}

async function variable(db: MysqlQueryable, name: string): Promise<string | undefined> {
  const r = await rows(db, 'SHOW GLOBAL VARIABLES LIKE ?', [name]);
  const v = r[0]?.['Value'];
  return v === undefined || v === null ? undefined : String(v);
}

/**
 * Global privileges (ON *.*) granted in SHOW GRANTS output, normalised (synonyms folded).
 * `ALL PRIVILEGES` is returned as is. Database- and column-level grants are ignored: replication
 * privileges only exist globally and RisingWave asks for SELECT on *.* too.
 */
export function globalPrivileges(grantLines: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const line of grantLines) {
    const m = /^GRANT (.+?) ON \*\.\* TO /i.exec(line);
    if (!m) continue;
    for (const p of m[1]!.split(',').map((s) => s.trim().toUpperCase())) {
      if (p === '' || p.includes('(')) continue;
      out.add(SYNONYMS[p] ?? p);
    }
  }
  return out;
}

/** Checks the grants of the CDC account: the required three present, nothing more (least privilege). */
export function grantFindings(grantLines: readonly string[], account: string): Finding[] {
  const have = globalPrivileges(grantLines);
  const all = have.has('ALL PRIVILEGES') || have.has('ALL');
  const missing = REQUIRED_PRIVILEGES.filter((p) => !all && !have.has(p));
  const extra = all ? ['ALL PRIVILEGES'] : [...have].filter((p) => p !== 'USAGE' && !(REQUIRED_PRIVILEGES as readonly string[]).includes(p));
  const grant = `GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO ${account};`;
  return [
    finding('mysql.cdc_user_grants', missing.length === 0,
      missing.length === 0 ? `${account} has ${REQUIRED_PRIVILEGES.join(', ')} on *.*` : `${account} lacks ${missing.join(', ')} on *.*`,
      `${grant} (MariaDB >= 10.5 shows REPLICATION CLIENT as BINLOG MONITOR; either is accepted)`),
    finding('mysql.cdc_user_least_privilege', extra.length === 0,
      extra.length === 0 ? `${account} has no other global privileges` : `${account} also has ${extra.join(', ')} on *.*`,
      `use a dedicated CDC user with exactly these privileges: CREATE USER 'rw_cdc'@'%' IDENTIFIED BY '...'; ${grant.replace(account, "'rw_cdc'@'%'")}`,
      'warning'),
  ];
}

/**
 * [CDC3]: the RisingWave types RisingWave's MySQL validator accepts over each upstream DATA_TYPE the
 * outbox uses (https://github.com/risingwavelabs/risingwave/blob/v3.0.3/java/connector-node/risingwave-connector-service/src/main/java/com/risingwave/connector/source/common/MySqlValidator.java,
 * `isDataTypeCompatible`, signed types). It reads DATA_TYPE from information_schema.COLUMNS
 * (validate_sql.properties, `mysql.table_schema`); MariaDB reports its JSON columns as `longtext`.
 */
export const VALIDATOR_ACCEPTS: Readonly<Record<string, readonly string[]>> = {
  char: ['VARCHAR'], varchar: ['VARCHAR'], text: ['VARCHAR'], tinytext: ['VARCHAR'], mediumtext: ['VARCHAR'],
  longtext: ['BYTEA', 'VARCHAR'], json: ['JSONB'], timestamp: ['TIMESTAMPTZ'], datetime: ['TIMESTAMP'],
  bigint: ['BIGINT', 'DECIMAL'], int: ['INTEGER', 'BIGINT'],
};

/** The CDC table's column types (as migrate generates them for `dialect`) against what the server reports. */
async function columnFindings(db: MysqlQueryable, database: string, options: MysqlCheckOptions): Promise<Finding[]> {
  const dialect = options.dialect ?? 'mysql';
  const reported = await rows(db,
    'SELECT COLUMN_NAME AS c, DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [database, 'outbox']);
  if (reported.length === 0) return []; // no table: the outbox_table check says so
  const types = new Map(reported.map((r) => [String(r['c']).toLowerCase(), String(r['t']).toLowerCase()]));
  const bad = outboxColumns(dialect).columns
    .map(([name, rw]) => ({ name, rw, upstream: types.get(name) }))
    .filter((c) => c.upstream === undefined || !(VALIDATOR_ACCEPTS[c.upstream] ?? []).includes(c.rw));
  const other = dialect === 'mysql' ? 'mariadb' : 'mysql';
  const fixedByOther = bad.length > 0 && outboxColumns(other).columns
    .every(([name, rw]) => (VALIDATOR_ACCEPTS[types.get(name) ?? ''] ?? []).includes(rw));
  const check = options.databases.length === 1 ? 'mysql.outbox_columns' : `mysql.outbox_columns[${database}]`;
  return [finding(check, bad.length === 0,
    bad.length === 0 ? `${database}.outbox column types fit the ${dialect} CDC table RisingWave will validate`
      : bad.map((c) => `${c.name}: server type ${c.upstream ?? '(missing)'}, RisingWave type ${c.rw}`).join('; '),
    fixedByOther
      ? `set WAVEGATE_CDC_DIALECT=${other}: ${other === 'mariadb' ? 'MariaDB reports JSON columns as longtext, which RisingWave accepts as VARCHAR only' : 'the server reports JSON columns as json, which RisingWave accepts as JSONB only'}`
      : `apply migrations/source/mysql/ to database ${database} (RisingWave refuses the CDC table otherwise: "Incompatible data type of column ...")`)];
}

function expect(check: string, actual: string | undefined, wanted: string, fix: string): Finding {
  const ok = actual !== undefined && actual.toUpperCase() === wanted;
  return finding(check, ok, `${check.replace('mysql.', '')} = ${actual ?? '(unset)'} (RisingWave needs ${wanted})`, fix);
}

/** Runs every MySQL preflight check. Never throws for a failed check; throws only if a query fails. */
export async function checkMysqlSource(db: MysqlQueryable, options: MysqlCheckOptions): Promise<Finding[]> {
  const findings: Finding[] = [];
  const version = String((await rows(db, 'SELECT VERSION() AS v'))[0]?.['v'] ?? '');
  const mariadb = /mariadb/i.test(version);
  const supported = mariadb || /^(5\.7|8\.)/.test(version);
  findings.push(finding('mysql.version', supported, `server ${version}`, 'use MySQL 5.7, 8.0 or 8.4, or MariaDB'));

  const cnf = mariadb ? 'in my.cnf under [mysqld]' : 'with SET PERSIST, or in my.cnf under [mysqld]';
  findings.push(expect('mysql.log_bin', await variable(db, 'log_bin'), 'ON',
    `enable the binary log: log_bin = mysql-bin ${mariadb ? 'in my.cnf under [mysqld]' : '(on by default in MySQL 8; if off, remove skip-log-bin / disable_log_bin)'}, and a unique server_id; then restart the server`));
  findings.push(expect('mysql.binlog_format', await variable(db, 'binlog_format'), 'ROW',
    `set binlog_format = ROW ${cnf} (SET GLOBAL binlog_format = 'ROW' affects new sessions only), then restart`));
  findings.push(expect('mysql.binlog_row_image', await variable(db, 'binlog_row_image'), 'FULL',
    `set binlog_row_image = FULL ${cnf}, then restart`));

  const expireSeconds = Number(await variable(db, 'binlog_expire_logs_seconds') ?? 0);
  findings.push(finding('mysql.binlog_retention', expireSeconds === 0 || expireSeconds >= 86_400,
    expireSeconds === 0 ? 'binlogs are not expired by time (watch disk use)' : `binlogs expire after ${expireSeconds} s`,
    'keep binlogs at least a day (binlog_expire_logs_seconds >= 86400): if the position RisingWave holds is purged, the source cannot resume',
    'warning'));

  let who = options.cdcUser;
  if (who === undefined) {
    const current = String((await rows(db, 'SELECT CURRENT_USER() AS u'))[0]?.['u'] ?? '');
    const at = current.lastIndexOf('@');
    who = { user: current.slice(0, at), host: current.slice(at + 1) };
  }
  const grantRows = options.cdcUser ? await rows(db, 'SHOW GRANTS FOR ?@?', [who.user, who.host]) : await rows(db, 'SHOW GRANTS');
  findings.push(...grantFindings(grantRows.map((r) => String(Object.values(r)[0])), `'${who.user}'@'${who.host}'`));

  const expected = sourceTable('mysql');
  for (const database of options.databases) {
    const pk = await rows(db,
      `SELECT COLUMN_NAME AS c FROM information_schema.KEY_COLUMN_USAGE
       WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
      [database, expected.name]);
    const actualPk = pk.map((r) => String(r['c']));
    findings.push(finding(options.databases.length === 1 ? 'mysql.outbox_table' : `mysql.outbox_table[${database}]`, actualPk.join(',') === expected.primaryKey.join(','),
      actualPk.length === 0 ? `no table ${database}.${expected.name} with a primary key` : `${database}.${expected.name} primary key (${actualPk.join(', ')})`,
      `apply migrations/source/mysql/ to database ${database}; RisingWave's table must declare the same primary key (${expected.primaryKey.join(', ')})`));
    findings.push(...await columnFindings(db, database, options));
  }
  return findings;
}
