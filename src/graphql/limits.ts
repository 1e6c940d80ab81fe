/**
 * Operation limits as graphql validation rules, used by HTTP (Apollo) and websockets alike, on any
 * schema whose engine-reading fields carry cost metadata in `field.extensions.wavegate`
 * ({@link WavegateFieldCost}; the hand-written resolvers attach it with type-graphql's
 * `@Extensions`, a generated schema sets it directly).
 *
 * - Depth: nesting of fields, fragments expanded. Introspection subtrees (`__schema`, `__type`) are
 *   not counted: their depth is fixed by the spec's TypeRef pattern (deeper than any real query) and
 *   their size is bounded by the cost rule, which does count them.
 * - Cost counts the database work, not only the fields: see {@link operationCost} and {@link COST}.
 * - Root fields (distinct response names, fragments expanded) and aliases per operation are capped,
 *   so one request cannot fan out into thousands of statements that each look cheap.
 * - Operation types the schema does not have (`mutation` here) are refused at validation, not at
 *   execution (where graphql-js reports them as an unexpected error).
 * Fragment cycles are invalid GraphQL (NoFragmentCyclesRule reports them); these rules stop at a
 * cycle instead of recursing forever. A fragment is walked once per rule and memoised, so a
 * "fragment bomb" costs the rules no more than its text.
 */
import {
  GraphQLError, Kind, getNamedType, isCompositeType, SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef,
  type ASTVisitor, type FieldNode, type FragmentDefinitionNode, type GraphQLCompositeType, type GraphQLField, type GraphQLSchema,
  type OperationDefinitionNode, type SelectionSetNode, type ValidationContext, type ValidationRule, type ValueNode,
} from 'graphql';
import { GatewayError, GatewayErrorCode } from '../errors';

/**
 * Cost metadata of a field that reads the engine, at `field.extensions.wavegate`.
 * - `lookup`: rows by key (at most `maxRows`): one statement, plus one to tell "absent" from "not yours";
 * - `connection`: one page of `page` rows (the argument `page.arg`, else `page.default`), one statement;
 * - `list`: up to `maxRows` rows, one statement;
 * - `subscription`: one change per event (and the resume replay, capped separately);
 * - `relation`: a nested field loaded through a per-request DataLoader, so one batched statement
 *   per request level however many parent rows ask, and `maxRows` rows per parent row.
 */
export interface WavegateFieldCost {
  readonly view: string;
  readonly kind: 'lookup' | 'connection' | 'list' | 'subscription' | 'relation';
  readonly page?: { readonly arg: string; readonly default: number; readonly max: number };
  readonly maxRows: number;
}

/** The `extensions` object that carries {@link WavegateFieldCost} (`@Extensions(wavegateCost(...))`). */
export function wavegateCost(cost: WavegateFieldCost): { wavegate: WavegateFieldCost } {
  return { wavegate: cost };
}

/**
 * Cost units. A statement is what makes a request expensive (one lookup took ~4 ms on the embedded
 * engine against microseconds per resolved field), so it weighs 100 fields; a relation's batched
 * statement runs once per request level, not per row, so it weighs less.
 */
export const COST = {
  /** Each field resolved, per row it is resolved on. */
  field: 1,
  /** Each statement a root field (lookup, connection, list, subscription) sends. */
  statement: 100,
  /** The batched statement of a relation, once per enclosing field instance. */
  batchedStatement: 20,
} as const;

/** Statements a field of each kind sends per instance. */
const STATEMENTS: Readonly<Record<WavegateFieldCost['kind'], number>> = { lookup: 2, connection: 1, list: 1, subscription: 1, relation: 1 };

/** The options of the limit rules: LimitsConfig's fields. */
export interface OperationLimits {
  readonly maxDepth: number;
  readonly maxCost: number;
  readonly maxAliases: number;
  readonly maxRootFields: number;
}

type FragmentLookup = (name: string) => FragmentDefinitionNode | undefined;

function limitError(code: GatewayErrorCode, message: string, node: OperationDefinitionNode, details: Record<string, unknown>): GraphQLError {
  return new GraphQLError(message, { nodes: [node], extensions: { code }, originalError: new GatewayError(code, message, { details }) });
}

/** `field.extensions.wavegate` when it is well-formed cost metadata. */
export function fieldCost(def: GraphQLField<unknown, unknown> | undefined): WavegateFieldCost | undefined {
  const c = def?.extensions?.['wavegate'] as Partial<WavegateFieldCost> | undefined;
  if (c === undefined || c === null || typeof c !== 'object') return undefined;
  if (typeof c.kind !== 'string' || !(c.kind in STATEMENTS) || typeof c.maxRows !== 'number') return undefined;
  return c as WavegateFieldCost;
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
      case Kind.FRAGMENT_SPREAD: {
        const name = sel.name.value;
        const frag = fragments(name);
        if (frag === undefined || visiting.has(name)) break;
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
      case Kind.FRAGMENT_SPREAD: {
        const name = sel.name.value;
        const frag = fragments(name);
        if (frag === undefined || visiting.has(name)) break;
        let c = memo.get(name);
        if (c === undefined) {
          visiting.add(name);
          c = aliasCount(frag.selectionSet, fragments, visiting, memo);
          visiting.delete(name);
          memo.set(name, c);
        }
        n += c;
        break;
      }
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

/** A whole number from an argument's value: a literal, the variable's default, or `unknown` for a variable without one. */
function intArgument(value: ValueNode | undefined, op: OperationDefinitionNode): number | 'unknown' | undefined {
  if (value === undefined) return undefined;
  if (value.kind === Kind.INT) return Number(value.value);
  if (value.kind === Kind.VARIABLE) {
    const dflt = op.variableDefinitions?.find((v) => v.variable.name.value === value.name.value)?.defaultValue;
    return dflt?.kind === Kind.INT ? Number(dflt.value) : 'unknown';
  }
  return undefined;
}

/** Rows one instance of a costed field reads: its page size (clamped to the page's max) or maxRows. */
function rowsOf(cost: WavegateFieldCost, node: FieldNode, op: OperationDefinitionNode): number {
  if (cost.page === undefined) return Math.max(0, cost.maxRows);
  const arg = node.arguments?.find((a) => a.name.value === cost.page!.arg);
  const v = intArgument(arg?.value, op);
  // A variable without a default may be anything up to the max: assume the worst. A literal over
  // the max is refused by the resolver (BAD_USER_INPUT), so it costs no more than the max here.
  const n = v === undefined ? cost.page.default : v === 'unknown' ? cost.page.max : v;
  return Math.min(Math.max(0, Number.isFinite(n) ? n : cost.page.max), cost.page.max);
}

/** Cost of a selection set: what repeats per parent row, and batched statements paid once. */
interface SetCost {
  perRow: number;
  batched: number;
}

/**
 * Estimated cost of an operation, in {@link COST} units:
 * - every field costs `COST.field` per row it is resolved on;
 * - a field with {@link WavegateFieldCost} adds its statements (`COST.statement` each; a relation's
 *   one batched statement `COST.batchedStatement`, not multiplied by its parent's rows) and
 *   multiplies its selection by the rows it reads (page size or maxRows);
 * - fragments count wherever they are spread; introspection fields cost `COST.field` each.
 */
export function operationCost(schema: GraphQLSchema, op: OperationDefinitionNode, fragments: FragmentLookup): number {
  const visiting = new Set<string>();
  // A fragment's cost does not depend on where it is spread: walk each once (no exponential blow-up).
  const memo = new Map<string, SetCost>();
  const walk = (set: SelectionSetNode | undefined, parent: GraphQLCompositeType | undefined): SetCost => {
    const total: SetCost = { perRow: 0, batched: 0 };
    if (set === undefined) return total;
    const add = (c: SetCost) => {
      total.perRow += c.perRow;
      total.batched += c.batched;
    };
    for (const sel of set.selections) {
      switch (sel.kind) {
        case Kind.FIELD: {
          const def = fieldDef(schema, parent, sel);
          const child = def === undefined ? undefined : getNamedType(def.type);
          const inner = walk(sel.selectionSet, isCompositeType(child) ? child : undefined);
          const cost = fieldCost(def);
          if (cost === undefined) {
            add({ perRow: COST.field + inner.perRow, batched: inner.batched });
          } else if (cost.kind === 'relation') {
            add({ perRow: COST.field + rowsOf(cost, sel, op) * inner.perRow, batched: COST.batchedStatement + inner.batched });
          } else {
            add({ perRow: COST.field + STATEMENTS[cost.kind] * COST.statement + rowsOf(cost, sel, op) * inner.perRow + inner.batched, batched: 0 });
          }
          break;
        }
        case Kind.INLINE_FRAGMENT: {
          const t = sel.typeCondition === undefined ? parent : schema.getType(sel.typeCondition.name.value);
          add(walk(sel.selectionSet, isCompositeType(t) ? t : undefined));
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
            c = walk(frag.selectionSet, isCompositeType(t) ? t : undefined);
            visiting.delete(name);
            memo.set(name, c);
          }
          add(c);
          break;
        }
      }
    }
    return total;
  };
  const root = op.operation === 'query' ? schema.getQueryType() : op.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  const c = walk(op.selectionSet, root ?? undefined);
  return c.perRow + c.batched;
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
