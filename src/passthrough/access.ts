import { passthroughSubquery, permissionOf } from '../permissions/compile';
import type { Registry, ViewModel } from '../views/model';
import type { SqlUser } from './users';

/**
 * What each passthrough user reads of each published view: the subquery that replaces every
 * reference to the view (docs/SQL.md, "Users, roles and what they read"), compiled from the user's role's permissions in the
 * registry (src/permissions/compile.ts `passthroughSubquery`), with the user's `sub` and claims as
 * literals. The subquery lists the view's declared columns explicitly and in order, for every role,
 * so engine-internal columns never show and BI tools see one shape: a column the role may not read
 * is NULL of its type, a masked one its mask (the bundled analyst masks are declared in
 * schema/trip_history.yaml and schema/rider_stats.yaml), and a role without a permission on the view
 * reads no rows. Anything the compiler cannot render throws: the statement is refused.
 */

/** The parenthesised subquery (no alias) that stands for `view` of `registry` when `user` reads it. */
export function viewSubquery(user: SqlUser, view: ViewModel, registry: Registry): string {
  return passthroughSubquery(view, registry, { role: user.role, viewer: user.viewer });
}

/** Columns of `view` that `user` reads masked (for docs and tests). */
export function maskedColumns(user: SqlUser, view: ViewModel): readonly string[] {
  return Object.keys(permissionOf(view, user.role)?.masks ?? {});
}
