/**
 * Depth and cost limits as graphql validation rules, used by HTTP (Apollo) and websockets alike.
 *
 * - Depth: nesting of fields, fragments expanded. Introspection subtrees (`__schema`, `__type`) are
 *   not counted: their depth is fixed by the spec's TypeRef pattern (deeper than any real query) and
 *   their size is bounded by the cost rule, which does count them.
 * - Cost: every field costs 1; a field with a `first` argument multiplies the cost of its
 *   selection by `first` (its literal value, the variable's default, the field's default page size,
 *   or — for a variable without a default — the largest page size, as the worst case).
 *   Fragments are expanded wherever they are spread.
 * Fragment cycles are invalid GraphQL (NoFragmentCyclesRule reports them); these rules stop at a
 * cycle instead of recursing forever.
 */
import {
  GraphQLError, Kind, getNamedType, isCompositeType, SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef,
  type ASTVisitor, type FieldNode, type FragmentDefinitionNode, type GraphQLCompositeType, type GraphQLField, type GraphQLSchema,
  type OperationDefinitionNode, type SelectionSetNode, type ValidationContext, type ValidationRule,
} from 'graphql';
import { GatewayError, GatewayErrorCode } from '../errors';

/** Options of {@link costLimitRule}. */
export interface CostOptions {
  /** The largest `first` a client may pass: used for `first: $var` without a default. @default 100 */
  maxPageSize?: number;
}

type FragmentLookup = (name: string) => FragmentDefinitionNode | undefined;

function limitError(code: GatewayErrorCode, message: string, node: OperationDefinitionNode, details: Record<string, unknown>): GraphQLError {
  return new GraphQLError(message, { nodes: [node], extensions: { code }, originalError: new GatewayError(code, message, { details }) });
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
      case Kind.FRAGMENT_SPREAD: {
        const name = sel.name.value;
        const frag = fragments(name);
        if (frag === undefined || visiting.has(name)) break;
        // Memoised per fragment: a fragment spread many times (a "fragment bomb") is walked once.
        let depth = memo.get(name);
        if (depth === undefined) {
          visiting.add(name);
          depth = selectionDepth(frag.selectionSet, fragments, visiting, memo);
          visiting.delete(name);
          memo.set(name, depth);
        }
        max = Math.max(max, depth);
        break;
      }
    }
  }
  return max;
}

/** Rejects operations nested deeper than `maxDepth` with QUERY_TOO_DEEP. */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      const depth = selectionDepth(node.selectionSet, (n) => context.getFragment(n) ?? undefined);
      if (depth > maxDepth) {
        context.reportError(limitError(GatewayErrorCode.QUERY_TOO_DEEP,
          `Query depth ${depth} exceeds the limit of ${maxDepth}`, node, { depth, maxDepth }));
      }
      return false;
    },
  });
}

function fieldDef(schema: GraphQLSchema, parent: GraphQLCompositeType | undefined, node: FieldNode): GraphQLField<unknown, unknown> | undefined {
  const name = node.name.value;
  if (name === '__typename') return TypeNameMetaFieldDef;
  if (parent === schema.getQueryType()) {
    if (name === '__schema') return SchemaMetaFieldDef;
    if (name === '__type') return TypeMetaFieldDef;
  }
  if (parent === undefined || !('getFields' in parent)) return undefined;
  return parent.getFields()[name];
}

/** The multiplier of a field: its `first` page size, or 1 for fields without `first`. */
function multiplier(def: GraphQLField<unknown, unknown> | undefined, node: FieldNode, op: OperationDefinitionNode, maxPageSize: number): number {
  const argDef = def?.args.find((a) => a.name === 'first');
  if (argDef === undefined) return 1;
  const arg = node.arguments?.find((a) => a.name.value === 'first');
  let value: unknown = argDef.defaultValue;
  if (arg?.value.kind === Kind.INT) value = Number(arg.value.value);
  else if (arg?.value.kind === Kind.VARIABLE) {
    const name = arg.value.name.value;
    const dflt = op.variableDefinitions?.find((v) => v.variable.name.value === name)?.defaultValue;
    value = dflt?.kind === Kind.INT ? Number(dflt.value) : maxPageSize;
  }
  return typeof value === 'number' && Number.isFinite(value) ? Math.max(0, value) : 1;
}

/** Estimated cost of an operation (see the module comment). Exported for tests. */
export function operationCost(schema: GraphQLSchema, op: OperationDefinitionNode, fragments: FragmentLookup, options: CostOptions = {}): number {
  const maxPageSize = options.maxPageSize ?? 100;
  const visiting = new Set<string>();
  // A fragment's cost does not depend on where it is spread: walk each once (no exponential blow-up).
  const memo = new Map<string, number>();
  const cost = (set: SelectionSetNode | undefined, parent: GraphQLCompositeType | undefined): number => {
    if (set === undefined) return 0;
    let total = 0;
    for (const sel of set.selections) {
      switch (sel.kind) {
        case Kind.FIELD: {
          const def = fieldDef(schema, parent, sel);
          const child = def === undefined ? undefined : getNamedType(def.type);
          total += 1 + multiplier(def, sel, op, maxPageSize) * cost(sel.selectionSet, isCompositeType(child) ? child : undefined);
          break;
        }
        case Kind.INLINE_FRAGMENT: {
          const t = sel.typeCondition === undefined ? parent : schema.getType(sel.typeCondition.name.value);
          total += cost(sel.selectionSet, isCompositeType(t) ? t : undefined);
          break;
        }
        case Kind.FRAGMENT_SPREAD: {
          const name = sel.name.value;
          const frag = fragments(name);
          if (frag === undefined || visiting.has(name)) break;
          let c = memo.get(name);
          if (c === undefined) {
            visiting.add(name);
            const t = schema.getType(frag.typeCondition.name.value);
            c = cost(frag.selectionSet, isCompositeType(t) ? t : undefined);
            visiting.delete(name);
            memo.set(name, c);
          }
          total += c;
          break;
        }
      }
    }
    return total;
  };
  const root = op.operation === 'query' ? schema.getQueryType() : op.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  return cost(op.selectionSet, root ?? undefined);
}

/** Rejects operations whose {@link operationCost} exceeds `maxCost` with QUERY_TOO_COSTLY. */
export function costLimitRule(maxCost: number, options: CostOptions = {}): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      const cost = operationCost(context.getSchema(), node, (n) => context.getFragment(n) ?? undefined, options);
      if (cost > maxCost) {
        context.reportError(limitError(GatewayErrorCode.QUERY_TOO_COSTLY,
          `Query cost ${cost} exceeds the limit of ${maxCost}`, node, { cost, maxCost }));
      }
      return false;
    },
  });
}
