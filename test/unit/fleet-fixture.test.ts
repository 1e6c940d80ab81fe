/**
 * The fleet schema directory (test/fixtures/fleet, README "Serve your own views") is the bundled
 * schema/ plus SQL and YAML only: the bundled views' files as they are (trip_history.yaml only gains
 * the fleet_manager permission at its end), so the example cannot drift from what it extends.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { embeddedViewDdl } from '../../src/engine/embedded/ddl';
import { permissionOf, viewOf } from '../../src/permissions/compile';
import { bundledSchemaDir, loadRegistry } from '../../src/views/load';
import { FLEET_FIXTURE_DIR, fleetSchemaDir } from '../fixtures/fleet';
import { loadViewParser } from '../../src/views/split';

// embeddedViewDdl splits each view's SQL with libpg-query's parser, which loads asynchronously.
beforeAll(loadViewParser);

const fleet = fleetSchemaDir('wg-fleet-fixture');
const FLEET_SCHEMA_DIR = fleet.dir;
afterAll(() => fleet.remove());

const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');

describe('test/fixtures/fleet', () => {
  it('holds the bundled views unchanged, plus driver_ratings and fleet_drivers, and no code (the fixture adds SQL and YAML only; index.ts is the tests\' helper)', () => {
    const bundled = readdirSync(bundledSchemaDir()).filter((f) => /\.(sql|yaml)$/.test(f) && f !== 'wavegate.yaml');
    for (const f of bundled) {
      if (f === 'trip_history.yaml') expect(read(FLEET_SCHEMA_DIR, f).startsWith(read(bundledSchemaDir(), f))).toBe(true);
      else expect({ f, same: read(FLEET_SCHEMA_DIR, f) === read(bundledSchemaDir(), f) }).toEqual({ f, same: true });
    }
    const extra = readdirSync(FLEET_SCHEMA_DIR).filter((f) => !bundled.includes(f)).sort();
    expect(extra).toEqual(['driver_ratings.sql', 'driver_ratings.yaml', 'fleet_drivers.sql', 'fleet_drivers.yaml', 'wavegate.yaml']);
    expect(readdirSync(FLEET_FIXTURE_DIR).sort()).toEqual([
      'driver_ratings.sql', 'driver_ratings.yaml', 'fleet_drivers.sql', 'fleet_drivers.yaml', 'index.ts', 'trip_history.permissions.yaml.part', 'wavegate.yaml',
    ]);
  });

  it('declares fleet_manager once, with claim fleet_id, reading trips and ratings through fleet_drivers', () => {
    const r = loadRegistry(FLEET_SCHEMA_DIR);
    expect(r.roles.find((x) => x.name === 'fleet_manager')?.claims).toEqual([{ name: 'fleet_id', type: 'string' }]);
    const viaFleet = { kind: 'lookup', column: 'driver_id', view: 'fleet_drivers', select: 'driver_id', where: { kind: 'eq', column: 'fleet_id', claim: 'fleet_id' } };
    expect(permissionOf(viewOf(r, 'trip_history'), 'fleet_manager')?.rows).toMatchObject(viaFleet);
    expect(permissionOf(viewOf(r, 'driver_ratings'), 'fleet_manager')?.rows).toMatchObject(viaFleet);
    for (const v of ['driver_stats', 'rider_stats', 'driver_earnings_daily']) expect(permissionOf(viewOf(r, v), 'fleet_manager')).toBeUndefined();
  });
});

describe('embedded change trigger of a view whose indexed column is computed in the projection', () => {
  it('takes the old image only from the columns pg_ivm\'s table has (fleet_drivers.fleet_id is not one)', () => {
    const view = viewOf(loadRegistry(FLEET_SCHEMA_DIR), 'fleet_drivers');
    expect(view.indexed).toEqual(['fleet_id']);
    const trigger = embeddedViewDdl(view).trigger(['driver_id', 'assignments']);
    expect(trigger).not.toContain('OLD.fleet_id');
    expect(trigger).toContain('OLD.driver_id');
  });
});
