import { errors } from '../errors';
import { makeVerifier, parseVerifierPrefix, type ScramVerifier } from './scram';

/**
 * What a passthrough user may read (docs/SQL.md, "Users, roles and what they read"):
 * - `analyst`: every row of the four views, with rider-identifying data masked (trip_history and
 *   rider_stats `rider_id` read as NULL; pickup/dropoff coordinates rounded to 2 decimals, ~1 km);
 * - `ops`: everything, like an ops token on the GraphQL API;
 * - `rider` / `driver`: the GraphQL row policy for that rider or driver id (src/auth/policy.ts).
 */
export type SqlRole = 'analyst' | 'ops' | 'rider' | 'driver';

/** One configured passthrough user. Holds a SCRAM verifier, never the password. */
export interface SqlUser {
  readonly name: string;
  readonly verifier: ScramVerifier;
  readonly role: SqlRole;
  /** The rider or driver id for `rider` / `driver` users. */
  readonly subject?: string;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/;
const SUBJECT_RE = /^[A-Za-z0-9_.@-]{1,128}$/;
const ROLES: readonly SqlRole[] = ['analyst', 'ops', 'rider', 'driver'];

/**
 * Parses `WAVEGATE_SQL_USERS`: comma-separated `name:secret[:role[:subject]]` where
 * - `secret` is a password (percent-encode `%`, `:` and `,` as `%25`, `%3A`, `%2C`), or a SCRAM
 *   verifier as Postgres stores it: `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`;
 * - `role` is `analyst` (default), `ops`, `rider` or `driver`; rider and driver need the `subject`
 *   (their rider/driver id), e.g. `rita:pw:rider:rider-17`.
 * Throws BAD_CONFIG with a message naming the entry (never its secret). Plain passwords are turned
 * into verifiers here (4096 PBKDF2 iterations, ~5 ms each).
 */
export function parseSqlUsers(value: string, variable = 'WAVEGATE_SQL_USERS'): SqlUser[] {
  const users: SqlUser[] = [];
  const entries = value.split(',').map((e) => e.trim());
  if (entries.length === 1 && entries[0] === '') return users;
  entries.forEach((entry, i) => {
    const where = `${variable}: entry ${i + 1}`;
    const colon = entry.indexOf(':');
    const name = colon < 0 ? entry : entry.slice(0, colon);
    if (!NAME_RE.test(name)) {
      throw errors.badConfig(`${where}: user name "${name.slice(0, 64)}" is not valid: use letters, digits, _ . - (up to 63, not starting with a digit)`);
    }
    if (colon < 0) throw errors.badConfig(`${where} (${name}): missing password: use name:password[:role]`);
    const rest = entry.slice(colon + 1);
    let verifier: ScramVerifier;
    let tail: string;
    if (rest.startsWith('SCRAM-SHA-256$')) {
      const parsed = parseVerifierPrefix(rest);
      if (parsed === undefined) {
        throw errors.badConfig(`${where} (${name}): malformed SCRAM verifier: expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> (base64, 32-byte keys)`);
      }
      verifier = parsed.verifier;
      tail = rest.slice(parsed.length);
      if (tail !== '' && !tail.startsWith(':')) throw errors.badConfig(`${where} (${name}): unexpected text after the SCRAM verifier`);
      tail = tail.slice(1);
    } else {
      const end = rest.indexOf(':');
      const raw = end < 0 ? rest : rest.slice(0, end);
      tail = end < 0 ? '' : rest.slice(end + 1);
      let password: string;
      try {
        password = decodeURIComponent(raw);
      } catch {
        throw errors.badConfig(`${where} (${name}): the password has a malformed %-escape`);
      }
      if (password === '') throw errors.badConfig(`${where} (${name}): empty password`);
      verifier = makeVerifier(password);
    }
    const [roleRaw = '', subject, ...extra] = tail === '' ? [] : tail.split(':');
    const role = (roleRaw === '' ? 'analyst' : roleRaw) as SqlRole;
    if (!ROLES.includes(role)) throw errors.badConfig(`${where} (${name}): unknown role "${roleRaw}": use analyst, ops, rider:<id> or driver:<id>`);
    if (extra.length > 0) throw errors.badConfig(`${where} (${name}): too many ':' fields`);
    if (role === 'rider' || role === 'driver') {
      if (subject === undefined || !SUBJECT_RE.test(subject)) {
        throw errors.badConfig(`${where} (${name}): role ${role} needs the ${role} id: ${name}:<password>:${role}:<id> (letters, digits, _ . @ -)`);
      }
    } else if (subject !== undefined) {
      throw errors.badConfig(`${where} (${name}): role ${role} takes no id`);
    }
    if (users.some((u) => u.name === name)) throw errors.badConfig(`${where}: user "${name}" is listed twice`);
    users.push({ name, verifier, role, ...(subject !== undefined ? { subject } : {}) });
  });
  return users;
}
