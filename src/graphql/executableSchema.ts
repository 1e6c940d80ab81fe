/**
 * The executable schema: generated from the view registry (build/schema.ts, once per registry),
 * the validation rules shared by HTTP and websockets, and the SDL printer behind
 * `wavegate print-schema`.
 */
import { lexicographicSortSchema, printSchema, type GraphQLSchema, type ValidationRule } from 'graphql';
import type { LimitsConfig } from '../config/types';
import { bundledRegistry } from '../views/load';
import type { Registry } from '../views/model';
import { schemaOf } from './build/schema';
import { OperationCache } from './compiled/operations';
import { operationLimitRules } from './limits';

/** The executable schema of `registry` (default: the bundled ride-hailing views). Built on first use, then shared. */
export function getSchema(registry: Registry = bundledRegistry()): GraphQLSchema {
  return schemaOf(registry);
}

const SDL_HEADER = `# Wavegate GraphQL API. Generated from the view declarations (schema/*.yaml) by src/graphql/build:
# do not edit. Regenerate with: npm run print-schema > schema/schema.graphql
`;

/** The SDL committed as schema/schema.graphql: sorted, so diffs show only real API changes. */
export async function printSchemaSdl(registry: Registry = bundledRegistry()): Promise<string> {
  return `${SDL_HEADER}\n${printSchema(lexicographicSortSchema(getSchema(registry)))}\n`;
}

/** Operation type, depth, breadth (aliases, root fields) and cost rules for the configured limits (added to graphql's specified rules). */
export function limitRules(limits: LimitsConfig): ValidationRule[] {
  return operationLimitRules(limits);
}

/** The compiled operations of the fast path for `registry` and `limits` (same schema, rules and token limit as Apollo). */
export function createOperationCache(registry: Registry, limits: LimitsConfig, size?: number): OperationCache {
  return new OperationCache({ schema: getSchema(registry), rules: limitRules(limits), maxTokens: limits.maxTokens, ...(size !== undefined ? { size } : {}) });
}
