import { signToken } from '../auth/token';
import type { Config } from '../config/types';
import { driverId, riderId } from '../simulator/rides';
import { DEFAULT_TOKEN_TTL_SECONDS } from './token';

/** Whether `serve` prints the banner: only in demo set-ups, where the user has no way to get a token. */
export function wantsBanner(config: Config): boolean {
  return !config.auth.enabled || config.auth.secretGenerated === true;
}

/**
 * The start-up banner for `serve` in demo set-ups (plain text, written to stderr): the GraphiQL URL
 * and, when the secret was generated for this run, a token per role. The tokens appear only here,
 * never in the logs; they die with the process, since the next run generates a new secret.
 */
export async function banner(config: Config, url: string, simulating: boolean): Promise<string> {
  const lines = [
    '',
    `Wavegate is up: ${config.engine} engine${simulating ? ', ride simulator on' : ''}.`,
    '',
    `  GraphiQL (open in a browser):  ${url}`,
    `  Health:                        ${new URL('/healthz', url).toString()}`,
    '',
  ];
  if (!config.auth.enabled) {
    lines.push('Auth is OFF (WAVEGATE_AUTH=off): every caller is ops and sees every row. Local demos only.', '');
    return lines.join('\n');
  }
  const secret = config.auth.secret;
  if (secret === undefined) return lines.join('\n');
  const options = {
    ...(config.auth.issuer !== undefined ? { issuer: config.auth.issuer } : {}),
    ...(config.auth.audience !== undefined ? { audience: config.auth.audience } : {}),
  };
  const samples = [
    { label: 'rider ', sub: riderId(0), role: 'rider' as const },
    { label: 'driver', sub: driverId(0), role: 'driver' as const },
    { label: 'ops   ', sub: 'ops', role: 'ops' as const },
  ];
  lines.push(
    'No WAVEGATE_JWT_SECRET was set, so this run signs tokens with a generated secret. Sample tokens,',
    'valid 12 h or until this process stops:',
    '',
  );
  for (const s of samples) {
    const token = await signToken(secret, { sub: s.sub, role: s.role }, DEFAULT_TOKEN_TTL_SECONDS, options);
    lines.push(`  ${s.label} (${s.sub}):`, `    ${token}`);
  }
  lines.push(
    '',
    'Send one as an HTTP header; in GraphiQL, paste into the Headers tab:',
    '  { "Authorization": "Bearer <token>" }',
    'or with curl:',
    `  curl -H "Authorization: Bearer <token>" -H 'content-type: application/json' \\`,
    `       -d '{"query":"{ trips(first: 5) { edges { node { id status fare { amount currency } } } } }"}' ${url}`,
    'Riders and drivers see only their own rows; ops see everything. For tokens that survive a restart,',
    'set WAVEGATE_JWT_SECRET (>= 32 bytes) and mint them with `wavegate token --sub ID --role ROLE`.',
    '',
  );
  return lines.join('\n');
}
