/**
 * pgjdbc (the PostgreSQL JDBC driver inside Metabase, DBeaver and Tableau) for the SQL passthrough
 * tests: the driver jar is fetched once from Maven Central with `mvn dependency:copy` into
 * `.pgjdbc/` (git-ignored, like `.kafka/`), Java test clients under test/fixtures/pgwire are
 * compiled once per content into `.pgjdbc/classes-<hash>/`, and run with `java`. Several test
 * files may ask at the same time: each writes into a private temporary directory and renames it
 * into place, so a half-written jar or class directory is never seen. Java 17+ and Maven are
 * required (as for the Kafka broker, scripts/kafka.sh).
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';

/** The driver version (Maven Central `org.postgresql:postgresql`). */
export const PGJDBC_VERSION = '42.7.13';

const CACHE = join(__dirname, '..', '..', '.pgjdbc');

/** Path of the driver jar, fetched on first use (WAVEGATE_TEST_PGJDBC_JAR overrides). */
export function pgjdbcJar(): string {
  const override = process.env['WAVEGATE_TEST_PGJDBC_JAR'];
  if (override !== undefined) return override;
  const jar = join(CACHE, `postgresql-${PGJDBC_VERSION}.jar`);
  if (existsSync(jar)) return jar;
  mkdirSync(CACHE, { recursive: true });
  const tmp = mkdtempSync(join(CACHE, 'fetch-'));
  try {
    execFileSync('mvn', ['-q', '-B', 'dependency:copy', `-Dartifact=org.postgresql:postgresql:${PGJDBC_VERSION}`, `-DoutputDirectory=${tmp}`],
      { stdio: 'ignore', timeout: 240_000 });
    renameSync(join(tmp, basename(jar)), jar);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (!existsSync(jar)) throw new Error(`pgjdbc ${PGJDBC_VERSION} not found at ${jar} after mvn dependency:copy`);
  return jar;
}

/** Compiles Java `sources` against the driver (once per content); returns the class directory. */
export function compileJava(sources: readonly string[]): string {
  const jar = pgjdbcJar();
  const hash = createHash('sha256');
  for (const s of sources) hash.update(readFileSync(s));
  const dir = join(CACHE, `classes-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(dir)) return dir;
  const tmp = mkdtempSync(join(CACHE, 'javac-'));
  try {
    execFileSync('javac', ['-cp', jar, '-d', tmp, ...sources], { stdio: 'pipe', timeout: 120_000 });
    try {
      renameSync(tmp, dir);
    } catch (err) {
      // Another test compiled the same sources first.
      if (!existsSync(dir)) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

/** Runs `mainClass` from `classes` with the driver on the class path; resolves with its stdout. */
export function runJava(classes: string, mainClass: string, args: readonly string[], timeoutMs = 90_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('java', ['-cp', `${classes}:${pgjdbcJar()}`, mainClass, ...args], { timeout: timeoutMs },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}
