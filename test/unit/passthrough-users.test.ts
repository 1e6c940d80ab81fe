import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GatewayErrorCode, isGatewayError } from '../../src/errors';
import { loadSqlPassthroughSettings } from '../../src/config/sql';
import { sqlPassthroughOptions } from '../../src/passthrough/config';
import { formatVerifier, makeVerifier, parseVerifierPrefix, ScramExchange, type ScramVerifier } from '../../src/passthrough/scram';
import { parseSqlUsers } from '../../src/passthrough/users';
import { bundledRegistry } from '../../src/views/load';
import { RIDE_PERMISSIONS, fixtureRegistry } from '../helpers/permissionsFixture';

const REGISTRY = bundledRegistry();

// node-postgres' own client side of SCRAM: an independent implementation to talk to ours.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sasl = require('pg/lib/crypto/sasl') as {
  startSession(mechanisms: string[]): { mechanism: string; response: string };
  continueSession(session: object, password: string, serverData: string): Promise<void>;
  finalizeSession(session: object, serverData: string): void;
};

const PG_FIXTURE = JSON.parse(readFileSync(join(__dirname, '../fixtures/pgwire/scram-verifier.json'), 'utf8')) as { password: string; verifier: string };

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isGatewayError(err, GatewayErrorCode.BAD_CONFIG)) return err.message;
    throw err;
  }
  throw new Error('no error');
}

/** One login through our server side with pg's client side; resolves to the outcome. */
async function login(verifier: ScramVerifier | undefined, password: string): Promise<'ok' | string> {
  const server = new ScramExchange(verifier, 'u', Buffer.alloc(32, 1));
  const session = sasl.startSession(['SCRAM-SHA-256']) as { mechanism: string; response: string };
  const first = server.first(session.mechanism, session.response);
  if (first.kind !== 'continue') return first.kind === 'fail' ? first.reason : 'unexpected';
  await sasl.continueSession(session, password, first.serverFirst);
  const final = server.final(session.response);
  if (final.kind !== 'ok') return final.kind === 'fail' ? final.reason : 'unexpected';
  sasl.finalizeSession(session, final.serverFinal); // throws if the server signature is wrong
  return 'ok';
}

describe('WAVEGATE_SQL_USERS', () => {
  it('parses passwords, roles and subs; the registry\'s sql_default_role (analyst) is the default', () => {
    const users = parseSqlUsers('ana:s3cret, olga:pw:ops ,rita:pw:rider:rider-17,dan:p%3Aw%2C%25:driver:driver-9,oscar:pw:ops:ops.oscar', REGISTRY);
    expect(users.map((u) => [u.name, u.role, u.viewer])).toEqual([
      ['ana', 'analyst', { sub: 'ana', role: 'analyst', claims: {} }], ['olga', 'ops', { sub: 'olga', role: 'ops', claims: {} }],
      ['rita', 'rider', { sub: 'rider-17', role: 'rider', claims: {} }], ['dan', 'driver', { sub: 'driver-9', role: 'driver', claims: {} }],
      ['oscar', 'ops', { sub: 'ops.oscar', role: 'ops', claims: {} }],
    ]);
    expect(JSON.stringify(users)).not.toContain('s3cret');
    expect(parseSqlUsers('', REGISTRY)).toEqual([]);
  });

  it('reads the declared claims of a role: k=v;k2=a|b, %-decoded, lists split on |', () => {
    const reg = fixtureRegistry();
    const users = parseSqlUsers('fm:pw:fleet_manager::fleet_id=f%3B1,reg:pw:regional:reg-1:fleet_ids=a|b%7Cc;fleet_ids=d,none:pw:regional::fleet_ids=', reg);
    expect(users.map((u) => u.viewer)).toEqual([
      { sub: 'fm', role: 'fleet_manager', claims: { fleet_id: 'f;1' } },
      { sub: 'reg-1', role: 'regional', claims: { fleet_ids: ['a', 'b|c', 'd'] } },
      { sub: 'none', role: 'regional', claims: { fleet_ids: [] } },
    ]);
    expect(parseSqlUsers('x:pw', { ...reg, sqlDefaultRole: 'ops' })[0]?.role).toBe('ops');
  });

  it.each([
    ['fm:pw:fleet_manager', /missing claim fleet_id \(string\) of role fleet_manager/],
    ['fm:pw:fleet_manager::fleet=f1', /role fleet_manager declares no claim fleet \(it declares: fleet_id \(string\)\)/],
    ['fm:pw:fleet_manager::fleet_id=a;fleet_id=b', /claim fleet_id is given twice/],
    ['fm:pw:fleet_manager::fleet_id=%zz', /claim fleet_id has a malformed %-escape/],
    ['fm:pw:fleet_manager::fleet_id=%00', /NUL/],
    ['fm:pw:fleet_manager::fleet_id', /write name=value/],
    ['fm:pw:fleet_manager::fleet_id=a:b', /too many ':' fields/],
    ['fm:pw:rider::', /role rider needs the sub its rows belong to/],
    ['fm:pw:nobody', /unknown role "nobody": use one of rider, driver, fleet_manager, regional, ops, analyst/],
    ['fm:pw:__proto__', /unknown role "__proto__"/],
  ])('refuses %s against a registry with claims', (value, message) => {
    expect(configError(() => parseSqlUsers(value, fixtureRegistry(RIDE_PERMISSIONS)))).toMatch(message);
  });

  it('never puts a claim value in a config error', () => {
    expect(configError(() => parseSqlUsers('fm:pw:fleet_manager::fleet_id=a;fleet_id=SecretFleet', fixtureRegistry()))).not.toContain('SecretFleet');
  });

  it('accepts a SCRAM verifier exactly as PostgreSQL stores it, with a role after it', () => {
    const [u] = parseSqlUsers(`bi:${PG_FIXTURE.verifier}:ops`, REGISTRY);
    expect(u!.role).toBe('ops');
    expect(formatVerifier(u!.verifier)).toBe(PG_FIXTURE.verifier);
    // Same salt and iterations, same password: our hashing is Postgres' hashing.
    expect(formatVerifier(makeVerifier(PG_FIXTURE.password, u!.verifier.iterations, u!.verifier.salt))).toBe(PG_FIXTURE.verifier);
  });

  it.each([
    ['1bad:pw', /user name "1bad" is not valid/],
    ['ana', /missing password/],
    ['ana:', /empty password/],
    ['ana:pw:admin', /unknown role "admin"/],
    ['rita:pw:rider', /role rider needs the sub its rows belong to: rita:<password>:rider:<sub>/],
    ['olga:pw:ops:x y', /the sub is not valid/],
    ['ana:pw,ana:pw2', /user "ana" is listed twice/],
    ['ana:SCRAM-SHA-256$4096:abc$def', /malformed SCRAM verifier/],
    ['ana:%zz', /malformed %-escape/],
  ])('refuses %s with a message that says what to fix', (value, message) => {
    expect(configError(() => parseSqlUsers(value, REGISTRY))).toMatch(message);
  });

  it('never puts the password in a config error', () => {
    expect(configError(() => parseSqlUsers('ana:TopSecret99:admin', REGISTRY))).not.toContain('TopSecret99');
  });

  it('loads the listener settings with defaults and checks TLS pairs', () => {
    const s = loadSqlPassthroughSettings({ WAVEGATE_SQL_USERS: 'ana:pw' });
    expect(s).toMatchObject({ enabled: true, host: '127.0.0.1', port: 5433, statementTimeoutMs: 30_000, maxRows: 10_000 });
    expect(loadSqlPassthroughSettings({}).enabled).toBe(false);
    expect(configError(() => loadSqlPassthroughSettings({ WAVEGATE_SQL_TLS_CERT: '/x.pem' }))).toMatch(/both/);
    expect(configError(() => loadSqlPassthroughSettings({ WAVEGATE_SQL_MAX_ROWS: '0' }))).toMatch(/WAVEGATE_SQL_MAX_ROWS=0/);
  });

  it('turns the settings into listener options, parsing the users into verifiers (never keeping the password)', () => {
    const options = sqlPassthroughOptions(loadSqlPassthroughSettings({ WAVEGATE_SQL_USERS: 'ana:s3cret,olga:pw:ops', WAVEGATE_SQL_MAX_ROWS: '7' }), REGISTRY);
    expect(options).toMatchObject({ host: '127.0.0.1', port: 5433, maxRows: 7 });
    expect(options.users.map((u) => [u.name, u.role])).toEqual([['ana', 'analyst'], ['olga', 'ops']]);
    expect(JSON.stringify(options)).not.toContain('s3cret');
    expect(configError(() => sqlPassthroughOptions(loadSqlPassthroughSettings({ WAVEGATE_SQL_USERS: 'ana' }), REGISTRY))).toMatch(/entry 1 \(ana\): missing password/);
  });
});

describe('SCRAM-SHA-256 server, against node-postgres\' client', () => {
  it('accepts the right password and proves itself to the client', async () => {
    expect(await login(makeVerifier('pencil', 1024), 'pencil')).toBe('ok');
    expect(await login(parseVerifierPrefix(PG_FIXTURE.verifier)!.verifier, PG_FIXTURE.password)).toBe('ok');
  });

  it('refuses a wrong password, and an unknown user the same way (mock salt)', async () => {
    expect(await login(makeVerifier('pencil', 1024), 'pen')).toBe('password does not match');
    expect(await login(undefined, 'pencil')).toBe('unknown user');
  });

  it('refuses channel binding requests and replays', () => {
    const s = new ScramExchange(makeVerifier('x', 1), 'u', Buffer.alloc(32));
    expect(s.first('SCRAM-SHA-256-PLUS', 'p=tls-server-end-point,,n=,r=abc')).toMatchObject({ kind: 'fail' });
    const t = new ScramExchange(makeVerifier('x', 1), 'u', Buffer.alloc(32));
    expect(t.final('c=biws,r=x,p=AAAA')).toEqual({ kind: 'fail', reason: 'unexpected SASLResponse' });
  });
});
