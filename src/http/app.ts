/**
 * The HTTP side of the gateway (express 5): /graphql (GraphiQL for browsers, GraphQL over HTTP
 * through Apollo), /healthz, /readyz, /metrics. Websockets share the server (graphql/websocket.ts).
 *
 * Order on /graphql: CORS (preflights answered here, without auth: http/cors.ts) → GraphiQL page
 * (no auth: it is static; the user pastes a token into it) → metrics hook → refuse while draining →
 * authenticate (401 before the body is read) → JSON body with the size limit (413) → Apollo.
 */
import { randomUUID } from 'node:crypto';
import type { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type NextFunction, type Request, type Response } from 'express';
import { authenticate, type TokenVerifier } from '../auth/verify';
import type { Viewer } from '../auth/viewer';
import type { Config } from '../config/types';
import { GatewayErrorCode, isGatewayError } from '../errors';
import { createContext, type ContextDeps, type GraphQLContext, type RequestReport } from '../graphql/context';
import { errorBody } from '../graphql/errors';
import type { Logger } from '../log';
import type { GatewayMetrics } from '../metrics';
import { corsMiddleware } from './cors';
import { ASSET_PREFIX, graphiqlAssets, sendGraphiql, wantsGraphiql } from './graphiql';
import { healthz, readyz, type Readiness } from './health';

/** What {@link createHttpApp} needs. */
export interface HttpAppOptions {
  readonly config: Config;
  /** Started. */
  readonly apollo: ApolloServer<GraphQLContext>;
  readonly contextDeps: ContextDeps;
  readonly verifier: TokenVerifier;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
  readonly readiness: () => Readiness;
  /** False once the gateway is draining: new GraphQL requests get 503. */
  readonly accepting: () => boolean;
}

interface Locals {
  report: RequestReport;
  viewer?: Viewer;
}

function locals(res: Response): Locals {
  return res.locals as Locals;
}

/** How a body the client sent wrong is answered (body-parser's errors, http-errors with a 4xx status). */
interface BodyRefusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/**
 * The answer to a request whose body could not be read, or undefined for a server fault. Every 4xx
 * body-parser raises is the client's (a body that is not the gzip its Content-Encoding says is a
 * zlib error that body-parser marks 400 without a `type`), so it is answered as such, never as 500.
 */
function bodyRefusal(err: unknown, maxBodyBytes: number): BodyRefusal | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { type, status } = err as { type?: unknown; status?: unknown };
  switch (type) {
    case 'entity.too.large':
      return { status: 413, code: GatewayErrorCode.PAYLOAD_TOO_LARGE, message: `Request body larger than ${maxBodyBytes} bytes` };
    case 'entity.parse.failed':
      return { status: 400, code: 'BAD_REQUEST', message: 'Malformed JSON body' };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, code: 'BAD_REQUEST', message: 'Unsupported body encoding (use identity, gzip, deflate or br, and UTF-8)' };
    case 'request.size.invalid':
      return { status: 400, code: 'BAD_REQUEST', message: 'Request body does not match its Content-Length' };
    default:
      if (typeof status === 'number' && status >= 400 && status < 500) {
        return { status: 400, code: 'BAD_REQUEST', message: 'Request body could not be read: it does not match its Content-Encoding' };
      }
      return undefined;
  }
}

/** Builds the express app. */
export function createHttpApp(o: HttpAppOptions): express.Express {
  const log = o.log.child('http');
  const app = express();
  app.disable('x-powered-by');
  const sendError = (res: Response, status: number, code: string, message: string) => {
    o.metrics.graphqlError(code);
    res.status(status).json(errorBody(code, message));
  };

  app.get('/healthz', healthz);
  app.get('/readyz', readyz(o.readiness));
  app.get('/metrics', (_req, res, next) => {
    o.metrics.render().then((text) => res.type(o.metrics.contentType).send(text), next);
  });
  app.use(ASSET_PREFIX, graphiqlAssets());

  const graphql = express.Router();
  graphql.use(corsMiddleware(o.config.cors));
  graphql.use((req, res, next) => {
    if (req.path !== '/') return void res.status(404).type('text').send('Not found');
    if (wantsGraphiql(req)) return sendGraphiql(res, o.config.auth.enabled);
    const report: RequestReport = {};
    locals(res).report = report;
    res.on('finish', () => o.metrics.httpRequest(report.operationType ?? 'unknown', res.statusCode));
    if (!o.accepting()) {
      res.set('Connection', 'close');
      return sendError(res, 503, GatewayErrorCode.ENGINE_UNAVAILABLE, 'The gateway is shutting down; retry shortly');
    }
    authenticate(o.config.auth, o.verifier, req.headers.authorization).then((viewer) => {
      locals(res).viewer = viewer;
      next();
    }, (err: unknown) => {
      if (!isGatewayError(err, GatewayErrorCode.UNAUTHENTICATED)) return next(err);
      res.set('WWW-Authenticate', 'Bearer');
      sendError(res, 401, err.code, err.message);
    });
  });
  graphql.use(express.json({ limit: o.config.limits.maxBodyBytes }));
  // The Apollo integration insists on `req.body` existing, which body-parser 2 leaves unset on GET.
  graphql.use((req, _res, next) => {
    if (!('body' in req)) (req as { body?: unknown }).body = undefined;
    next();
  });
  graphql.use(expressMiddleware(o.apollo, {
    context: async ({ res }) => {
      const { viewer, report } = locals(res);
      if (viewer === undefined) throw new Error('request reached Apollo without a viewer');
      const context = createContext(o.contextDeps, viewer, 'http', { report });
      // The deadline ends with the response; a client that leaves first stops its queries too.
      res.once('close', () => (res.writableFinished ? context.deadline.dispose() : context.deadline.abandon()));
      return context;
    },
  }));
  app.use('/graphql', graphql);

  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const refusal = bodyRefusal(err, o.config.limits.maxBodyBytes);
    if (refusal !== undefined) {
      log.debug({ status: refusal.status, reason: err instanceof Error ? err.message : String(err) }, 'request body refused');
      return sendError(res, refusal.status, refusal.code, refusal.message);
    }
    const errorId = randomUUID();
    log.error({ errorId, err }, 'unexpected error in an HTTP request');
    return sendError(res, 500, GatewayErrorCode.INTERNAL_SERVER_ERROR, `Internal error (id ${errorId})`);
  });
  return app;
}
