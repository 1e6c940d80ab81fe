/**
 * A small hand-built registry for the permission compiler's tests: a `trips` view with text, float,
 * numeric and int columns, and a `fleet_drivers` lookup view (fleet → its drivers). Independent of
 * the bundled ride-hailing declarations on purpose: the compiler must work for any view.
 */
import type { ColumnModel, ColumnType, Permission, Predicate, Registry, RoleDecl, ViewModel } from '../../src/views/model';

const col = (name: string, type: ColumnType): ColumnModel => ({ name, type, nullable: true });

export const TRIP_COLUMNS: readonly ColumnModel[] = [
  col('trip_id', 'text'), col('rider_id', 'text'), col('driver_id', 'text'), col('label', 'text'),
  col('lat', 'float'), col('fare', 'numeric'), col('n', 'int'),
];

export const FLEET_COLUMNS: readonly ColumnModel[] = [col('fleet_id', 'text'), col('driver_id', 'text')];

export function view(name: string, columns: readonly ColumnModel[], key: readonly string[], permissions: Record<string, Permission>): ViewModel {
  return { name, description: name, columns, key, indexed: [], indexes: [], sql: 'SELECT 1', dependsOn: [], permissions, sink: false };
}

export function perm(rows: Predicate, columns?: readonly string[], masks: Permission['masks'] = {}, all: readonly ColumnModel[] = TRIP_COLUMNS): Permission {
  return { rows, columns: columns ?? all.map((c) => c.name), masks };
}

export const ROLES: readonly RoleDecl[] = [
  { name: 'rider', description: 'rider', claims: [], graphql: true, sample: { sub: 'rider-1' } },
  { name: 'driver', description: 'driver', claims: [], graphql: true, sample: { sub: 'driver-1' } },
  { name: 'fleet_manager', description: 'fleet', claims: [{ name: 'fleet_id', type: 'string' }], graphql: true, sample: { sub: 'fm-1', fleet_id: 'f1' } },
  { name: 'regional', description: 'regional', claims: [{ name: 'fleet_ids', type: 'string[]' }], graphql: true, sample: { sub: 'reg-1', fleet_ids: ['f1', 'f2'] } },
  { name: 'ops', description: 'ops', claims: [], graphql: true, sample: { sub: 'ops-1' } },
  { name: 'analyst', description: 'analyst', claims: [], graphql: false },
];

/** The lookup of the fleet manager: trips whose driver is in the manager's fleet. */
export const FLEET_LOOKUP: Extract<Predicate, { kind: 'lookup' }> = {
  kind: 'lookup', column: 'driver_id', view: 'fleet_drivers', select: 'driver_id',
  where: { kind: 'eq', column: 'fleet_id', claim: 'fleet_id' },
};

/** A registry with `trips` (whose permissions are `tripPermissions`) and `fleet_drivers`. */
export function fixtureRegistry(tripPermissions: Record<string, Permission> = {}): Registry {
  return {
    dir: '/nowhere',
    roles: ROLES,
    views: [
      view('fleet_drivers', FLEET_COLUMNS, ['fleet_id', 'driver_id'], { ops: perm({ kind: 'all' }, undefined, {}, FLEET_COLUMNS) }),
      view('trips', TRIP_COLUMNS, ['trip_id'], tripPermissions),
    ],
    sqlDefaultRole: 'analyst',
    authOffRole: 'ops',
  };
}

export const RIDE_PERMISSIONS: Record<string, Permission> = {
  rider: perm({ kind: 'eq', column: 'rider_id', claim: 'sub' }),
  driver: perm({ kind: 'eq', column: 'driver_id', claim: 'sub' }, ['trip_id', 'driver_id', 'label']),
  fleet_manager: perm(FLEET_LOOKUP),
  regional: perm({ kind: 'or', of: [{ kind: 'in', column: 'label', claim: 'fleet_ids' }, { kind: 'none' }] }),
  ops: perm({ kind: 'all' }),
  analyst: perm({ kind: 'all' }, undefined, { rider_id: { kind: 'null' }, lat: { kind: 'round', digits: 2 }, fare: { kind: 'round', digits: 1 } }),
};

/** The fixture view named `name` (throws when absent). */
export function viewOfFixture(registry: Registry, name: string): ViewModel {
  const v = registry.views.find((x) => x.name === name);
  if (v === undefined) throw new Error(`no view ${name}`);
  return v;
}
