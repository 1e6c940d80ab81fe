import { getIntrospectionQuery, parse, specifiedRules, validate, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { costLimitRule, depthLimitRule, operationCost, selectionDepth } from '../../src/graphql/limits';
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
  return operationCost(getSchema(), op, frag, { maxPageSize: 100 });
};
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
  it('weights selections under `first` by the page size (default 20, literal, variable default, else max page)', () => {
    expect(cost('{ trip(id: "1") { id status } }')).toBe(3);
    expect(cost('{ trips { edges { node { id } } } }')).toBe(1 + 20 * 3);
    expect(cost('{ trips(first: 50) { edges { node { id } } pageInfo { hasNextPage } } }')).toBe(1 + 50 * 5);
    expect(cost('query($n: Int = 5) { trips(first: $n) { edges { node { id } } } }')).toBe(1 + 5 * 3);
    expect(cost('query($n: Int) { trips(first: $n) { edges { node { id } } } }')).toBe(1 + 100 * 3);
  });

  it('counts a fragment wherever it is spread, and survives fragment bombs', () => {
    expect(cost('{ a: trip(id: "1") { ...T } b: trip(id: "2") { ...T } } fragment T on Trip { id status }')).toBe(2 * 3);
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
});
