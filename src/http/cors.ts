/**
 * CORS on /graphql (the Fetch standard's CORS protocol: https://fetch.spec.whatwg.org/#http-cors-protocol),
 * so a browser app on another origin can query the gateway with a bearer token.
 *
 * - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered here,
 *   before authentication: browsers never send credentials on it. An allowed origin gets 204 with
 *   the methods and headers it may use; any other gets 403 and no CORS headers, which the browser
 *   reports as a CORS error.
 * - Other requests go on as before; an allowed origin's responses (errors too) carry
 *   `Access-Control-Allow-Origin`, so the page can read them. Others carry none: the browser keeps
 *   the response from the page.
 * - Which origins are allowed is config/cors.ts's rule, shared with the websocket upgrade.
 */
import type { NextFunction, Request, Response } from 'express';
import { originAllowed } from '../config/cors';
import type { CorsConfig } from '../config/types';
import { errorBody } from '../graphql/errors';

/** Methods /graphql answers. */
const METHODS = 'GET, POST, OPTIONS';
/**
 * Request headers a page may send: the bearer token, the JSON body's type, and the two headers
 * Apollo Server's CSRF prevention accepts instead of a preflighted content type
 * (https://www.apollographql.com/docs/apollo-server/security/cors#preventing-cross-site-request-forgery-csrf).
 */
const HEADERS = 'Authorization, Content-Type, Apollo-Require-Preflight, X-Apollo-Operation-Name';
/** How long a browser may reuse a preflight answer, in seconds: 10 minutes, so a changed list applies soon. */
const MAX_AGE_SECONDS = 600;

/** Express middleware for /graphql: answers preflights and marks allowed origins' responses. */
export function corsMiddleware(cors: CorsConfig | undefined): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      // The answer depends on Origin: shared caches must not hand one origin's answer to another.
      res.vary('Origin');
      if (originAllowed(cors, origin, req.headers.host)) res.set('Access-Control-Allow-Origin', cors?.origins === '*' ? '*' : origin);
    }
    if (req.method !== 'OPTIONS') return next();
    if (origin === undefined || req.headers['access-control-request-method'] === undefined) {
      // Not a CORS preflight: just say what /graphql supports.
      return void res.status(204).set('Allow', METHODS).end();
    }
    if (!res.hasHeader('Access-Control-Allow-Origin')) {
      return void res.status(403).json(errorBody('FORBIDDEN', 'This origin may not call the gateway: its operator can allow it with WAVEGATE_CORS_ORIGINS'));
    }
    res.status(204).set({
      'Access-Control-Allow-Methods': METHODS,
      'Access-Control-Allow-Headers': HEADERS,
      'Access-Control-Max-Age': String(MAX_AGE_SECONDS),
    }).end();
  };
}
