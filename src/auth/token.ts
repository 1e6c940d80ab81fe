import type { ClaimValue } from '../views/model';
import { loadJose } from './jose';

/** Claims Wavegate reads from a token. */
export interface TokenClaims {
  sub: string;
  /** A role declared in the registry (`schema/wavegate.yaml`). */
  role: string;
  /** The role's declared claims, e.g. `{ fleet_id: 'f1' }` or `{ fleet_ids: ['f1', 'f2'] }`. */
  claims?: Readonly<Record<string, ClaimValue>>;
}

/** Registered claim names a declared claim may not overwrite (the loader refuses them too). */
const REGISTERED = new Set(['sub', 'role', 'iss', 'aud', 'exp', 'nbf', 'iat', 'jti']);

/** Optional registered claims for {@link signToken}. */
export interface SignOptions {
  /** `iss` claim; set it when the gateway has `WAVEGATE_JWT_ISSUER`. */
  issuer?: string;
  /** `aud` claim; set it when the gateway has `WAVEGATE_JWT_AUDIENCE`. */
  audience?: string;
}

/**
 * Signs an HS256 token with `sub`, `role`, the role's claims, `iat` and `exp = now + ttlSeconds`, for `wavegate token`
 * and tests. The secret must be the gateway's `WAVEGATE_JWT_SECRET` (at least 32 bytes).
 */
export async function signToken(secret: string, claims: TokenClaims, ttlSeconds: number, options: SignOptions = {}): Promise<string> {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new RangeError(`ttlSeconds must be positive, got ${ttlSeconds}`);
  const { SignJWT } = await loadJose();
  const now = Math.floor(Date.now() / 1000);
  const extra: Record<string, ClaimValue> = {};
  for (const [name, value] of Object.entries(claims.claims ?? {})) {
    if (REGISTERED.has(name)) throw new RangeError(`claim ${name} is reserved`);
    extra[name] = Array.isArray(value) ? [...(value as readonly string[])] : value;
  }
  let jwt = new SignJWT({ ...extra, role: claims.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + Math.ceil(ttlSeconds));
  if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt = jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
