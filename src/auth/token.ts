import type { Role } from './viewer';
import { loadJose } from './jose';

/** Claims Wavegate reads from a token. */
export interface TokenClaims {
  sub: string;
  role: Role;
}

/** Optional registered claims for {@link signToken}. */
export interface SignOptions {
  /** `iss` claim; set it when the gateway has `WAVEGATE_JWT_ISSUER`. */
  issuer?: string;
  /** `aud` claim; set it when the gateway has `WAVEGATE_JWT_AUDIENCE`. */
  audience?: string;
}

/**
 * Signs an HS256 token with `sub`, `role`, `iat` and `exp = now + ttlSeconds`, for `wavegate token`
 * and tests. The secret must be the gateway's `WAVEGATE_JWT_SECRET` (at least 32 bytes).
 */
export async function signToken(secret: string, claims: TokenClaims, ttlSeconds: number, options: SignOptions = {}): Promise<string> {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new RangeError(`ttlSeconds must be positive, got ${ttlSeconds}`);
  const { SignJWT } = await loadJose();
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({ role: claims.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + Math.ceil(ttlSeconds));
  if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt = jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
