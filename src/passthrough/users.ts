import { readClaims } from '../auth/claims';
import { roleOf, type Viewer } from '../auth/viewer';
import { errors } from '../errors';
import type { ClaimValue, Predicate, Registry, RoleDecl } from '../views/model';
import { makeVerifier, parseVerifierPrefix, type ScramVerifier } from './scram';

/**
 * What a passthrough user may read (docs/SQL.md, "Users, roles and what they read"): the permissions of its role, a role of the
 * registry (`schema/wavegate.yaml`), with the user's `sub` and claims standing in for a token's.
 * In the bundled schema: `analyst` (the default, `sql_default_role`) reads every row with riders'
 * identities and exact places masked; `ops` everything; `rider` / `driver` their own rows.
 */
export type SqlRole = string;

/** One configured passthrough user. Holds a SCRAM verifier, never the password. */
export interface SqlUser {
  readonly name: string;
  readonly verifier: ScramVerifier;
  readonly role: SqlRole;
  /** Whose rows the role's permissions select: `sub` (the given one, else the user name) and claims. */
  readonly viewer: Viewer;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/;
const SUBJECT_RE = /^[A-Za-z0-9_.@-]{1,128}$/;
const CLAIM_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Does `p` read `claim`? */
function readsClaim(p: Predicate, claim: string): boolean {
  switch (p.kind) {
    case 'all':
    case 'none':
      return false;
    case 'eq':
    case 'in':
      return p.claim === claim;
    case 'lookup':
      return readsClaim(p.where, claim);
    case 'and':
    case 'or':
      return p.of.some((q) => readsClaim(q, claim));
    default: {
      const never: never = p;
      throw new Error(`unknown predicate ${JSON.stringify(never)}`);
    }
  }
}

/** Do the permissions of `role` on any view read the `sub` claim (then a user of it must give one)? */
export function roleReadsSub(registry: Registry, role: string): boolean {
  return registry.views.some((v) => Object.hasOwn(v.permissions, role) && readsClaim((v.permissions[role] as { rows: Predicate }).rows, 'sub'));
}

/** `k=v;k2=a|b` (values %-decoded) into raw claims for `role`; throws BAD_CONFIG naming the claim. */
function parseClaims(where: string, role: RoleDecl, text: string): Record<string, ClaimValue> {
  const raw: Record<string, ClaimValue> = {};
  for (const part of text.split(';')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (!CLAIM_NAME_RE.test(name)) throw errors.badConfig(`${where}: claim "${name.slice(0, 64)}" is not valid: use name=value;name2=a|b`);
    const decl = role.claims.find((c) => c.name === name);
    if (decl === undefined || eq < 0) {
      const declared = role.claims.map((c) => `${c.name} (${c.type})`).join(', ') || 'none';
      throw errors.badConfig(`${where}: role ${role.name} declares no claim ${name} (it declares: ${declared}); write name=value`);
    }
    const decode = (v: string): string => {
      let out: string;
      try {
        out = decodeURIComponent(v);
      } catch {
        throw errors.badConfig(`${where}: claim ${name} has a malformed %-escape`);
      }
      if (out.includes('\0')) throw errors.badConfig(`${where}: claim ${name} holds a NUL character`);
      return out;
    };
    const value = part.slice(eq + 1);
    if (decl.type === 'string') {
      if (Object.hasOwn(raw, name)) throw errors.badConfig(`${where}: claim ${name} is given twice`);
      raw[name] = decode(value);
    } else {
      const before = raw[name];
      raw[name] = [...(Array.isArray(before) ? before : []), ...(value === '' ? [] : value.split('|').map(decode))];
    }
  }
  return raw;
}

/**
 * Parses `WAVEGATE_SQL_USERS`: comma-separated `name:secret[:role[:sub[:claims]]]` where
 * - `secret` is a password (percent-encode `%`, `:` and `,` as `%25`, `%3A`, `%2C`), or a SCRAM
 *   verifier as Postgres stores it: `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`;
 * - `role` is a role of `registry` (default `sql_default_role`, analyst in the bundled schema),
 *   SQL-only roles included;
 * - `sub` is required when the role's permissions read `sub` (riders, drivers: `rita:pw:rider:rider-17`);
 *   otherwise it defaults to the user name (and may be left empty to give claims);
 * - `claims` are the role's declared claims, `k=v;k2=a|b` (lists split on `|`, values %-decoded),
 *   each one required: `fm:pw:fleet_manager::fleet_id=f1`.
 * Throws BAD_CONFIG with a message naming the entry (never its secret or claim values). Plain
 * passwords are turned into verifiers here (4096 PBKDF2 iterations, ~5 ms each).
 */
export function parseSqlUsers(value: string, registry: Registry, variable = 'WAVEGATE_SQL_USERS'): SqlUser[] {
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
    const [roleRaw = '', subRaw = '', claimsRaw, ...extra] = tail === '' ? [] : tail.split(':');
    const roleName = roleRaw === '' ? registry.sqlDefaultRole : roleRaw;
    const role = roleOf(registry, roleName);
    if (role === undefined) {
      throw errors.badConfig(`${where} (${name}): unknown role "${roleRaw.slice(0, 64)}": use one of ${registry.roles.map((r) => r.name).join(', ')}`);
    }
    if (extra.length > 0) throw errors.badConfig(`${where} (${name}): too many ':' fields: use name:password[:role[:sub[:claims]]]`);
    if (subRaw !== '' && !SUBJECT_RE.test(subRaw)) throw errors.badConfig(`${where} (${name}): the sub is not valid: use 1-128 of letters, digits, _ . @ -`);
    if (subRaw === '' && roleReadsSub(registry, role.name)) {
      throw errors.badConfig(`${where} (${name}): role ${role.name} needs the sub its rows belong to: ${name}:<password>:${role.name}:<sub> (letters, digits, _ . @ -)`);
    }
    const read = readClaims(role, parseClaims(`${where} (${name})`, role, claimsRaw ?? ''));
    if ('problem' in read) throw errors.badConfig(`${where} (${name}): ${read.problem}: add it as ${name}:<password>:${role.name}:<sub>:name=value`);
    if (users.some((u) => u.name === name)) throw errors.badConfig(`${where}: user "${name}" is listed twice`);
    const viewer: Viewer = Object.freeze({ sub: subRaw === '' ? name : subRaw, role: role.name, claims: Object.freeze(read.claims) });
    users.push({ name, verifier, role: role.name, viewer });
  });
  return users;
}
