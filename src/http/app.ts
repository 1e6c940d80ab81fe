/**
 * The HTTP side of the gateway (express 5): /graphql (GraphiQL for browsers, GraphQL over HTTP
 * through Apollo), /healthz, /readyz, /metrics. Websockets share the server (graphql/websocket.ts).
 *
 * Order on /graphql: CORS (preflights answered here, without auth: http/cors.ts) → GraphiQL page
 * (no auth: it is static; the user pastes a token into it) → metrics hook → refuse while draining →
 * authenticate (401 before the body is read) → JSON body with the size limit (413) → Apollo.
 *
 * The fast path, in front of express: a `POST /graphql` with a JSON body (`Content-Type:
 * application/json`, a Content-Length within the limit, no Content-Encoding, an `Accept` of JSON
 * or nothing) whose viewer authenticates is read and parsed here, with the CORS headers
 * http/cors.ts would set (preflights stay on express); when its document
 * is compiled (graphql/compiled/: valid, within the limits, a query, no introspection) it runs
 * through graphql-jit and is answered as Apollo answers it (status, `application/json;
 * charset=utf-8`, errors masked by the same formatter, `{"errors":…,"data":…}` and a newline).
 * Everything else goes the way it always went: a request that is not eligible, or fails
 * authentication, to express untouched (body unread); a body that is not compiled, or whose
 * variables do not coerce, to Apollo's `executeHTTPGraphQLRequest` with the parsed body.
 * Same metrics, deadline and fair scheduler either way. ETags are off on both paths.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type NextFunction, type Request, type Response } from 'express';
import { authenticate, type TokenVerifier } from '../auth/verify';
import type { Viewer } from '../auth/viewer';
import type { Config } from '../config/types';
import { GatewayErrorCode, isGatewayError } from '../errors';
import { createContext, type ContextDeps, type GraphQLContext, type RequestReport } from '../graphql/context';
import { errorBody, type ErrorFormatter } from '../graphql/errors';
import { compiledRequest, runCompiled } from '../graphql/compiled/execute';
import type { OperationCache } from '../graphql/compiled/operations';
import type { Logger } from '../log';
import type { GatewayMetrics } from '../metrics';
import { originAllowed } from '../config/cors';
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
  /** The compiled fast path (see the module comment); without it every request goes through express and Apollo. */
  readonly compiled?: CompiledPathOptions;
}

/** What the compiled fast path needs. */
export interface CompiledPathOptions {
  readonly operations: OperationCache;
  /** Compare every compiled result with graphql-js's (tests): a difference is an INTERNAL_SERVER_ERROR. */
  readonly verify: boolean;
  readonly formatError: ErrorFormatter;
}

/** Content types the fast path reads (body-parser reads these the same way). */
const JSON_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/json; charset=utf-8']);
/** Accept values the fast path answers (Apollo picks `application/json; charset=utf-8` for each). */
const JSON_ACCEPTS: ReadonlySet<string> = new Set(['*/*', 'application/json']);
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** The Content-Length of a request the fast path may read (1 to `max` bytes, no chunked body, no encoding), else undefined. */
function fastBodyLength(req: IncomingMessage, max: number): number | undefined {
  const h = req.headers;
  if (h['transfer-encoding'] !== undefined || (h['content-encoding'] !== undefined && h['content-encoding'] !== 'identity')) return undefined;
  const type = h['content-type'];
  if (type === undefined || !JSON_TYPES.has(type.toLowerCase())) return undefined;
  if (h.accept !== undefined && !JSON_ACCEPTS.has(h.accept)) return undefined;
  const raw = h['content-length'];
  if (raw === undefined || !/^\d{1,9}$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= 1 && n <= max ? n : undefined;
}

/** The request body as text (Node ends the stream at Content-Length); rejects when the client goes away first. */
function readBody(req: IncomingMessage, length: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const buf = Buffer.allocUnsafe(length);
    let at = 0;
    req.on('data', (chunk: Buffer) => {
      if (at + chunk.length > length) return void reject(new Error('body longer than its Content-Length'));
      chunk.copy(buf, at);
      at += chunk.length;
    });
    req.once('end', () => (at === length ? resolve(buf.toString('utf8', 0, at)) : reject(new Error('body shorter than its Content-Length'))));
    req.once('error', reject);
    req.once('aborted', () => reject(new Error('request aborted')));
  });
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

/** A `request` listener of node:http. */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Builds the request listener: the compiled fast path in front of the express app (see the module comment). */
export function createHttpApp(o: HttpAppOptions): RequestListener {
  const log = o.log.child('http');
  /** Requests the fast path authenticated and saw refused, with that outcome (express answers them). */
  const refused = new WeakMap<IncomingMessage, Promise<Viewer>>();
  const app = express();
  app.disable('x-powered-by');
  // GraphQL answers are POSTs no cache revalidates; hashing every body for an ETag cost ~2 % of a page.
  app.set('etag', false);
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
    // A refusal the fast path already met is answered from its outcome: a bad token is verified once.
    (refused.get(req) ?? authenticate(o.config.auth, o.verifier, req.headers.authorization)).then((viewer) => {
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
  /** A request's context; the deadline ends with the response, and a client that leaves first stops its queries too. */
  const requestContext = (res: ServerResponse, viewer: Viewer, report: RequestReport): GraphQLContext => {
    const context = createContext(o.contextDeps, viewer, 'http', { report });
    res.once('close', () => (res.writableFinished ? context.deadline.dispose() : context.deadline.abandon()));
    return context;
  };
  graphql.use(expressMiddleware(o.apollo, {
    context: async ({ res }) => {
      const { viewer, report } = locals(res);
      if (viewer === undefined) throw new Error('request reached Apollo without a viewer');
      return requestContext(res, viewer, report);
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

  const compiled = o.compiled;
  if (compiled === undefined) return app;

  /** An error answer outside GraphQL, as `sendError` writes it through express. */
  const sendRawError = (res: ServerResponse, status: number, code: string, message: string) => {
    o.metrics.graphqlError(code);
    const text = JSON.stringify(errorBody(code, message));
    res.writeHead(status, { 'Content-Type': JSON_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) }).end(text);
  };

  /** Apollo's answer to a parsed POST body (what express5's integration does after body-parser). */
  const viaApollo = async (req: IncomingMessage, res: ServerResponse, body: unknown, viewer: Viewer, report: RequestReport): Promise<void> => {
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const answer = await o.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: 'POST', headers, search: '', body },
      context: async () => requestContext(res, viewer, report),
    });
    for (const [key, value] of answer.headers) res.setHeader(key, value);
    res.statusCode = answer.status ?? 200;
    if (answer.body.kind === 'complete') {
      res.setHeader('Content-Length', Buffer.byteLength(answer.body.string));
      res.end(answer.body.string);
      return;
    }
    for await (const chunk of answer.body.asyncIterator) res.write(chunk);
    res.end();
  };

  const serveCompiled = async (req: IncomingMessage, res: ServerResponse, length: number, viewer: Viewer): Promise<void> => {
    const report: RequestReport = {};
    // CORS as http/cors.ts marks a non-preflight request: Vary, and the allowed origin on every answer.
    const origin = req.headers.origin;
    if (origin !== undefined) {
      res.setHeader('Vary', 'Origin');
      if (originAllowed(o.config.cors, origin, req.headers.host)) res.setHeader('Access-Control-Allow-Origin', o.config.cors?.origins === '*' ? '*' : origin);
    }
    res.on('finish', () => o.metrics.httpRequest(report.operationType ?? 'unknown', res.statusCode));
    let text: string;
    try {
      text = await readBody(req, length);
    } catch {
      res.destroy();
      return;
    }
    let body: unknown;
    try {
      // body-parser reads UTF-8 without its byte-order mark and takes only an object or an array.
      body = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    } catch {
      body = undefined;
    }
    if (typeof body !== 'object' || body === null) return sendRawError(res, 400, 'BAD_REQUEST', 'Malformed JSON body');
    const request = compiledRequest(compiled.operations, body);
    if (request !== undefined) {
      report.operationType = 'query';
      const answer = await runCompiled(request, requestContext(res, viewer, report), { verify: compiled.verify, formatError: compiled.formatError, log });
      if (answer !== undefined) {
        res.writeHead(answer.status, { 'Content-Type': JSON_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(answer.body) }).end(answer.body);
        return;
      }
    }
    await viaApollo(req, res, body, viewer, report);
  };

  return (req, res) => {
    const length = req.method === 'POST' && req.url === '/graphql' && o.accepting()
      ? fastBodyLength(req, o.config.limits.maxBodyBytes) : undefined;
    if (length === undefined) return void app(req, res);
    const authenticated = authenticate(o.config.auth, o.verifier, req.headers.authorization);
    authenticated.then(
      // Refused (or an error): express answers it as always (401 before the body is read), from this outcome.
      (viewer) => serveCompiled(req, res, length, viewer).catch((err: unknown) => {
        const errorId = randomUUID();
        log.error({ errorId, err }, 'unexpected error in an HTTP request');
        if (!res.headersSent) sendRawError(res, 500, GatewayErrorCode.INTERNAL_SERVER_ERROR, `Internal error (id ${errorId})`);
        else res.destroy();
      }),
      () => {
        refused.set(req, authenticated);
        app(req, res);
      },
    );
  };
}
