import { UsageError } from '../../src/cli/args';
import { banner } from '../../src/cli/banner';
import { runToken } from '../../src/cli/token';
import { createTokenVerifier } from '../../src/auth/verify';
import type { Config } from '../../src/config/types';
import { bundledRegistry } from '../../src/views/load';
import { captureIo } from '../helpers/cliIo';
import { fixtureRegistry } from '../helpers/permissionsFixture';

const SECRET = 'test-secret-that-is-at-least-32-bytes-long';
const registry = fixtureRegistry();
const verifier = createTokenVerifier({ enabled: true, secret: SECRET }, registry);

async function mint(args: string[]): Promise<string> {
  const { io, out } = captureIo({ WAVEGATE_JWT_SECRET: SECRET });
  expect(await runToken(args, io, registry)).toBe(0);
  return out.stdout.trim();
}

async function usage(args: string[]): Promise<string> {
  const { io } = captureIo({ WAVEGATE_JWT_SECRET: SECRET });
  const err = await runToken(args, io, registry).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(UsageError);
  return (err as Error).message;
}

describe('wavegate token: roles and claims from the registry', () => {
  it('mints tokens the gateway accepts, with --claim for declared claims (lists as a|b or repeated)', async () => {
    expect(await verifier.verify(await mint(['--sub', 'fm-1', '--role', 'fleet_manager', '--claim', 'fleet_id=f-7'])))
      .toMatchObject({ sub: 'fm-1', role: 'fleet_manager', claims: { fleet_id: 'f-7' } });
    expect(await verifier.verify(await mint(['--sub', 'r', '--role', 'regional', '--claim', 'fleet_ids=a|b', '--claim', 'fleet_ids=c'])))
      .toMatchObject({ claims: { fleet_ids: ['a', 'b', 'c'] } });
    expect(await verifier.verify(await mint(['--sub', 'r', '--role', 'regional', '--claim=fleet_ids='])))
      .toMatchObject({ claims: { fleet_ids: [] } });
  });

  it.each([
    [['--sub', 'a', '--role', 'analyst'], /role analyst is for the SQL port only/],
    [['--sub', 'a', '--role', 'admin'], /--role=admin is not valid: use one of rider, driver, fleet_manager, regional, ops/],
    [['--sub', 'a', '--role', 'fleet_manager'], /missing claim fleet_id \(string\) of role fleet_manager/],
    [['--sub', 'a', '--role', 'fleet_manager', '--claim', 'fleet=f'], /declares no such claim \(it declares: fleet_id \(string\)\)/],
    [['--sub', 'a', '--role', 'fleet_manager', '--claim', 'fleet_id'], /declares no such claim/],
    [['--sub', 'a', '--role', 'fleet_manager', '--claim', 'fleet_id=a', '--claim', 'fleet_id=b'], /given twice/],
    [['--sub', 'a', '--role', 'fleet_manager', '--claim', "fleet_id=a'b"], /--claim fleet_id: use 1-128/],
    [['--sub', 'a', '--role', 'regional', '--claim', 'fleet_ids=a||b'], /items are 1-128/],
  ])('refuses %j', async (args, message) => {
    expect(await usage(args)).toMatch(message);
  });
});

describe('banner sample tokens', () => {
  const config = { engine: 'embedded', auth: { enabled: true, secret: SECRET, secretGenerated: true } } as unknown as Config;

  it('prints one working token per GraphQL role with sample claims', async () => {
    const text = await banner(config, 'http://127.0.0.1:1/graphql', false, registry);
    const tokens = [...text.matchAll(/^ {2}(\S+)\s+\((\S+)\):\n {4}(\S+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '', m[3] ?? ''] as const);
    expect(tokens.map(([role, sub]) => [role, sub])).toEqual([
      ['rider', 'rider-1'], ['driver', 'driver-1'], ['fleet_manager', 'fm-1'], ['regional', 'reg-1'], ['ops', 'ops-1'],
    ]);
    for (const [role, sub, token] of tokens) expect(await verifier.verify(token)).toMatchObject({ role, sub });
    expect(await verifier.verify(tokens[3]![2])).toMatchObject({ claims: { fleet_ids: ['f1', 'f2'] } });
  });

  it('takes the bundled samples from schema/wavegate.yaml', async () => {
    const text = await banner(config, 'http://127.0.0.1:1/graphql', false, bundledRegistry());
    expect([...text.matchAll(/^ {2}(\S+)\s+\((\S+)\):$/gm)].map((m) => `${m[1]}:${m[2]}`)).toEqual(['rider:rider-0001', 'driver:driver-0001', 'ops:ops-1']);
    const off = await banner({ ...config, auth: { enabled: false } } as Config, 'http://127.0.0.1:1/graphql', false, bundledRegistry());
    expect(off).toContain('every caller has role ops');
  });
});
