import { rowPredicate } from '../auth/policy';
import type { Viewer } from '../auth/viewer';
import type { ViewModel } from '../views/model';
import type { SqlUser } from './users';

/**
 * What each passthrough user reads of each published view, as the subquery that replaces every
 * reference to the view (docs/SQL.md, "Users, roles and what they read"):
 * - `ops`, `rider`, `driver`: the GraphQL row policy ({@link rowPredicate}), all columns;
 * - `analyst`: all rows; `rider_id` is NULL in trip_history and rider_stats, and pickup/dropoff
 *   coordinates are rounded to 2 decimals (about 1 km), because exact pickup points identify homes.
 * The subquery always lists the registry's columns explicitly, so engine-internal columns never
 * show and the shape is the same for every role.
 */

/** Analyst masks: column → SQL expression over the view's own column (same type). */
const ANALYST_MASKS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  trip_history: {
    rider_id: 'NULL::text',
    pickup_lat: 'round(pickup_lat::numeric, 2)::double precision',
    pickup_lng: 'round(pickup_lng::numeric, 2)::double precision',
    dropoff_lat: 'round(dropoff_lat::numeric, 2)::double precision',
    dropoff_lng: 'round(dropoff_lng::numeric, 2)::double precision',
  },
  rider_stats: { rider_id: 'NULL::text' },
};

/** Columns an analyst reads masked, per view (for docs and tests). */
export function analystMaskedColumns(view: string): readonly string[] {
  return Object.keys(Object.hasOwn(ANALYST_MASKS, view) ? ANALYST_MASKS[view] ?? {} : {});
}

/** A SQL string literal; ids are validated at config time, quoting is the second line of defence. */
export function sqlLiteral(s: string): string {
  if (s.includes('\0')) throw new Error('NUL in SQL literal');
  return `'${s.replace(/'/g, "''")}'`;
}

/** The viewer the GraphQL row policy sees for this user (analysts have no GraphQL counterpart). */
export function viewerOf(user: SqlUser): Viewer | undefined {
  switch (user.role) {
    case 'ops':
      return { sub: user.name, role: 'ops' };
    case 'rider':
    case 'driver':
      return { sub: user.subject!, role: user.role };
    case 'analyst':
      return undefined;
  }
}

/** The parenthesised subquery (no alias) that stands for `view` when `user` reads it. */
export function viewSubquery(user: SqlUser, view: ViewModel): string {
  const viewer = viewerOf(user);
  const masks = viewer === undefined && Object.hasOwn(ANALYST_MASKS, view.name) ? ANALYST_MASKS[view.name] ?? {} : {};
  const cols = view.columns.map((c) => (masks[c.name] !== undefined ? `${masks[c.name]} AS ${c.name}` : c.name)).join(', ');
  let where = '';
  if (viewer !== undefined) {
    const p = rowPredicate(viewer, view.name);
    if (p.kind === 'none') where = ' WHERE false';
    else if (p.kind === 'eq') where = ` WHERE ${p.column} = ${sqlLiteral(p.value)}`;
  }
  return `(SELECT ${cols} FROM public.${view.name}${where})`;
}
