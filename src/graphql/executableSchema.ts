/**
 * The executable schema: the type-graphql schema (built once per process), the validation rules
 * shared by HTTP and websockets, and the SDL printer behind `wavegate print-schema`.
 */
import 'reflect-metadata';
import { lexicographicSortSchema, printSchema, type GraphQLSchema, type ValidationRule } from 'graphql';
import { buildSchemaSync, type PubSub } from 'type-graphql';
import type { LimitsConfig } from '../config/types';
import { operationLimitRules } from './limits';
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

/** Operation type, depth, breadth (aliases, root fields) and cost rules for the configured limits (added to graphql's specified rules). */
export function limitRules(limits: LimitsConfig): ValidationRule[] {
  return operationLimitRules(limits);
}

