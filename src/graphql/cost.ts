/**
 * The cost model of GraphQL operations: what an operation makes the engine do, in {@link COST}
 * units, from the cost metadata engine-reading fields carry in `field.extensions.wavegate`
 * ({@link WavegateFieldCost}). limits.ts turns it into the QUERY_TOO_COSTLY validation rule.
 */
import {
  Kind, getNamedType, isCompositeType, SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef,
  type FieldNode, type FragmentDefinitionNode, type GraphQLCompositeType, type GraphQLField, type GraphQLSchema,
  type OperationDefinitionNode, type SelectionSetNode, type ValueNode,
} from 'graphql';

/** Finds a fragment of the document by name. */
export type FragmentLookup = (name: string) => FragmentDefinitionNode | undefined;

/**
 * What a fragment spread adds to a walk over selection sets: `compute(fragment)`, worked out once
 * per fragment name (`memo`: a fragment means the same wherever it is spread, so a document that
 * spreads one many times is not walked exponentially), and undefined for an unknown fragment or one
 * already being expanded (a cycle, which graphql's own rules report).
 */
export function spreadValue<T>(name: string, fragments: FragmentLookup, visiting: Set<string>, memo: Map<string, T>,
  compute: (fragment: FragmentDefinitionNode) => T): T | undefined {
  const fragment = fragments(name);
  if (fragment === undefined || visiting.has(name)) return undefined;
  let value = memo.get(name);
  if (value === undefined) {
    visiting.add(name);
    value = compute(fragment);
    visiting.delete(name);
    memo.set(name, value);
  }
  return value;
}


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

/** The `extensions` object that carries {@link WavegateFieldCost} (a field config's `extensions`). */
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

/** `field.extensions.wavegate` when it is well-formed cost metadata. */
export function fieldCost(def: GraphQLField<unknown, unknown> | undefined): WavegateFieldCost | undefined {
  const c = def?.extensions?.['wavegate'] as Partial<WavegateFieldCost> | undefined;
  if (c === undefined || c === null || typeof c !== 'object') return undefined;
  if (typeof c.kind !== 'string' || !(c.kind in STATEMENTS) || typeof c.maxRows !== 'number') return undefined;
  return c as WavegateFieldCost;
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
  // A fragment's cost does not depend on where it is spread: walk each once (spreadValue).
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
          const c = spreadValue(sel.name.value, fragments, visiting, memo, (frag) => {
            const t = schema.getType(frag.typeCondition.name.value);
            return walk(frag.selectionSet, isCompositeType(t) ? t : undefined);
          });
          if (c !== undefined) add(c);
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
