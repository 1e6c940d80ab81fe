/**
 * The Apollo server for GraphQL over HTTP, over the executable schema (executableSchema.ts).
 */
import type { Server } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import type { LimitsConfig } from '../config/types';
import type { Logger } from '../log';
import type { Registry } from '../views/model';
import type { GraphQLContext } from './context';
import type { ErrorFormatter } from './errors';
import { getSchema, limitRules } from './executableSchema';

/** Options of {@link createApolloServer}. */
export interface ApolloOptions {
  readonly httpServer: Server;
  readonly limits: LimitsConfig;
  /** The views served: the schema is generated from it. */
  readonly registry: Registry;
  readonly formatError: ErrorFormatter;
  readonly log: Logger;
  /** How long in-flight HTTP requests may finish on stop before their sockets are closed. @default 10_000 (ms) */
  readonly stopGracePeriodMs?: number;
}

/**
 * Records the operation type of each request for the HTTP metrics, and refuses subscriptions:
 * they are served over websockets on the same URL (graphql-ws); executed over HTTP, graphql-js would
 * run the subscription field once without an event and fail with an internal error.
 */
const operationPlugin: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation, contextValue }) {
        contextValue.report.operationType = operation?.operation ?? 'unknown';
        if (operation?.operation === 'subscription') {
          throw new GraphQLError('Subscriptions are served over websockets (graphql-ws protocol) on this URL, not over HTTP', {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        }
      },
    };
  },
};

/**
 * The Apollo server (not started). Stack traces never reach clients; errors go through
 * `formatError` (errors.ts); no landing page (GraphiQL is served by the HTTP app); introspection
 * stays on (GraphiQL needs it) and counts toward the cost limit; signals are the CLI's business.
 */
export function createApolloServer(options: ApolloOptions): ApolloServer<GraphQLContext> {
  const log = options.log.child('apollo');
  const text = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
  return new ApolloServer<GraphQLContext>({
    schema: getSchema(options.registry),
    validationRules: limitRules(options.limits),
    // Parsing stops at the token limit, before a huge document is built and validated.
    parseOptions: { maxTokens: options.limits.maxTokens },
    formatError: options.formatError,
    includeStacktraceInErrorResponses: false,
    introspection: true,
    stopOnTerminationSignals: false,
    logger: {
      debug: (...a: unknown[]) => log.debug({}, text(a)),
      info: (...a: unknown[]) => log.info({}, text(a)),
      warn: (...a: unknown[]) => log.warn({}, text(a)),
      error: (...a: unknown[]) => log.error({}, text(a)),
    },
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: options.httpServer, stopGracePeriodMillis: options.stopGracePeriodMs ?? 10_000 }),
      ApolloServerPluginLandingPageDisabled(),
      // No cache hints are used: the default cache-control plugin only adds a hook per field
      // resolved (~7% of a trips page's CPU in bench/peers.ts).
      ApolloServerPluginCacheControlDisabled(),
      operationPlugin,
    ],
  });
}
