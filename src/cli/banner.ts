import { readClaims } from '../auth/claims';
import { signToken } from '../auth/token';
import type { Config } from '../config/types';
import type { Registry } from '../views/model';
import { DEFAULT_TOKEN_TTL_SECONDS } from './token';

/** Whether `serve` prints the banner: only in demo set-ups, where the user has no way to get a token. */
export function wantsBanner(config: Config): boolean {
  return !config.auth.enabled || config.auth.secretGenerated === true;
}

/**
 * The start-up banner for `serve` in demo set-ups (plain text, written to stderr): the GraphiQL URL
 * and, when the secret was generated for this run, a token per GraphQL role of `registry` that
 * declares `sample` claims (schema/wavegate.yaml). The tokens appear only here, never in the logs;
 * they die with the process, since the next run generates a new secret.
 */
export async function banner(config: Config, url: string, simulating: boolean, registry: Registry): Promise<string> {
  const lines = [
    '',
    `Wavegate is up: ${config.engine} engine${simulating ? ', ride simulator on' : ''}.`,
    '',
    `  GraphiQL (open in a browser):  ${url}`,
    `  Health:                        ${new URL('/healthz', url).toString()}`,
    '',
  ];
  if (!config.auth.enabled) {
    lines.push(`Auth is OFF (WAVEGATE_AUTH=off): every caller has role ${registry.authOffRole}. Local demos only.`, '');
    return lines.join('\n');
  }
  const secret = config.auth.secret;
  if (secret === undefined) return lines.join('\n');
  const options = {
    ...(config.auth.issuer !== undefined ? { issuer: config.auth.issuer } : {}),
    ...(config.auth.audience !== undefined ? { audience: config.auth.audience } : {}),
  };
  // Roles with sample claims that make a valid token (a sample missing a declared claim is skipped).
  const samples = registry.roles.flatMap((role) => {
    const sample = role.sample;
    if (!role.graphql || sample === undefined || typeof sample['sub'] !== 'string') return [];
    const read = readClaims(role, sample);
    return 'problem' in read ? [] : [{ role: role.name, sub: sample['sub'], claims: read.claims }];
  });
  if (samples.length === 0) return lines.join('\n');
  const width = Math.max(...samples.map((s) => s.role.length));
  lines.push(
    'No WAVEGATE_JWT_SECRET was set, so this run signs tokens with a generated secret. Sample tokens,',
    'valid 12 h or until this process stops:',
    '',
  );
  for (const s of samples) {
    const token = await signToken(secret, { sub: s.sub, role: s.role, claims: s.claims }, DEFAULT_TOKEN_TTL_SECONDS, options);
    lines.push(`  ${s.role.padEnd(width)} (${s.sub}):`, `    ${token}`);
  }
  lines.push(
    '',
    'Send one as an HTTP header; in GraphiQL, paste into the Headers tab:',
    '  { "Authorization": "Bearer <token>" }',
    'or with curl:',
    `  curl -H "Authorization: Bearer <token>" -H 'content-type: application/json' \\`,
    `       -d '{"query":"{ trips(first: 5) { edges { node { id status fare { amount currency } } } } }"}' ${url}`,
    'Each role reads what its permissions declare (schema/*.yaml). For tokens that survive a restart,',
    'set WAVEGATE_JWT_SECRET (>= 32 bytes) and mint them with `wavegate token --sub ID --role ROLE [--claim NAME=VALUE]`.',
    '',
  );
  return lines.join('\n');
}
