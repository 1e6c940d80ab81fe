/**
 * The permission scope of a viewer: what, besides the operation, decides which rows and columns a
 * subscription may see. Two viewers with one scope see the same rows with the same masks, so their
 * subscriptions with one document and one set of variables can share one execution (the shared
 * fan-out in graphql/websocket.ts).
 *
 * It is derived from what the compiled permissions depend on (permissions/compile.ts): the role
 * (its predicates, readable columns and masks are per role), and the values of the claims the role's
 * row predicates read, over every view (a payload may reach other views through relations), lookups
 * included (their `where` reads claims too). `sub` counts as a claim when a predicate reads it. Two
 * riders therefore have two scopes; two ops viewers (predicate `all`) have one.
 */
import { claimOf } from '../permissions/compile';
import type { Viewer } from '../auth/viewer';
import type { Predicate, Registry } from '../views/model';

const claimsByRole = new WeakMap<Registry, Map<string, readonly string[]>>();

function collect(p: Predicate, into: Set<string>): void {
  switch (p.kind) {
    case 'all':
    case 'none':
      return;
    case 'eq':
    case 'in':
      into.add(p.claim);
      return;
    case 'lookup':
      collect(p.where, into);
      return;
    case 'and':
    case 'or':
      for (const q of p.of) collect(q, into);
      return;
    default: {
      const never: never = p;
      throw new Error(`unknown predicate ${JSON.stringify(never)}`);
    }
  }
}

/** The claims `role`'s row predicates read, over every view of the registry (sorted, cached per registry). */
export function scopeClaims(registry: Registry, role: string): readonly string[] {
  let byRole = claimsByRole.get(registry);
  if (byRole === undefined) claimsByRole.set(registry, (byRole = new Map()));
  let claims = byRole.get(role);
  if (claims === undefined) {
    const into = new Set<string>();
    for (const view of registry.views) {
      if (Object.hasOwn(view.permissions, role)) collect(view.permissions[role]!.rows, into);
    }
    byRole.set(role, (claims = [...into].sort()));
  }
  return claims;
}

/** The viewer's scope as a string: equal strings ⇔ same role and same values of the claims its permissions read. */
export function permissionScope(registry: Registry, viewer: Viewer): string {
  const values = scopeClaims(registry, viewer.role).map((c) => [c, claimOf(viewer, c) ?? null]);
  return JSON.stringify([viewer.role, values]);
}
