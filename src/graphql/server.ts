/**
 * GraphQL assembly: the type-graphql schema (built once per process), the validation rules shared
 * by HTTP and websockets, the Apollo server, and the SDL printer behind `wavegate print-schema`.
 */
import 'reflect-metadata';
import type { Server } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { lexicographicSortSchema, printSchema, type GraphQLSchema, type ValidationRule } from 'graphql';
import { buildSchemaSync, type PubSub } from 'type-graphql';
import type { LimitsConfig } from '../config/types';
import type { Logger } from '../log';
import type { GraphQLContext } from './context';
import type { ErrorFormatter } from './errors';
import { costLimitRule, depthLimitRule } from './limits';
import { StatsResolver } from './resolvers/stats.resolver';
import { SubscriptionResolver } from './resolvers/subscription.resolver';
import { TripResolver } from './resolvers/trip.resolver';

/**
 * type-graphql insists on a PubSub when a schema has subscriptions, even if every subscription has
 * its own `subscribe` function (ours read the subscription hub). This one refuses to be used.
 */
const NO_PUBSUB: PubSub = {
  publish: () => {
    throw new Error('Wavegate subscriptions use the subscription hub, not a PubSub');
  },
  subscribe: () => {
    throw new Error('Wavegate subscriptions use the subscription hub, not a PubSub');
  },
};

let schema: GraphQLSchema | undefined;

/** The executable schema. Built on first use, then shared (type-graphql metadata is per process). */
export function getSchema(): GraphQLSchema {
  schema ??= buildSchemaSync({
    resolvers: [TripResolver, StatsResolver, SubscriptionResolver],
    pubSub: NO_PUBSUB,
    validate: false,
  });
  return schema;
}

const SDL_HEADER = `# Wavegate GraphQL API. Generated from the type-graphql classes in src/graphql/schema:
# do not edit. Regenerate with: npm run print-schema > schema/schema.graphql
`;

/** The SDL committed as schema/schema.graphql: sorted, so diffs show only real API changes. */
export async function printSchemaSdl(): Promise<string> {
  return `${SDL_HEADER}\n${printSchema(lexicographicSortSchema(getSchema()))}\n`;
}

/** Depth and cost rules for the configured limits (added to graphql's specified rules). */
export function limitRules(limits: LimitsConfig): ValidationRule[] {
  return [depthLimitRule(limits.maxDepth), costLimitRule(limits.maxCost, { maxPageSize: limits.maxPageSize })];
}

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
