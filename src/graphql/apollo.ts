/**
 * The Apollo server for GraphQL over HTTP, over the executable schema (executableSchema.ts).
 */
import type { Server } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import type { LimitsConfig } from '../config/types';
import type { Logger } from '../log';
import type { GraphQLContext } from './context';
import type { ErrorFormatter } from './errors';
import { getSchema, limitRules } from './executableSchema';

/** Options of {@link createApolloServer}. */
export interface ApolloOptions {
  readonly httpServer: Server;
  readonly limits: LimitsConfig;
  readonly formatError: ErrorFormatter;
  readonly log: Logger;
  /** How long in-flight HTTP requests may finish on stop before their sockets are closed. @default 10_000 (ms) */
  readonly stopGracePeriodMs?: number;
}

/** Records the operation type of each request for the HTTP metrics. */
const reportPlugin: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation, contextValue }) {
        contextValue.report.operationType = operation?.operation ?? 'unknown';
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
    schema: getSchema(),
    validationRules: limitRules(options.limits),
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
      reportPlugin,
    ],
  });
}
