/**
 * Tokens for tests, good and bad, crafted with node:crypto so each defect is exactly the one named
 * (jose would refuse to sign most of them).
 */
import { createHmac, createSign, generateKeyPairSync } from 'node:crypto';

/** The HS256 secret every test gateway uses. */
export const TEST_SECRET = 'wavegate-test-secret-0123456789-abcdefghijklmnop';

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** A compact JWS with the given header and payload, HMAC-SHA256-signed with `secret`. */
export function hs256(payload: object, secret = TEST_SECRET, header: object = { alg: 'HS256', typ: 'JWT' }): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Claims of a valid token for `sub`/`role`, expiring in `ttlSeconds`. */
export function claims(sub: string, role: string, ttlSeconds = 300): Record<string, unknown> {
  return { sub, role, iat: now(), exp: now() + ttlSeconds };
}

let rsa: { publicKey: string; privateKey: string } | undefined;

/** An RSA key pair (made once per process). */
export function rsaKeys(): { publicKey: string; privateKey: string } {
  rsa ??= generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  return rsa;
}

/** An RS256 token signed with {@link rsaKeys}; `kid` is put in the header. */
export function rs256(payload: object, kid = 'test-key'): string {
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid })}.${b64(payload)}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(rsaKeys().privateKey).toString('base64url')}`;
}

/** Tokens that must all be refused by a gateway using {@link TEST_SECRET}, by what is wrong with them. */
export function badTokens(): Record<string, string> {
  return {
    'expired': hs256({ ...claims('rider-1', 'rider'), exp: now() - 60 }),
    'bad signature': hs256(claims('rider-1', 'rider'), 'another-secret-another-secret-another-secret'),
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims('rider-1', 'ops'))}.`,
    'wrong role': hs256(claims('rider-1', 'admin')),
    'no role': hs256({ sub: 'rider-1', exp: now() + 300 }),
    'no exp': hs256({ sub: 'rider-1', role: 'rider' }),
    'no sub': hs256({ role: 'ops', exp: now() + 300 }),
    'SQL-only role': hs256(claims('analyst-1', 'analyst')),
    'RS256 (algorithm not allowed)': rs256(claims('rider-1', 'ops')),
    'not a JWT': 'hello.world',
  };
}
