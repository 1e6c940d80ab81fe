import { signToken } from '../../src/auth/token';
import { authenticate, bearerToken, createTokenVerifier } from '../../src/auth/verify';
import type { AuthConfig } from '../../src/config/types';
import { GatewayErrorCode, isGatewayError } from '../../src/errors';
import { recordingLogger } from '../../src/log';
import { bundledRegistry } from '../../src/views/load';
import { fixtureRegistry } from '../helpers/permissionsFixture';
import { TEST_SECRET, badTokens, claims, hs256 } from '../helpers/tokens';

const REGISTRY = bundledRegistry();

const AUTH: AuthConfig = { enabled: true, secret: TEST_SECRET };

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(isGatewayError(err, GatewayErrorCode.UNAUTHENTICATED)).toBe(true);
  return (err as Error).message;
}

describe('token verification (HS256 secret)', () => {
  const verifier = createTokenVerifier(AUTH, REGISTRY);

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
    const strict = createTokenVerifier({ ...AUTH, issuer: 'https://id.example', audience: 'wavegate' }, REGISTRY);
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
    await refusal(createTokenVerifier(AUTH, REGISTRY, log).verify(token));
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

  it('requires a token when auth is on, and makes everyone the auth_off_role (ops) when it is off', async () => {
    const verifier = createTokenVerifier(AUTH, REGISTRY);
    expect(await refusal(authenticate(AUTH, verifier, undefined))).toContain('Authentication required');
    expect(await authenticate({ enabled: false }, verifier, undefined)).toEqual({ sub: 'anonymous', role: 'ops', claims: {} });
    expect(await authenticate({ enabled: false }, verifier, 'Bearer garbage')).toBe(verifier.authOffViewer);
    const fleet = createTokenVerifier(AUTH, { ...fixtureRegistry(), authOffRole: 'fleet_manager' });
    expect(await authenticate({ enabled: false }, fleet, undefined)).toEqual({ sub: 'anonymous', role: 'fleet_manager', claims: { fleet_id: 'f1' } });
  });

  it('fails fast with BAD_CONFIG when auth is on without a key', () => {
    expect(() => createTokenVerifier({ enabled: true }, REGISTRY)).toThrow(expect.objectContaining({ code: GatewayErrorCode.BAD_CONFIG }));
  });

  it('signToken refuses a non-positive ttl', async () => {
    await expect(signToken(TEST_SECRET, { sub: 'a', role: 'rider' }, 0)).rejects.toThrow(RangeError);
  });
});

describe('roles and claims come from the registry', () => {
  const verifier = createTokenVerifier(AUTH, fixtureRegistry());
  const token = (extra: Record<string, unknown>, role = 'fleet_manager') => hs256({ ...claims('fm-1', role), ...extra });

  it('accepts a declared GraphQL role with its declared claims, typed', async () => {
    expect(await verifier.verify(token({ fleet_id: 'f1', other: 1 }))).toMatchObject({ sub: 'fm-1', role: 'fleet_manager', claims: { fleet_id: 'f1' } });
    expect(await verifier.verify(token({ fleet_ids: [] }, 'regional'))).toMatchObject({ role: 'regional', claims: { fleet_ids: [] } });
    expect(await verifier.verify(token({ fleet_ids: ['a', "b'"] }, 'regional'))).toMatchObject({ claims: { fleet_ids: ['a', "b'"] } });
    const viewer = await verifier.verify(await signToken(TEST_SECRET, { sub: 'reg', role: 'regional', claims: { fleet_ids: ['x'] } }, 60));
    expect(viewer).toMatchObject({ role: 'regional', claims: { fleet_ids: ['x'] } });
  });

  it.each([
    ['a missing claim', token({})],
    ['a list for a string claim', token({ fleet_id: ['f1'] })],
    ['a number for a string claim', token({ fleet_id: 7 })],
    ['a string for a list claim', token({ fleet_ids: 'a' }, 'regional')],
    ['a list with a non-string', token({ fleet_ids: ['a', 1] }, 'regional')],
    ['an oversized claim', token({ fleet_id: 'x'.repeat(300) })],
    ['a NUL in a claim', token({ fleet_id: 'a\u0000b' })],
    ['a NUL in a list claim', token({ fleet_ids: ['a\u0000'] }, 'regional')],
    ['a NUL in sub', hs256({ ...claims('a\u0000b', 'ops') })],
    ['a SQL-only role (graphql: false)', token({}, 'analyst')],
    ['an undeclared role', token({}, 'admin')],
    ['an inherited name as role', token({}, '__proto__')],
    ['a non-string role', hs256({ ...claims('fm-1', 'ops'), role: ['ops'] })],
  ])('refuses %s with UNAUTHENTICATED', async (_what, t) => {
    const message = await refusal(verifier.verify(t));
    expect(message).toMatch(/^Invalid token/);
  });

  it('names the claim and type, never the value', async () => {
    const message = await refusal(verifier.verify(token({ fleet_id: ['secret-fleet'] })));
    expect(message).toBe('Invalid token: claim fleet_id must be a string of at most 256 characters');
    expect(await refusal(verifier.verify(token({}, 'analyst')))).toBe('Invalid token: role must be one of rider, driver, fleet_manager, regional, ops');
  });
});

describe('verified-token cache', () => {
  /** A verifier on a clock the test moves, counting the tokens jose really verifies (the cache misses). */
  function clocked(cacheSize?: number) {
    let t = Date.now(); // badTokens() are made on the real clock
    const verifier = createTokenVerifier(AUTH, REGISTRY, undefined, { now: () => t, ...(cacheSize !== undefined ? { cacheSize } : {}) });
    return { verifier, advance: (ms: number) => { t += ms; }, now: () => t };
  }
  const tokenAt = (now: number, sub: string, ttlSeconds: number) => {
    const iat = Math.floor(now / 1000);
    return hs256({ sub, role: 'rider', iat, exp: iat + ttlSeconds });
  };

  it('returns the same viewer for the same token while it is unexpired, then refuses it at exp', async () => {
    const c = clocked();
    const token = tokenAt(c.now(), 'rider-1', 10);
    const first = await c.verifier.verify(token);
    expect(await c.verifier.verify(token)).toBe(first); // a cache hit: the very same object
    c.advance(9_000);
    expect(await c.verifier.verify(token)).toBe(first);
    c.advance(1_000); // now == exp: jose's rule says expired, and the cache must not say otherwise
    expect(await refusal(c.verifier.verify(token))).toBe('Token expired');
    expect(await refusal(c.verifier.verify(token))).toBe('Token expired');
  });

  it('never keeps a token that failed verification', async () => {
    const c = clocked();
    for (const bad of Object.values(badTokens())) {
      await refusal(c.verifier.verify(bad));
      await refusal(c.verifier.verify(bad));
    }
    // A token signed with another secret stays refused even after a good token of the same subject was cached.
    const good = tokenAt(c.now(), 'rider-2', 60);
    await c.verifier.verify(good);
    const forged = hs256({ sub: 'rider-2', role: 'rider', iat: Math.floor(c.now() / 1000), exp: Math.floor(c.now() / 1000) + 60 }, 'another-secret-of-32-characters!!');
    await refusal(c.verifier.verify(forged));
  });

  it('is bounded: the least recently used token is verified again after the cache is full', async () => {
    const c = clocked(2);
    const [a, b, d] = ['rider-a', 'rider-b', 'rider-d'].map((s) => tokenAt(c.now(), s, 60)) as [string, string, string];
    const va = await c.verifier.verify(a);
    const vb = await c.verifier.verify(b);
    expect(await c.verifier.verify(a)).toBe(va); // a is now the most recent
    await c.verifier.verify(d); // evicts b
    expect(await c.verifier.verify(a)).toBe(va);
    const vb2 = await c.verifier.verify(b);
    expect(vb2).not.toBe(vb);
    expect(vb2).toEqual(vb);
  });

  it('verifies a token again once its entry is cacheMaxAgeMs old, however far away its exp is', async () => {
    const c = clocked();
    const token = tokenAt(c.now(), 'rider-4', 3_600);
    const first = await c.verifier.verify(token);
    c.advance(59_000);
    expect(await c.verifier.verify(token)).toBe(first);
    c.advance(1_000); // 60 s after it was verified: checked again by jose (a revoked key would now refuse it)
    const again = await c.verifier.verify(token);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    expect(await c.verifier.verify(token)).toBe(again);
  });

  it('with cacheSize 0 verifies every time', async () => {
    const c = clocked(0);
    const token = tokenAt(c.now(), 'rider-3', 60);
    const first = await c.verifier.verify(token);
    const second = await c.verifier.verify(token);
    expect(second).not.toBe(first);
    expect(second).toEqual(first);
  });
});
