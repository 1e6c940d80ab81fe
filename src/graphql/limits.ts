/**
 * Operation limits as graphql validation rules, used by HTTP (Apollo) and websockets alike, on any
 * schema whose engine-reading fields carry cost metadata in `field.extensions.wavegate`
 * (cost.ts `WavegateFieldCost`; the generated schema, src/graphql/build, sets it on every lookup,
 * connection, list, subscription and relation field).
 *
 * - Depth: nesting of fields, fragments expanded. Introspection subtrees (`__schema`, `__type`) are
 *   not counted: their depth is fixed by the spec's TypeRef pattern (deeper than any real query) and
 *   their size is bounded by the cost rule, which does count them.
 * - Cost counts the database work, not only the fields: the model is cost.ts.
 * - Root fields (distinct response names, fragments expanded) and aliases per operation are capped,
 *   so one request cannot fan out into thousands of statements that each look cheap.
 * - Operation types the schema does not have (`mutation` here) are refused at validation, not at
 *   execution (where graphql-js reports them as an unexpected error).
 * Fragment cycles are invalid GraphQL (NoFragmentCyclesRule reports them); these rules stop at a
 * cycle instead of recursing forever. A fragment is walked once per rule and memoised, so a
 * "fragment bomb" costs the rules no more than its text.
 */
import {
  GraphQLError, Kind, type ASTVisitor, type OperationDefinitionNode, type SelectionSetNode, type ValidationContext, type ValidationRule,
} from 'graphql';
import { GatewayError, GatewayErrorCode } from '../errors';
import { operationCost, spreadValue, type FragmentLookup } from './cost';

export { COST, fieldCost, operationCost, wavegateCost, type WavegateFieldCost } from './cost';

/** The options of the limit rules: LimitsConfig's fields. */
export interface OperationLimits {
  readonly maxDepth: number;
  readonly maxCost: number;
  readonly maxAliases: number;
  readonly maxRootFields: number;
}

function limitError(code: GatewayErrorCode, message: string, node: OperationDefinitionNode, details: Record<string, unknown>): GraphQLError {
  return new GraphQLError(message, { nodes: [node], extensions: { code }, originalError: new GatewayError(code, message, { details }) });
}

/** The validation context's fragments as a lookup. */
function fragmentsOf(context: ValidationContext): FragmentLookup {
  return (n) => context.getFragment(n) ?? undefined;
}

/** The depth of a selection set (1 for a set of leaves), fragments expanded, introspection skipped. */
export function selectionDepth(set: SelectionSetNode | undefined, fragments: FragmentLookup,
  visiting: Set<string> = new Set(), memo: Map<string, number> = new Map()): number {
  if (set === undefined) return 0;
  let max = 0;
  for (const sel of set.selections) {
    switch (sel.kind) {
      case Kind.FIELD:
        if (sel.name.value === '__schema' || sel.name.value === '__type') continue;
        max = Math.max(max, 1 + selectionDepth(sel.selectionSet, fragments, visiting, memo));
        break;
      case Kind.INLINE_FRAGMENT:
        max = Math.max(max, selectionDepth(sel.selectionSet, fragments, visiting, memo));
        break;
      case Kind.FRAGMENT_SPREAD:
        max = Math.max(max, spreadValue(sel.name.value, fragments, visiting, memo,
          (frag) => selectionDepth(frag.selectionSet, fragments, visiting, memo)) ?? 0);
        break;
    }
  }
  return max;
}

/** Aliased fields in a selection set, with multiplicity (a fragment spread twice counts twice). */
export function aliasCount(set: SelectionSetNode | undefined, fragments: FragmentLookup,
  visiting: Set<string> = new Set(), memo: Map<string, number> = new Map()): number {
  if (set === undefined) return 0;
  let n = 0;
  for (const sel of set.selections) {
    switch (sel.kind) {
      case Kind.FIELD:
        n += (sel.alias !== undefined ? 1 : 0) + aliasCount(sel.selectionSet, fragments, visiting, memo);
        break;
      case Kind.INLINE_FRAGMENT:
        n += aliasCount(sel.selectionSet, fragments, visiting, memo);
        break;
      case Kind.FRAGMENT_SPREAD:
        n += spreadValue(sel.name.value, fragments, visiting, memo,
          (frag) => aliasCount(frag.selectionSet, fragments, visiting, memo)) ?? 0;
        break;
    }
  }
  return n;
}

/** Response names at the top of an operation (fields graphql-js executes), `__typename` excluded. */
export function rootFieldNames(set: SelectionSetNode, fragments: FragmentLookup): Set<string> {
  const names = new Set<string>();
  const seen = new Set<string>();
  const walk = (s: SelectionSetNode) => {
    for (const sel of s.selections) {
      if (sel.kind === Kind.FIELD) {
        if (sel.name.value !== '__typename') names.add(sel.alias?.value ?? sel.name.value);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        walk(sel.selectionSet);
      } else {
        const frag = fragments(sel.name.value);
        // Each fragment once: spreading it again adds no new response name.
        if (frag !== undefined && !seen.has(sel.name.value)) {
          seen.add(sel.name.value);
          walk(frag.selectionSet);
        }
      }
    }
  };
  walk(set);
  return names;
}


/** Rejects operations nested deeper than `maxDepth` with QUERY_TOO_DEEP. */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      const depth = selectionDepth(node.selectionSet, fragmentsOf(context));
      if (depth > maxDepth) {
        context.reportError(limitError(GatewayErrorCode.QUERY_TOO_DEEP,
          `Query depth ${depth} exceeds the limit of ${maxDepth}`, node, { depth, maxDepth }));
      }
      return false;
    },
  });
}

/** Rejects operations whose {@link operationCost} exceeds `maxCost` with QUERY_TOO_COSTLY. */
export function costLimitRule(maxCost: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      const cost = operationCost(context.getSchema(), node, fragmentsOf(context));
      if (cost > maxCost) {
        context.reportError(limitError(GatewayErrorCode.QUERY_TOO_COSTLY,
          `Query cost ${cost} exceeds the limit of ${maxCost}`, node, { limit: 'maxCost', cost, maxCost }));
      }
      return false;
    },
  });
}

/** Rejects operations with more than `maxAliases` aliases or `maxRootFields` root fields, with QUERY_TOO_COSTLY. */
export function breadthLimitRule(maxAliases: number, maxRootFields: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      const aliases = aliasCount(node.selectionSet, fragmentsOf(context));
      if (aliases > maxAliases) {
        context.reportError(limitError(GatewayErrorCode.QUERY_TOO_COSTLY,
          `The operation has ${aliases} aliases; the limit is ${maxAliases}`, node, { limit: 'maxAliases', aliases, maxAliases }));
      }
      const rootFields = rootFieldNames(node.selectionSet, fragmentsOf(context)).size;
      if (rootFields > maxRootFields) {
        context.reportError(limitError(GatewayErrorCode.QUERY_TOO_COSTLY,
          `The operation has ${rootFields} root fields; the limit is ${maxRootFields}`, node, { limit: 'maxRootFields', rootFields, maxRootFields }));
      }
      return false;
    },
  });
}

/** Rejects operations of a type the schema does not serve (e.g. `mutation` on a read-only API). */
export const knownOperationTypeRule: ValidationRule = (context: ValidationContext): ASTVisitor => ({
  OperationDefinition(node) {
    const schema = context.getSchema();
    const root = node.operation === 'query' ? schema.getQueryType() : node.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
    if (root === null || root === undefined) {
      context.reportError(new GraphQLError(`This API has no ${node.operation} operations`, { nodes: [node] }));
    }
    return false;
  },
});

/** Every limit rule for the configured limits (added to graphql's specified rules). */
export function operationLimitRules(limits: OperationLimits): ValidationRule[] {
  return [knownOperationTypeRule, depthLimitRule(limits.maxDepth), breadthLimitRule(limits.maxAliases, limits.maxRootFields), costLimitRule(limits.maxCost)];
}
