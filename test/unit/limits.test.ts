import { getIntrospectionQuery, parse, specifiedRules, validate, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { aliasCount, COST, costLimitRule, depthLimitRule, operationCost, operationLimitRules, rootFieldNames, selectionDepth } from '../../src/graphql/limits';
import { getSchema } from '../../src/graphql/executableSchema';

function parts(query: string): { op: OperationDefinitionNode; frag: (n: string) => FragmentDefinitionNode | undefined } {
  const doc: DocumentNode = parse(query);
  const frags = new Map(doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === 'FragmentDefinition').map((d) => [d.name.value, d]));
  return { op: doc.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition')!, frag: (n) => frags.get(n) };
}
const depth = (q: string) => {
  const { op, frag } = parts(q);
  return selectionDepth(op.selectionSet, frag);
};
const cost = (q: string) => {
  const { op, frag } = parts(q);
  return operationCost(getSchema(), op, frag);
};
const aliases = (q: string) => {
  const { op, frag } = parts(q);
  return aliasCount(op.selectionSet, frag);
};
const rootFields = (q: string) => {
  const { op, frag } = parts(q);
  return [...rootFieldNames(op.selectionSet, frag)];
};
const LIMITS = { maxDepth: 10, maxCost: 10_000, maxAliases: 30, maxRootFields: 20 };
const allErrors = (q: string, limits: Partial<typeof LIMITS> = {}) =>
  validate(getSchema(), parse(q), [...specifiedRules, ...operationLimitRules({ ...LIMITS, ...limits })]).map((e) => ({
    code: e.extensions['code'] ?? (e.originalError as { code?: string } | undefined)?.code ?? e.message,
    limit: (e.originalError as { details?: { limit?: string } } | undefined)?.details?.limit,
  }));
const errors = (q: string, maxDepth = 10, maxCost = 10_000) =>
  validate(getSchema(), parse(q), [...specifiedRules, depthLimitRule(maxDepth), costLimitRule(maxCost)]).map((e) => e.extensions['code'] ?? e.message);

describe('depth', () => {
  it('counts nested fields, through fragments and inline fragments', () => {
    expect(depth('{ trip(id: "1") { id } }')).toBe(2);
    expect(depth('{ trips { edges { node { driver { id } } } } }')).toBe(5);
    expect(depth('{ trips { ...E } } fragment E on TripConnection { edges { node { ... on Trip { fare { amount } } } } }')).toBe(5);
  });

  it('skips introspection subtrees', () => {
    expect(depth(getIntrospectionQuery())).toBe(0);
    expect(depth('{ __type(name: "Trip") { fields { type { ofType { ofType { ofType { name } } } } } } trip(id: "1") { id } }')).toBe(2);
  });

  it('stops at fragment cycles instead of looping', () => {
    expect(depth('{ trips { ...A } } fragment A on TripConnection { edges { ...B } } fragment B on TripEdge { node { id } ...A }')).toBe(4);
  });

  it('reports QUERY_TOO_DEEP', () => {
    expect(errors('{ trips { edges { node { driver { id } } } } }', 4)).toEqual(['QUERY_TOO_DEEP']);
    expect(errors('{ trips { edges { node { driver { id } } } } }', 5)).toEqual([]);
  });
});

describe('cost', () => {
  const S = COST.statement;
  const B = COST.batchedStatement;

  it('counts each statement a root field sends, and every field per row it reads', () => {
    // trip: the field, two statements (the row, then "absent or not yours"), one row of 2 fields.
    expect(cost('{ trip(id: "1") { id status } }')).toBe(1 + 2 * S + 2);
    expect(cost('{ riderStats(riderId: "r") { trips } driverStats(driverId: "d") { trips } }')).toBe(2 * (1 + 2 * S + 1));
    // A list reads up to its maxRows (driverEarnings: 1000 days).
    expect(cost('{ driverEarnings(driverId: "d") { day trips } }')).toBe(1 + S + 1000 * 2);
  });

  it('multiplies a connection by its page (default 20, literal, variable default, else the max, never above it)', () => {
    expect(cost('{ trips { edges { node { id } } } }')).toBe(1 + S + 20 * 3);
    expect(cost('{ trips(first: 50) { edges { node { id } } pageInfo { hasNextPage } } }')).toBe(1 + S + 50 * 5);
    expect(cost('query($n: Int = 5) { trips(first: $n) { edges { node { id } } } }')).toBe(1 + S + 5 * 3);
    expect(cost('query($n: Int) { trips(first: $n) { edges { node { id } } } }')).toBe(1 + S + 100 * 3);
    // Over the max is refused by the resolver (BAD_USER_INPUT); for cost it is the max.
    expect(cost('{ trips(first: 100000) { edges { node { id } } } }')).toBe(1 + S + 100 * 3);
  });

  it('counts a relation (DataLoader) as one batched statement per parent field, not one per row', () => {
    // Per row: edges, node, driver + its 2 fields; once: the driver batch.
    expect(cost('{ trips(first: 10) { edges { node { driver { id rating } } } } }')).toBe(1 + S + 10 * (1 + 1 + 1 + 2) + B);
    // The same reads as 10 lookups would cost 10 root statements pairs.
    expect(cost('{ trips(first: 10) { edges { node { driver { id rating } } } } }')).toBeLessThan(10 * cost('{ trip(id: "1") { id } }'));
    expect(cost('{ trip(id: "1") { driver { id } riderStats { trips } } }')).toBe(1 + 2 * S + (1 + 1) + (1 + 1) + 2 * B);
  });

  it('makes thousands of cheap-looking lookups expensive (the alias attack: 4,900 lookups once cost 9,800)', () => {
    const q = `{ ${Array.from({ length: 4900 }, (_, i) => `a${i}: trip(id: "${i}") { id }`).join(' ')} }`;
    expect(cost(q)).toBe(4900 * (1 + 2 * S + 1));
    expect(cost(q)).toBeGreaterThan(10_000 * 90);
  });

  it('counts a fragment wherever it is spread, and survives fragment bombs', () => {
    expect(cost('{ a: trip(id: "1") { ...T } b: trip(id: "2") { ...T } } fragment T on Trip { id status }')).toBe(2 * (1 + 2 * S + 2));
    const names = Array.from({ length: 30 }, (_, i) => `F${i}`);
    const bomb = `{ trip(id: "1") { ...F0 } } ${names.map((n, i) => `fragment ${n} on Trip { id ${i + 1 < 30 ? `...F${i + 1} ...F${i + 1}` : ''} }`).join(' ')}`;
    expect(cost(bomb)).toBeGreaterThan(1e8);
    expect(errors(bomb)).toEqual(['QUERY_TOO_COSTLY']);
  });

  it('counts introspection', () => {
    expect(cost(getIntrospectionQuery())).toBeGreaterThan(100);
    expect(errors(getIntrospectionQuery(), 10, 100)).toEqual(['QUERY_TOO_COSTLY']);
    expect(errors(getIntrospectionQuery())).toEqual([]);
  });

  it('does not loop on fragment cycles (NoFragmentCyclesRule reports them)', () => {
    const q = '{ trips { ...A } } fragment A on TripConnection { edges { cursor } ...B } fragment B on TripConnection { ...A }';
    expect(Number.isFinite(cost(q))).toBe(true);
    expect(errors(q)).toEqual([expect.stringContaining('Cannot spread fragment "A" within itself')]);
  });

  it('every costed root field of the schema carries well-formed metadata', () => {
    for (const type of [getSchema().getQueryType()!, getSchema().getSubscriptionType()!]) {
      for (const field of Object.values(type.getFields())) {
        expect(field.extensions['wavegate']).toEqual(expect.objectContaining({ kind: expect.any(String), maxRows: expect.any(Number), view: expect.any(String) }));
      }
    }
  });
});

describe('breadth: aliases and root fields', () => {
  it('counts aliases everywhere, fragments expanded with multiplicity', () => {
    expect(aliases('{ a: trip(id: "1") { x: id } b: trip(id: "2") { id } }')).toBe(3);
    expect(aliases('{ trip(id: "1") { ...T ...T } } fragment T on Trip { x: id y: status }')).toBe(4);
    expect(aliases('{ trip(id: "1") { id } }')).toBe(0);
  });

  it('counts distinct root response names, through fragments, without __typename', () => {
    expect(rootFields('{ a: trip(id: "1") { id } trip(id: "2") { id } __typename }')).toEqual(['a', 'trip']);
    expect(rootFields('{ ...Q ... on Query { riderStats(riderId: "r") { trips } } } fragment Q on Query { trips { pageInfo { hasNextPage } } }')).toEqual(['trips', 'riderStats']);
    // The same field twice is one field (graphql-js merges it).
    expect(rootFields('{ trip(id: "1") { id } trip(id: "1") { status } }')).toEqual(['trip']);
  });

  it('reports QUERY_TOO_COSTLY naming the limit that was hit', () => {
    const lookups = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: trip(id: "${i}") { id }`).join(' ')} }`;
    expect(allErrors(lookups(20))).toEqual([]);
    expect(allErrors(lookups(21))).toEqual([{ code: 'QUERY_TOO_COSTLY', limit: 'maxRootFields' }]);
    expect(allErrors(lookups(31))).toEqual([{ code: 'QUERY_TOO_COSTLY', limit: 'maxAliases' }, { code: 'QUERY_TOO_COSTLY', limit: 'maxRootFields' }]);
    const nested = `{ trip(id: "1") { ${Array.from({ length: 31 }, (_, i) => `f${i}: id`).join(' ')} } }`;
    expect(allErrors(nested)).toEqual([{ code: 'QUERY_TOO_COSTLY', limit: 'maxAliases' }]);
    expect(allErrors(nested, { maxAliases: 31 })).toEqual([]);
  });
});

describe('operation types', () => {
  it('refuses operation types the schema does not have, at validation', () => {
    expect(allErrors('mutation { x }')).toEqual([{ code: 'This API has no mutation operations', limit: undefined }]);
    expect(allErrors('subscription { tripUpdated { kind } }')).toEqual([]);
  });
});
