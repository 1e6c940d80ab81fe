import { signToken } from '../auth/token';
import { isRole } from '../auth/viewer';
import { envRaw, envString } from '../config/env';
import { parseOptions, UsageError, wholeNumber } from './args';
import type { CliIo } from './io';

/** Lifetime of tokens minted by `wavegate token` and shown in the serve banner: 12 hours. */
export const DEFAULT_TOKEN_TTL_SECONDS = 12 * 60 * 60;
const MAX_TTL_SECONDS = 366 * 24 * 60 * 60;
const SUB_RE = /^[A-Za-z0-9_.:@-]{1,128}$/;

export const TOKEN_USAGE = `wavegate token --sub ID --role rider|driver|ops [--ttl SECONDS]
  Prints an HS256 token signed with WAVEGATE_JWT_SECRET (the gateway's secret), valid for
  --ttl seconds (default ${DEFAULT_TOKEN_TTL_SECONDS}, 12 h). Adds iss/aud when WAVEGATE_JWT_ISSUER /
  WAVEGATE_JWT_AUDIENCE are set. Riders and drivers see only their own rows; ops see everything.
`;

/** `wavegate token`: prints a signed token on stdout. Exit 0, or 2 for a bad command line or no secret. */
export async function runToken(args: readonly string[], io: CliIo): Promise<number> {
  const { help, values } = parseOptions('token', args, ['sub', 'role', 'ttl']);
  if (help) {
    io.stdout(TOKEN_USAGE);
    return 0;
  }
  const { sub, role } = values;
  if (sub === undefined || role === undefined) throw new UsageError(`wavegate token: --sub and --role are required\n\n${TOKEN_USAGE}`);
  if (!SUB_RE.test(sub)) throw new UsageError(`wavegate token: --sub=${sub} is not valid: use 1-128 of A-Z a-z 0-9 _ . : @ -`);
  if (!isRole(role)) throw new UsageError(`wavegate token: --role=${role} is not valid: use rider, driver or ops`);
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
  const token = await signToken(secret, { sub, role }, ttl, {
    ...(issuer !== undefined ? { issuer } : {}),
    ...(audience !== undefined ? { audience } : {}),
  });
  io.stdout(`${token}\n`);
  return 0;
}
