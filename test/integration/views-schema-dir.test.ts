import { EmbeddedEngine } from '../../src/engine/embedded/engine';
import type { ChangeEvent } from '../../src/engine/types';
import { GatewayErrorCode, isGatewayError } from '../../src/errors';
import { silentLogger } from '../../src/log';
import { writeEvents } from '../../src/outbox/writer';
import { loadRegistry } from '../../src/views/load';
import { DRIVER_RATINGS, schemaDirWith } from '../helpers/schemaDir';
import { waitFor } from '../helpers/waitFor';

/**
 * The embedded engine serves the views of a schema directory other than the bundled one: a fifth
 * view declared with no change under src/ is built, maintained and fed; a query pg_ivm cannot
 * maintain, or a declaration whose types differ from the SQL, stops start-up with BAD_CONFIG.
 */

async function startFailure(files: Record<string, string>): Promise<string> {
  const schema = schemaDirWith(files);
  try {
    const engine = await EmbeddedEngine.create({ log: silentLogger, views: loadRegistry(schema.dir) }).then(
      async (e) => {
        await e.close();
        return undefined;
      },
      (err: unknown) => err);
    if (!isGatewayError(engine, GatewayErrorCode.BAD_CONFIG)) throw new Error(`expected BAD_CONFIG, got ${String(engine)}`);
    return engine.message;
  } finally {
    schema.remove();
  }
}

describe('embedded engine over a schema directory', () => {
  it('builds, maintains and feeds a fifth view declared next to the bundled ones', async () => {
    const schema = schemaDirWith(DRIVER_RATINGS);
    const views = loadRegistry(schema.dir);
    const engine = await EmbeddedEngine.create({ log: silentLogger, views });
    try {
      expect(engine.views).toBe(views);
      const seen: ChangeEvent[] = [];
      engine.feed.subscribe((batch) => void seen.push(...batch));
      await engine.transaction((tx) => writeEvents(tx, [
        { type: 'RideRequested', aggregateId: 'r-1', payload: { rider_id: 'rider-1', pickup: { lat: 1, lng: 2 }, dropoff: { lat: 1, lng: 3 } } },
        { type: 'DriverAssigned', aggregateId: 'r-1', payload: { driver_id: 'driver-9', eta_seconds: 60 } },
        { type: 'TripRated', aggregateId: 'r-1', payload: { rated_by: 'rider', rating: 4 } },
      ]));
      expect(await engine.query('SELECT driver_id, ratings, rated FROM driver_ratings')).toEqual([{ driver_id: 'driver-9', ratings: 1, rated: true }]);
      await waitFor(() => seen.some((e) => e.view === 'driver_ratings' && e.row?.['ratings'] === 1));
      const change = seen.filter((e) => e.view === 'driver_ratings').at(-1)!;
      expect(change).toMatchObject({ key: { driver_id: 'driver-9' }, row: { driver_id: 'driver-9', ratings: 1, rated: true } });
    } finally {
      await engine.close();
      schema.remove();
    }
  });

  it('refuses at start-up a query pg_ivm cannot maintain, naming the view, pg_ivm\'s reason and what to change', async () => {
    const message = await startFailure({
      ...DRIVER_RATINGS,
      'driver_ratings.sql': `SELECT a.payload->>'driver_id' AS driver_id, count(*) AS ratings
FROM outbox a LEFT JOIN outbox e ON e.aggregate_id = a.aggregate_id GROUP BY a.payload->>'driver_id'`,
    });
    expect(message).toMatch(/^View driver_ratings \(.*driver_ratings\.sql\): the embedded engine cannot maintain it with pg_ivm: /);
    expect(message).toContain('not allowed on incrementally maintainable materialized view; aggregate is not supported with outer join');
    expect(message).toContain('pg_ivm maintains inner joins only: use inner joins');
    expect(message).toContain('RisingWave, WAVEGATE_ENGINE=risingwave, runs the SQL as written');
    // An expression over an aggregate: the advice is the base CTE and a projection over it.
    const aggregate = await startFailure({
      ...DRIVER_RATINGS,
      'driver_ratings.sql': `SELECT payload->>'driver_id' AS driver_id, count(*) AS ratings, count(*) > 0 AS rated
FROM outbox WHERE event_type = 'DriverAssigned' GROUP BY payload->>'driver_id'`,
    });
    expect(aggregate).toContain('expression containing an aggregate');
    expect(aggregate).toContain('write the query as `WITH base AS (SELECT <group columns>, <aggregates> FROM ... GROUP BY ...) SELECT <any expressions> FROM base`');
  });

  it('refuses at start-up a declaration whose column types differ from what the SQL returns', async () => {
    const message = await startFailure({
      ...DRIVER_RATINGS,
      'driver_ratings.yaml': DRIVER_RATINGS['driver_ratings.yaml'].replace('ratings: { type: int', 'ratings: { type: numeric'),
    });
    expect(message).toContain('view driver_ratings: column 2 is ratings int in the engine, declared ratings numeric');
  });
});
