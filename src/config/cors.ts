/**
 * `WAVEGATE_CORS_ORIGINS` and the one origin rule both HTTP (CORS) and the websocket upgrade apply:
 * a page may call the gateway when it is served by the gateway itself (GraphiQL) or its origin is
 * listed. A browser names the page's origin in the `Origin` header (on websocket upgrades too);
 * requests without one come from outside a browser and are not limited by this rule.
 */
import { errors } from '../errors';
import { envString, type Env } from './env';
import type { CorsConfig } from './types';

/** Reads `WAVEGATE_CORS_ORIGINS`: exact origins, comma-separated (blanks ignored), or `*` alone. */
export function loadCorsConfig(env: Env): CorsConfig {
  const raw = envString(env, 'WAVEGATE_CORS_ORIGINS');
  if (raw === undefined) return { origins: [] };
  const list = raw.split(',').map((o) => o.trim()).filter((o) => o !== '');
  if (list.includes('*')) {
    if (list.length > 1) throw errors.badConfig(`WAVEGATE_CORS_ORIGINS=${raw} is not valid: use * alone (any origin), or a list of origins`);
    return { origins: '*' };
  }
  for (const o of list) {
    if (!isExactOrigin(o)) {
      throw errors.badConfig(`WAVEGATE_CORS_ORIGINS=${raw} is not valid: use origins as browsers send them, e.g. https://app.example.com or http://localhost:3000 (scheme://host[:port], no path or trailing slash), comma-separated, or * (${o} is not one)`);
    }
  }
  return { origins: list };
}

/**
 * True when `value` is an http(s) origin in the form a browser's `Origin` header has it: lower-case
 * host, no default port, no path, so allowed origins compare as plain strings.
 */
function isExactOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

/**
 * Whether a page from `origin` (the request's `Origin` header) may call a gateway the browser
 * reached as `host` (the request's `Host` header): the same host (the gateway's own pages; behind a
 * proxy that rewrites Host, list the public origin instead) or an allowed origin. `null` origins
 * (sandboxed frames, file: pages) pass only with `*`.
 */
export function originAllowed(cors: CorsConfig | undefined, origin: string, host: string | undefined): boolean {
  const origins = cors?.origins ?? [];
  if (origins === '*') return true;
  if (origins.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
