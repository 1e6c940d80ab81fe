/**
 * `wavegate doctor`: checks the upstream database against RisingWave's CDC prerequisites (docs/RISINGWAVE.md)
 * before `wavegate migrate apply` creates the source. Connects the way RisingWave will: as the CDC
 * user (WAVEGATE_CDC_*), so the grants checked are the ones RisingWave gets.
 */
import { isGatewayError } from '../errors';
import { connectClient, isTransient } from '../engine/risingwave/pg';
import { loadRisingWaveSettings, type CdcSourceSettings } from '../engine/risingwave/settings';
import { openMysqlConnection } from '../outbox/mysql';
import { checkMysqlSource } from './mysql';
import { checkPostgresSource } from './postgres';
import { passed, type Finding } from './types';

export { checkMysqlSource } from './mysql';
export { checkPostgresSource } from './postgres';
export type { Finding } from './types';

/** Exit codes of {@link runDoctor}. */
export const DoctorExit = { OK: 0, FAILED: 1, USAGE: 2, UNAVAILABLE: 69, CONFIG: 78 } as const;

/** Runs the checks for `source` over a fresh connection as the CDC user. */
export async function checkSource(source: CdcSourceSettings): Promise<Finding[]> {
  const password = source.password ?? '';
  if (source.dialect !== 'postgres') {
    // No default database on the connection: the checks name each outbox database.
    const url = new URL(`mysql://${source.host}:${source.port}/`);
    url.username = source.user;
    url.password = password;
    const conn = await openMysqlConnection({ url: url.toString() });
    try {
      return await checkMysqlSource(conn, { databases: source.databases, dialect: source.dialect });
    } finally {
      await conn.end().catch(() => undefined);
    }
  }
  const url = new URL(`postgres://${source.host}:${source.port}/${source.databases[0] ?? ''}`);
  url.username = source.user;
  url.password = password;
  const client = await connectClient({ url: url.toString(), statementTimeoutMs: 10_000, applicationName: 'wavegate-doctor' });
  try {
    return await checkPostgresSource(client, { schema: source.schema, publication: source.publication, publicationCreate: source.publicationCreate });
  } finally {
    await client.close();
  }
}

/** Formats findings, one per line, with the fix under each failed one. */
export function formatFindings(findings: readonly Finding[]): string {
  return findings.map((f) => {
    const mark = f.ok ? 'ok  ' : f.severity === 'error' ? 'FAIL' : 'warn';
    return `${mark} ${f.check}: ${f.detail}${f.fix === undefined ? '' : `\n     fix: ${f.fix}`}`;
  }).join('\n') + '\n';
}

/** `wavegate doctor [--json]`: exit 0 when every required check passes, 1 otherwise. */
export async function runDoctor(args: readonly string[], io: { stdout: (s: string) => void; stderr: (s: string) => void; readonly env?: Readonly<Record<string, string | undefined>> }): Promise<number> {
  const json = args.includes('--json');
  if (args.some((a) => a !== '--json')) {
    const help = args.length === 1 && (args[0] === '--help' || args[0] === '-h');
    const usage = 'Usage: wavegate doctor [--json]\n  Checks the upstream database (WAVEGATE_CDC_*) for RisingWave CDC (docs/RISINGWAVE.md).\n';
    if (help) io.stdout(usage);
    else io.stderr(usage);
    return help ? DoctorExit.OK : DoctorExit.USAGE;
  }
  let settings;
  try {
    settings = loadRisingWaveSettings(io.env ?? process.env);
  } catch (err) {
    io.stderr(`wavegate doctor: ${isGatewayError(err) ? err.message : String(err)}\n`);
    return DoctorExit.CONFIG;
  }
  const s = settings.source;
  let findings: Finding[];
  try {
    findings = await checkSource(s);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    io.stderr(`wavegate doctor: cannot check ${s.dialect} at ${s.host}:${s.port} as ${s.user}: ${msg}\n`);
    return isTransient(err) ? DoctorExit.UNAVAILABLE : DoctorExit.FAILED;
  }
  io.stdout(json ? `${JSON.stringify(findings, null, 2)}\n` : formatFindings(findings));
  return passed(findings) ? DoctorExit.OK : DoctorExit.FAILED;
}
