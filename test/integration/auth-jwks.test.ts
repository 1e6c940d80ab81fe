/**
 * Tokens checked against a JWKS (a real HTTP server on port 0): RS256 accepted; HS256 "signed" with
 * the public key (algorithm confusion), alg none and foreign keys refused.
 */
import { createPublicKey, generateKeyPairSync, createSign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { claims, hs256, rs256, rsaKeys } from '../helpers/tokens';

let jwks: Server;
let t: TestGateway;

beforeAll(async () => {
  const jwk = { ...createPublicKey(rsaKeys().publicKey).export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
  t = await startTestGateway({ auth: { enabled: true, secret: undefined, jwksUrl, issuer: 'https://id.example', audience: 'wavegate' } });
});
afterAll(async () => {
  await t?.dispose();
  jwks.closeAllConnections();
  await new Promise((r) => jwks.close(r));
});

const Q = '{ trips { edges { cursor } } }';
const good = () => ({ ...claims('ops-1', 'ops'), iss: 'https://id.example', aud: 'wavegate' });

describe('JWKS keys', () => {
  it('accepts an RS256 token from the JWKS with the configured issuer and audience', async () => {
    const r = await t.gql(Q, undefined, rs256(good()));
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ data: { trips: { edges: [] } } });
  });

  it('refuses wrong issuer or audience', async () => {
    expect((await t.gql(Q, undefined, rs256({ ...good(), iss: 'https://evil.example' }))).status).toBe(401);
    expect((await t.gql(Q, undefined, rs256({ ...good(), aud: 'other' }))).status).toBe(401);
  });

  it('refuses HS256 signed with the public key (algorithm confusion), alg none and a foreign RSA key', async () => {
    const confused = hs256(good(), rsaKeys().publicKey, { alg: 'HS256', typ: 'JWT', kid: 'test-key' });
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(good())).toString('base64url')}.`;
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const input = `${Buffer.from(JSON.stringify({ alg: 'RS256', kid: 'test-key' })).toString('base64url')}.${Buffer.from(JSON.stringify(good())).toString('base64url')}`;
    const foreign = `${input}.${createSign('RSA-SHA256').update(input).sign(other.privateKey).toString('base64url')}`;
    for (const token of [confused, none, foreign]) {
      const r = await t.gql(Q, undefined, token);
      expect(r.status).toBe(401);
      expect(r.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    }
    expect((await t.gql(Q, undefined, rs256(good()))).status).toBe(200);
  });
});
