/**
 * Compiled subscriptions: the per-event execution of a subscription operation (the root value is
 * the event, as graphql-js's `execute` runs it for each source event) compiled once with
 * graphql-jit, for the shared fan-out (graphql/fanout.ts), which executes each change once per group.
 */
import type { DocumentNode, ExecutionResult, GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';

/** Executes one event of a subscription operation: the same resolvers, without graphql-js's per-field dispatch. */
export interface CompiledSubscription {
  run(event: unknown, context: unknown, variables: Readonly<Record<string, unknown>>): ExecutionResult | Promise<ExecutionResult>;
}

/** The compiled per-event execution of `document`'s operation, or undefined when graphql-jit cannot compile it (graphql-js runs it then). */
export function compileSubscription(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): CompiledSubscription | undefined {
  const compiled = compileQuery(schema, document, operationName);
  if (!isCompiledQuery(compiled)) return undefined;
  return { run: (event, context, variables) => compiled.query(event, context, variables) };
}
