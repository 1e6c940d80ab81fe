import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * Does the client ask for `field` directly under the field being resolved (through fragments and
 * inline fragments too)? Used to do work only for what is selected, e.g. the FLUSH a `feedCursor`
 * needs on RisingWave. Directives (@skip/@include) are not evaluated: a conditionally selected
 * field counts as selected, which only costs the work, never correctness.
 */
export function selectsField(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>, field: string): boolean {
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode | undefined): boolean => {
    for (const s of set?.selections ?? []) {
      if (s.kind === Kind.FIELD && s.name.value === field) return true;
      if (s.kind === Kind.INLINE_FRAGMENT && visit(s.selectionSet)) return true;
      if (s.kind === Kind.FRAGMENT_SPREAD && !seen.has(s.name.value)) {
        seen.add(s.name.value);
        if (visit(info.fragments[s.name.value]?.selectionSet)) return true;
      }
    }
    return false;
  };
  return info.fieldNodes.some((n) => visit(n.selectionSet));
}
