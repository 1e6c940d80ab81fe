import { LRUCache } from 'lru-cache';
import type { AuthConfig } from '../config/types';
import { errors, type GatewayError } from '../errors';
import { silentLogger, type Logger } from '../log';
import type { Registry } from '../views/model';
import { readClaims } from './claims';
import { loadJose, type Jose } from './jose';
import { authOffViewer, roleOf, type Viewer } from './viewer';

/**
 * Algorithms accepted per key source. A shared secret accepts only HS256 and a JWKS only asymmetric
 * algorithms, so `alg: none` and HS/RS confusion (an HS256 token "signed" with a public key) are refused.
 */
const HMAC_ALGORITHMS = ['HS256'];
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** Longest `sub` accepted (ids in the views are at most 64 characters; ops subjects may be emails). */
const MAX_SUB_LENGTH = 256;

/** Turns a bearer token into a {@link Viewer}, or rejects with an UNAUTHENTICATED GatewayError. */
export interface TokenVerifier {
  verify(token: string): Promise<Viewer>;
  /** The viewer of every request when auth is off: the registry's `auth_off_role`. */
  readonly authOffViewer: Viewer;
}

/** Options of {@link createTokenVerifier}. */
export interface TokenVerifierOptions {
  /**
   * Verified tokens kept, so a client sending the same token again skips the signature check: at
   * most this many, and at most {@link TOKEN_CACHE_MAX_CHARS} characters of tokens in all; 0 turns
   * the cache off. An entry is used only while its token is unexpired (`exp`, to the second, as
   * jose checks it); tokens that fail verification are never kept. @default 10_000
   */
  readonly cacheSize?: number;
  /**
   * How long a verified token is used from the cache before it is verified again, ms (also bounded by
   * its `exp`). This bounds how long a token stays accepted after what vouched for it changed: a
   * signing key removed from the JWKS (a revoked key) stops a token within this time. @default 60_000
   */
  readonly cacheMaxAgeMs?: number;
  /** The clock (ms since epoch), for tests. @default Date.now */
  readonly now?: () => number;
}

/** Total characters of the tokens a verifier's cache holds (~8 MB of strings at most). */
export const TOKEN_CACHE_MAX_CHARS = 4_000_000;

type VerifyOptions = NonNullable<Parameters<Jose['jwtVerify']>[2]>;
type VerifyFn = (token: string, options: VerifyOptions) => Promise<{ payload: Record<string, unknown> }>;

/**
 * Creates the verifier for the configured key (HS256 secret or JWKS URL). Throws BAD_CONFIG when
 * auth is on and neither is set. The JWKS is fetched lazily and cached by `jose`. Tokens must carry
 * a role of `registry` open to GraphQL (not `graphql: false`) and each claim that role declares,
 * with its declared type; anything else is UNAUTHENTICATED.
 */
export function createTokenVerifier(auth: AuthConfig, registry: Registry, log: Logger = silentLogger, options: TokenVerifierOptions = {}): TokenVerifier {
  if (auth.enabled && auth.secret === undefined && auth.jwksUrl === undefined) {
    throw errors.badConfig('Auth is on but no key is configured: set WAVEGATE_JWT_SECRET or WAVEGATE_JWKS_URL');
  }
  let verifier: Promise<{ verifyJwt: VerifyFn; algorithms: string[] }> | undefined;
  const getVerifier = () => {
    verifier ??= loadJose().then(async (jose) => {
      if (auth.secret !== undefined) {
        // Imported once: given raw bytes, jose imports the key again on every verification.
        const secret = await globalThis.crypto.subtle.importKey('raw', new TextEncoder().encode(auth.secret),
          { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
        return { verifyJwt: (t: string, o: VerifyOptions) => jose.jwtVerify(t, secret, o), algorithms: HMAC_ALGORITHMS };
      }
      const jwks = jose.createRemoteJWKSet(new URL(auth.jwksUrl as string));
      return { verifyJwt: (t: string, o: VerifyOptions) => jose.jwtVerify(t, jwks, o), algorithms: JWKS_ALGORITHMS };
    });
    return verifier;
  };
  const graphqlRoles = registry.roles.filter((r) => r.graphql).map((r) => r.name);
  const now = options.now ?? Date.now;
  const cacheSize = options.cacheSize ?? 10_000;
  const maxAgeMs = options.cacheMaxAgeMs ?? 60_000;
  // Token → its viewer (frozen) and when it was verified, until the token's exp and at most maxAgeMs.
  // A hit skips jose (~7 % of a page's CPU).
  const cache = cacheSize > 0
    ? new LRUCache<string, { readonly viewer: Viewer; readonly at: number }>({ max: cacheSize, maxSize: TOKEN_CACHE_MAX_CHARS, sizeCalculation: (_v, token) => Math.max(1, token.length) })
    : undefined;
  /** Whether a verified viewer's token is still unexpired: jose's rule (expired when exp <= now, in whole seconds). */
  const unexpired = (v: Viewer) => v.expiresAt !== undefined && Math.floor(now() / 1000) < v.expiresAt / 1000;
  const verifyUncached = async (token: string): Promise<Viewer> => {
    const { verifyJwt, algorithms } = await getVerifier();
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await verifyJwt(token, {
        algorithms,
        requiredClaims: ['exp', 'sub'],
        ...(options.now !== undefined ? { currentDate: new Date(now()) } : {}),
        ...(auth.issuer !== undefined ? { issuer: auth.issuer } : {}),
        ...(auth.audience !== undefined ? { audience: auth.audience } : {}),
      }));
    } catch (err) {
      throw rejection(err, log);
    }
    const { sub, role, exp } = payload;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH || sub.includes('\0')) throw errors.unauthenticated('Invalid token: bad sub claim');
    const decl = roleOf(registry, role);
    if (decl === undefined || !decl.graphql) throw errors.unauthenticated(`Invalid token: role must be one of ${graphqlRoles.join(', ')}`);
    const read = readClaims(decl, payload);
    if ('problem' in read) {
      log.debug({ role: decl.name }, 'token rejected: claims');
      throw errors.unauthenticated(`Invalid token: ${read.problem}`);
    }
    return Object.freeze({ sub, role: decl.name, claims: Object.freeze(read.claims), expiresAt: Number(exp) * 1000 });
  };
  return {
    authOffViewer: authOffViewer(registry),
    async verify(token: string): Promise<Viewer> {
      const hit = cache?.get(token);
      if (hit !== undefined) {
        if (unexpired(hit.viewer) && now() - hit.at < maxAgeMs) return hit.viewer;
        cache!.delete(token);
      }
      const at = now();
      const viewer = await verifyUncached(token);
      if (cache !== undefined && token.length <= TOKEN_CACHE_MAX_CHARS / 100 && unexpired(viewer)) cache.set(token, { viewer, at });
      return viewer;
    },
  };
}

/** Maps a jose failure to a client-safe UNAUTHENTICATED error; the token itself is never logged. */
function rejection(err: unknown, log: Logger): GatewayError {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : 'unknown';
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return errors.unauthenticated('Token expired');
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JOSE_GENERIC':
      log.error({ code, message: err instanceof Error ? err.message : String(err) }, 'token key unavailable');
      return errors.unauthenticated('Invalid token');
    default:
      log.debug({ code }, 'token rejected');
      return errors.unauthenticated(code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' ? 'Invalid token: claim check failed' : 'Invalid token');
  }
}

/**
 * The token in an `Authorization: Bearer <token>` header value. Undefined when absent; throws
 * UNAUTHENTICATED when present but not a bearer token.
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw errors.unauthenticated('Malformed Authorization header: use "Bearer <token>"');
  return m[1];
}

/**
 * The viewer for an `Authorization` header value: the verifier's `authOffViewer` (the registry's
 * `auth_off_role`) when auth is off, otherwise the verified token's viewer. Rejects with UNAUTHENTICATED.
 */
export async function authenticate(auth: AuthConfig, verifier: TokenVerifier, header: string | undefined): Promise<Viewer> {
  if (!auth.enabled) return verifier.authOffViewer;
  const token = bearerToken(header);
  if (token === undefined) throw errors.unauthenticated('Authentication required: send "Authorization: Bearer <token>"');
  return verifier.verify(token);
}
