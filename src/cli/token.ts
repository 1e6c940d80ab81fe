import { readClaims } from '../auth/claims';
import { signToken } from '../auth/token';
import { envRaw, envString } from '../config/env';
import { loadViews } from '../config/views';
import type { ClaimValue, Registry } from '../views/model';
import { parseOptions, UsageError, wholeNumber } from './args';
import type { CliIo } from './io';

/** Lifetime of tokens minted by `wavegate token` and shown in the serve banner: 12 hours. */
export const DEFAULT_TOKEN_TTL_SECONDS = 12 * 60 * 60;
const MAX_TTL_SECONDS = 366 * 24 * 60 * 60;
const SUB_RE = /^[A-Za-z0-9_.:@-]{1,128}$/;
const CLAIM_VALUE_RE = /^[A-Za-z0-9_.:@-]{1,128}$/;

export const TOKEN_USAGE = `wavegate token --sub ID --role ROLE [--claim NAME=VALUE]... [--ttl SECONDS]
  Prints an HS256 token signed with WAVEGATE_JWT_SECRET (the gateway's secret), valid for
  --ttl seconds (default ${DEFAULT_TOKEN_TTL_SECONDS}, 12 h). Adds iss/aud when WAVEGATE_JWT_ISSUER /
  WAVEGATE_JWT_AUDIENCE are set. ROLE is a role of schema/wavegate.yaml (or of WAVEGATE_SCHEMA_DIR)
  open to GraphQL, e.g. rider, driver or ops; give each claim the role declares with --claim:
  a list claim takes a|b or repeated --claim (--claim fleet_ids= is the empty list).
`;

/** The registry `wavegate token` reads its roles from: WAVEGATE_SCHEMA_DIR, else the bundled one. */
function registryFor(io: CliIo): Registry {
  return loadViews(io.env);
}

/** `--claim name=value` options → raw claims (lists split on `|`, repeats appended). */
function claimOptions(role: Registry['roles'][number], given: readonly string[]): Record<string, ClaimValue> {
  const raw: Record<string, ClaimValue> = {};
  for (const option of given) {
    const eq = option.indexOf('=');
    const name = eq < 0 ? option : option.slice(0, eq);
    const decl = role.claims.find((c) => c.name === name);
    if (eq < 0 || decl === undefined) {
      const declared = role.claims.map((c) => `${c.name} (${c.type})`).join(', ') || 'none';
      throw new UsageError(`wavegate token: --claim ${name}: role ${role.name} declares no such claim (it declares: ${declared}); use --claim NAME=VALUE`);
    }
    const value = option.slice(eq + 1);
    if (decl.type === 'string') {
      if (Object.hasOwn(raw, name)) throw new UsageError(`wavegate token: --claim ${name} is given twice (it is a string claim)`);
      if (!CLAIM_VALUE_RE.test(value)) throw new UsageError(`wavegate token: --claim ${name}: use 1-128 of A-Z a-z 0-9 _ . : @ -`);
      raw[name] = value;
    } else {
      const items = value === '' ? [] : value.split('|');
      if (!items.every((v) => CLAIM_VALUE_RE.test(v))) throw new UsageError(`wavegate token: --claim ${name}: items are 1-128 of A-Z a-z 0-9 _ . : @ -, separated by |`);
      const before = raw[name];
      raw[name] = [...(Array.isArray(before) ? before : []), ...items];
    }
  }
  return raw;
}

/** `wavegate token`: prints a signed token on stdout. Exit 0, or 2 for a bad command line or no secret. */
export async function runToken(args: readonly string[], io: CliIo, registry?: Registry): Promise<number> {
  const { help, values, lists } = parseOptions('token', args, ['sub', 'role', 'ttl'], ['claim']);
  if (help) {
    io.stdout(TOKEN_USAGE);
    return 0;
  }
  const { sub, role } = values;
  if (sub === undefined || role === undefined) throw new UsageError(`wavegate token: --sub and --role are required\n\n${TOKEN_USAGE}`);
  if (!SUB_RE.test(sub)) throw new UsageError(`wavegate token: --sub=${sub} is not valid: use 1-128 of A-Z a-z 0-9 _ . : @ -`);
  const roles = (registry ?? registryFor(io)).roles;
  const decl = roles.find((r) => r.name === role);
  const usable = roles.filter((r) => r.graphql).map((r) => r.name).join(', ');
  if (decl === undefined) throw new UsageError(`wavegate token: --role=${role} is not valid: use one of ${usable}`);
  if (!decl.graphql) throw new UsageError(`wavegate token: role ${role} is for the SQL port only (graphql: false): use one of ${usable}`);
  const read = readClaims(decl, claimOptions(decl, lists.claim ?? []));
  if ('problem' in read) throw new UsageError(`wavegate token: ${read.problem}: add --claim NAME=VALUE`);
  const ttl = values.ttl === undefined ? DEFAULT_TOKEN_TTL_SECONDS : wholeNumber('token', 'ttl', values.ttl, 1, MAX_TTL_SECONDS);
  const secret = envRaw(io.env, 'WAVEGATE_JWT_SECRET');
  if (secret === undefined) {
    throw new UsageError('wavegate token: WAVEGATE_JWT_SECRET is not set: set it to the secret the gateway runs with (at least 32 bytes)');
  }
  if (Buffer.byteLength(secret) < 32) {
    throw new UsageError('wavegate token: WAVEGATE_JWT_SECRET is shorter than 32 bytes: the gateway would refuse it');
  }
  const issuer = envString(io.env, 'WAVEGATE_JWT_ISSUER');
  const audience = envString(io.env, 'WAVEGATE_JWT_AUDIENCE');
  const token = await signToken(secret, { sub, role: decl.name, claims: read.claims }, ttl, {
    ...(issuer !== undefined ? { issuer } : {}),
    ...(audience !== undefined ? { audience } : {}),
  });
  io.stdout(`${token}\n`);
  return 0;
}
