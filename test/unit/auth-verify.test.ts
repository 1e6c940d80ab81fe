import { signToken } from '../../src/auth/token';
import { authenticate, bearerToken, createTokenVerifier } from '../../src/auth/verify';
import { ANONYMOUS_OPS } from '../../src/auth/viewer';
import type { AuthConfig } from '../../src/config/types';
import { GatewayErrorCode, isGatewayError } from '../../src/errors';
import { recordingLogger } from '../../src/log';
import { TEST_SECRET, badTokens, claims, hs256 } from '../helpers/tokens';

const AUTH: AuthConfig = { enabled: true, secret: TEST_SECRET };

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(isGatewayError(err, GatewayErrorCode.UNAUTHENTICATED)).toBe(true);
  return (err as Error).message;
}

describe('token verification (HS256 secret)', () => {
  const verifier = createTokenVerifier(AUTH);

  it('accepts a token from signToken and returns sub, role and expiry', async () => {
    const before = Date.now();
    const viewer = await verifier.verify(await signToken(TEST_SECRET, { sub: 'driver-7', role: 'driver' }, 60));
    expect(viewer).toMatchObject({ sub: 'driver-7', role: 'driver' });
    expect(viewer.expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 59_000);
    expect(viewer.expiresAt).toBeLessThanOrEqual(before + 61_000);
  });

  it.each(Object.entries(badTokens()))('refuses a token with %s', async (_what, token) => {
    await refusal(verifier.verify(token));
  });

  it('says "Token expired" for an expired token and "Invalid token" otherwise, never echoing the token', async () => {
    expect(await refusal(verifier.verify(badTokens()['expired']!))).toBe('Token expired');
    const bad = badTokens()['bad signature']!;
    const message = await refusal(verifier.verify(bad));
    expect(message).toBe('Invalid token');
    expect(message).not.toContain(bad);
  });

  it('checks issuer and audience when configured', async () => {
    const strict = createTokenVerifier({ ...AUTH, issuer: 'https://id.example', audience: 'wavegate' });
    const ok = await signToken(TEST_SECRET, { sub: 'ops-1', role: 'ops' }, 60, { issuer: 'https://id.example', audience: 'wavegate' });
    expect((await strict.verify(ok)).sub).toBe('ops-1');
    await refusal(strict.verify(await signToken(TEST_SECRET, { sub: 'ops-1', role: 'ops' }, 60)));
    await refusal(strict.verify(hs256({ ...claims('ops-1', 'ops'), iss: 'https://id.example', aud: 'other' })));
  });

  it('refuses empty or oversized subjects', async () => {
    await refusal(verifier.verify(hs256(claims('', 'rider'))));
    await refusal(verifier.verify(hs256(claims('x'.repeat(300), 'rider'))));
  });

  it('logs why a token was refused without the token', async () => {
    const log = recordingLogger();
    const token = badTokens()['bad signature']!;
    await refusal(createTokenVerifier(AUTH, log).verify(token));
    expect(JSON.stringify(log.lines)).not.toContain(token.split('.')[2]);
  });
});

describe('authenticate and headers', () => {
  it('parses Bearer headers and refuses other schemes', () => {
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken('  ')).toBeUndefined();
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer   abc')).toBe('abc');
    expect(() => bearerToken('Basic dXNlcg==')).toThrow('Malformed Authorization header');
    expect(() => bearerToken('Bearer')).toThrow('Malformed Authorization header');
  });

  it('requires a token when auth is on, and makes everyone ops when it is off', async () => {
    const verifier = createTokenVerifier(AUTH);
    expect(await refusal(authenticate(AUTH, verifier, undefined))).toContain('Authentication required');
    expect(await authenticate({ enabled: false }, verifier, undefined)).toBe(ANONYMOUS_OPS);
    expect(await authenticate({ enabled: false }, verifier, 'Bearer garbage')).toBe(ANONYMOUS_OPS);
  });

  it('fails fast with BAD_CONFIG when auth is on without a key', () => {
    expect(() => createTokenVerifier({ enabled: true })).toThrow(expect.objectContaining({ code: GatewayErrorCode.BAD_CONFIG }));
  });

  it('signToken refuses a non-positive ttl', async () => {
    await expect(signToken(TEST_SECRET, { sub: 'a', role: 'rider' }, 0)).rejects.toThrow(RangeError);
  });
});
