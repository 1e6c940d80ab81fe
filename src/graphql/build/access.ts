/**
 * How the generated API applies a view's permission beyond the WHERE clause (which the permission
 * compiler renders): which arguments are pinned to the viewer's claims, which columns a selection
 * may read, and the FORBIDDEN messages. Generic over views and roles: nothing here names one.
 *
 * Pinned arguments: when a role's rows are `column = <claim>` (alone or inside an `and`), an
 * equality argument on that column naming another value is refused with FORBIDDEN rather than
 * silently returning nothing, so a client bug shows up as an error; an absent one defaults to the
 * claim (riders' `trips` default to their own). A filter on another column (a rider filtering
 * trips by driverId) stays a plain filter, ANDed with the row policy.
 */
import type { Viewer } from '../../auth/viewer';
import { errors, type GatewayError } from '../../errors';
import { claimOf } from '../../permissions/compile';
import type { Permission, Predicate, ViewModel } from '../../views/model';

/** column → the only value the viewer may ask for (from `eq` predicates of the role). */
export type Pins = ReadonlyMap<string, string>;

const NO_PINS: Pins = new Map();

/** The columns `p` pins to one of the viewer's claims (top level, or conjuncts of an `and`). */
export function pinsOf(p: Predicate, viewer: Viewer): Pins {
  if (p.kind === 'eq') {
    const v = claimOf(viewer, p.claim);
    return typeof v === 'string' ? new Map([[p.column, v]]) : NO_PINS;
  }
  if (p.kind !== 'and') return NO_PINS;
  const out = new Map<string, string>();
  for (const q of p.of) for (const [c, v] of pinsOf(q, viewer)) out.set(c, v);
  return out;
}

/** Words of a GraphQL type name, lower case: `DriverEarningsDay` → `driver earnings day`. */
function words(typeName: string): string {
  return typeName.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2').toLowerCase();
}

function plural(noun: string): string {
  return noun.endsWith('s') ? noun : noun.endsWith('y') && !/[aeiou]y$/.test(noun) ? `${noun.slice(0, -1)}ies` : `${noun}s`;
}

/** How messages name a view's rows: `trip` / `trips`, `rider stats` / `rider stats`. */
export function rowNoun(view: ViewModel): { readonly one: string; readonly many: string } {
  const one = words(view.graphql?.type ?? view.name.replace(/_/g, ' '));
  return { one, many: plural(one) };
}

function roleTitle(role: string): string {
  return plural(role.charAt(0).toUpperCase() + role.slice(1));
}

/** FORBIDDEN messages of one view; the same for every row (they never reveal data). */
export const forbidden = {
  /** The role reads nothing of the view. */
  noAccess: (view: ViewModel, role: string): GatewayError => errors.forbidden(`${roleTitle(role)} cannot read ${rowNoun(view).many}`),
  /** An argument names another value of a column pinned to the viewer's claim. */
  notOwn: (view: ViewModel, role: string): GatewayError => errors.forbidden(`${roleTitle(role)} can only read their own ${rowNoun(view).many}`),
  /** A row exists but the policy hides it from the viewer. */
  row: (view: ViewModel): GatewayError => errors.forbidden(`Not allowed to read this ${rowNoun(view).one}`),
  /** The selection asks for columns the role may not read. */
  columns: (view: ViewModel, role: string, fields: readonly string[]): GatewayError =>
    errors.forbidden(`${roleTitle(role)} cannot read these fields of ${rowNoun(view).many}: ${fields.join(', ')}`),
};

/**
 * The permission of the viewer's role on `view`; FORBIDDEN when the role reads nothing of it
 * (no permission, or rows `none`).
 */
export function requirePermission(view: ViewModel, perm: Permission | undefined, role: string): Permission {
  if (perm === undefined || perm.rows.kind === 'none') throw forbidden.noAccess(view, role);
  return perm;
}

/**
 * Checks an equality argument on `column` against the pins: FORBIDDEN when it names another value;
 * the pinned value when absent; else the argument.
 */
export function pinnedValue(view: ViewModel, role: string, pins: Pins, column: string, given: string | undefined): string | undefined {
  const pinned = pins.get(column);
  if (pinned === undefined) return given;
  if (given !== undefined && given !== pinned) throw forbidden.notOwn(view, role);
  return pinned;
}
