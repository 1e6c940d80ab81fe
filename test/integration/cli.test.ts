import { createHmac } from 'node:crypto';
import { main } from '../../src/cli/index';
import { captureIo } from '../helpers/cliIo';
import { waitFor } from '../helpers/waitFor';

const SECRET = 'test-secret-that-is-at-least-32-bytes-long';
// serve and simulate open a real PGlite engine (2-3 s each on an idle machine; 30 s and more were
// seen on a loaded one): the bounds below only stop a hung run.
jest.setTimeout(300_000);
const STARTUP_MS = 180_000;

/**
 * Runs `body` against a started `serve`; if it fails, still stops serve (signal, then its exit), so
 * a failed test leaves no server or engine running into the next one.
 */
async function withServe(cli: ReturnType<typeof captureIo>, exit: Promise<number>, body: () => Promise<void>): Promise<void> {
  let exited = false;
  void exit.finally(() => (exited = true)).catch(() => undefined);
  try {
    await body();
  } finally {
    if (!exited) {
      await waitFor(() => exited || cli.listening(), STARTUP_MS).catch(() => undefined);
      cli.signal('SIGTERM');
      await exit.catch(() => undefined);
    }
  }
}

/** Decodes an HS256 JWT after checking its signature with `secret`. */
function verifyHs256(token: string, secret: string): Record<string, unknown> {
  const [header, payload, signature] = token.split('.');
  expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toMatchObject({ alg: 'HS256' });
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  expect(signature).toBe(expected);
  return JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
}

describe('wavegate (CLI main)', () => {
  it('prints usage for help, and exits 2 without a command', async () => {
    const help = captureIo();
    expect(await main(['help'], help.io)).toBe(0);
    expect(help.out.stdout).toContain('Usage: wavegate <command>');
    expect(help.out.stdout).toMatch(/serve[\s\S]*simulate[\s\S]*token[\s\S]*print-schema[\s\S]*migrate/);
    const none = captureIo();
    expect(await main([], none.io)).toBe(2);
    expect(none.out.stderr).toContain('Usage: wavegate <command>');
  });

  it('exits 2 with usage on an unknown command', async () => {
    const { io, out } = captureIo();
    expect(await main(['frobnicate'], io)).toBe(2);
    expect(out.stderr).toContain('unknown command "frobnicate"');
    expect(out.stderr).toContain('Usage: wavegate');
    expect(out.stdout).toBe('');
  });

  describe('token', () => {
    it('prints a JWT signed with WAVEGATE_JWT_SECRET carrying sub, role and the TTL', async () => {
      const { io, out } = captureIo({ WAVEGATE_JWT_SECRET: SECRET });
      const before = Math.floor(Date.now() / 1000);
      expect(await main(['token', '--sub', 'rider-0007', '--role', 'rider', '--ttl', '600'], io)).toBe(0);
      expect(out.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      const claims = verifyHs256(out.stdout.trim(), SECRET);
      expect(claims).toMatchObject({ sub: 'rider-0007', role: 'rider' });
      expect(claims['exp']).toBeGreaterThanOrEqual(before + 600);
      expect(claims['exp']).toBeLessThanOrEqual(before + 602);
    });

    it('defaults to 12 hours and adds iss/aud when the gateway requires them', async () => {
      const { io, out } = captureIo({ WAVEGATE_JWT_SECRET: SECRET, WAVEGATE_JWT_ISSUER: 'rides', WAVEGATE_JWT_AUDIENCE: 'wavegate' });
      expect(await main(['token', '--sub=ops-alice', '--role=ops'], io)).toBe(0);
      const claims = verifyHs256(out.stdout.trim(), SECRET);
      expect(claims).toMatchObject({ sub: 'ops-alice', role: 'ops', iss: 'rides', aud: 'wavegate' });
      expect(Number(claims['exp']) - Number(claims['iat'])).toBe(12 * 3600);
    });

    it.each([
      [['--sub', 'a', '--role', 'rider'], {}, 'WAVEGATE_JWT_SECRET is not set'],
      [['--sub', 'a', '--role', 'rider'], { WAVEGATE_JWT_SECRET: 'short' }, 'shorter than 32 bytes'],
      [['--sub', 'a', '--role', 'admin'], { WAVEGATE_JWT_SECRET: SECRET }, '--role=admin is not valid'],
      [['--role', 'rider'], { WAVEGATE_JWT_SECRET: SECRET }, '--sub and --role are required'],
      [['--sub', 'a', '--role', 'rider', '--ttl', '0'], { WAVEGATE_JWT_SECRET: SECRET }, '--ttl=0 is not valid'],
      [['--sub', 'a b', '--role', 'rider'], { WAVEGATE_JWT_SECRET: SECRET }, '--sub=a b is not valid'],
      [['--sub', 'a', '--role', 'rider', '--bogus', 'x'], { WAVEGATE_JWT_SECRET: SECRET }, "Unknown option '--bogus'"],
    ])('exits 2 for token %j with env %j (%s)', async (args, env, message) => {
      const { io, out } = captureIo(env as Record<string, string>);
      expect(await main(['token', ...args], io)).toBe(2);
      expect(out.stderr).toContain(message);
      expect(out.stdout).toBe('');
    });
  });

  it.each([
    ['serve', { WAVEGATE_PORT: 'eighty' }, 'WAVEGATE_PORT=eighty'],
    ['serve', { WAVEGATE_JWT_SECRET: 'short' }, 'WAVEGATE_JWT_SECRET'],
    ['serve', { WAVEGATE_ENGINE: 'risingwave', WAVEGATE_JWT_SECRET: SECRET }, 'WAVEGATE_DATABASE_URL'],
    ['serve', { WAVEGATE_CORS_ORIGINS: 'app.example.com' }, 'WAVEGATE_CORS_ORIGINS=app.example.com'],
    // Parsed by the passthrough when serve wires it, still before anything opens; the password is never shown.
    ['serve', { WAVEGATE_SQL_USERS: 'ana:pw-not-shown:admin' }, 'WAVEGATE_SQL_USERS: entry 1 (ana): unknown role "admin"'],
    ['simulate', { WAVEGATE_SIM_RATE: '-1' }, 'WAVEGATE_SIM_RATE=-1'],
  ])('exits 78 when %s has bad configuration, naming the variable without a stack trace (%j)', async (command, env, message) => {
    const { io, out } = captureIo(env);
    expect(await main([command], io)).toBe(78);
    expect(out.stderr).toContain(message);
    expect(out.stderr).toMatch(/^wavegate: bad configuration: /);
    expect(out.stderr).not.toMatch(/\n\s+at /);
    expect(out.stderr).not.toContain('pw-not-shown');
  });

  it('prints the GraphQL schema', async () => {
    const { io, out } = captureIo();
    expect(await main(['print-schema'], io)).toBe(0);
    expect(out.stdout).toContain('type Query');
    expect(out.stdout).toContain('type Subscription');
  });

  it('simulates a batch of rides into the embedded engine and prints a summary', async () => {
    const { io, out } = captureIo({ WAVEGATE_LOG_LEVEL: 'silent' });
    expect(await main(['simulate', '--rides', '15', '--seed', '5'], io)).toBe(0);
    expect(out.stdout).toMatch(/^Simulated 15 rides \(seed 5\) in [\d.]+ s: \d+ events in \d+ transactions/);
    expect(out.stdout).toMatch(/trip_history now: .*\d+ COMPLETED/);
    expect(out.stderr).toBe('');
  });

  describe('serve', () => {
    it('starts on port 0 with the simulator, prints the banner with working tokens, answers /healthz, and stops on SIGTERM', async () => {
      const cli = captureIo({ WAVEGATE_PORT: '0', WAVEGATE_SIM_RATE: '50', WAVEGATE_SIM_SEED: '1' });
      const exit = main(['serve'], cli.io);
      await withServe(cli, exit, async () => {
        const url = String(await waitFor(() => /GraphiQL \(open in a browser\):\s+(\S+)/.exec(cli.out.stderr)?.[1], STARTUP_MS));
        const health = await fetch(new URL('/healthz', url));
        expect(health.status).toBe(200);

        // The banner's tokens are valid for this run's generated secret: ops sees the simulator's rides.
        const ops = /ops\s+\(ops-1\):\s+(\S+)/.exec(cli.out.stderr)?.[1];
        expect(ops).toBeDefined();
        const query = async (token: string | undefined) => fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify({ query: '{ trips(first: 5) { edges { node { id status } } } }' }),
      });
      const edges = await waitFor(async () => {
        const body = (await (await query(ops)).json()) as { data?: { trips: { edges: unknown[] } } };
        return body.data?.trips.edges.length ? body.data.trips.edges : undefined;
      }, 60_000);
      expect(edges?.[0]).toMatchObject({ node: { id: expect.stringMatching(/^ride-/) } });
      expect((await query(undefined)).status).toBe(401);

      // Tokens appear in the banner only, never in the logs.
      const tokens = cli.out.stderr.match(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g) ?? [];
      expect(tokens).toHaveLength(3);
      const logged = JSON.stringify(cli.log.lines);
      for (const t of tokens) expect(logged).not.toContain(t);
      expect(cli.log.lines.some((l) => l.msg === 'wavegate is serving')).toBe(true);

      cli.signal('SIGTERM');
      expect(await exit).toBe(0);
      expect(cli.listening()).toBe(false);
      await expect(fetch(new URL('/healthz', url))).rejects.toThrow();
      expect(cli.log.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['simulator stopped', 'wavegate stopped']));
      });
    });

    it('prints no tokens when the secret is configured', async () => {
      const cli = captureIo({ WAVEGATE_PORT: '0', WAVEGATE_JWT_SECRET: SECRET, WAVEGATE_SIMULATE: 'off' });
      const exit = main(['serve'], cli.io);
      await withServe(cli, exit, async () => {
        await waitFor(() => cli.log.lines.some((l) => l.msg === 'wavegate is serving'), STARTUP_MS);
        expect(cli.out.stderr).toBe('');
        cli.signal('SIGINT');
        expect(await exit).toBe(0);
      });
    });
  });
});
