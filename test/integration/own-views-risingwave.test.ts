/**
 * A user's own views on the RisingWave engine path (issue 12): the fleet schema directory
 * (schema/ plus test/fixtures/fleet, SQL and YAML only, put together in a temp folder) served with WAVEGATE_SCHEMA_DIR. PostgreSQL stands in for
 * RisingWave's SQL (a database of this file's own with every view of the directory as a plain view)
 * and a real Kafka broker carries the sink records (topics and consumer group of this file's own,
 * removed afterwards). Checks the new view's query and subscription, a fleet manager's rows on
 * queries, subscriptions and the SQL passthrough, and `wavegate migrate plan` creating the new views
 * and their sinks.
 */
import pg from 'pg';
import { runMigrate } from '../../src/cli/migrate';
import { silentLogger } from '../../src/log';
import { parseSqlUsers, startSqlPassthrough, type SqlPassthrough } from '../../src/passthrough';
import { viewNamed } from '../../src/views/find';
import { loadRegistry } from '../../src/views/load';
import type { Registry } from '../../src/views/model';
import { normalizeRow } from '../../src/views/normalize';
import { viewTopic } from '../../src/kafka/topics';
import { createPgDatabase, createRisingWaveStandIn, writeUpstream, type PgTestDatabase } from '../conformance/databases';
import { FakeRisingWave } from '../conformance/fakeRisingWave';
import { fleetOf, fleetSchemaDir } from '../fixtures/fleet';
import { upsertRecord } from '../fixtures/risingwave/encode';
import { rideEvents, type GqlResponse, type RideSpec } from '../helpers/gateway';
import { KAFKA_BROKERS, KafkaTestClient, requireBroker, uniquePrefix } from '../helpers/kafka';
import { delivered, startRwGateway, subscribed, type RwTestGateway } from '../helpers/rwGateway';
import { claims, hs256 } from '../helpers/tokens';
import { connectWs, disposeWsClients } from '../helpers/wsClient';

jest.setTimeout(120_000);

const schema = fleetSchemaDir('wt-own-views');
const registry: Registry = loadRegistry(schema.dir);
let kafka: KafkaTestClient;
let db: PgTestDatabase;
let prefix: string;
let g: RwTestGateway;
let sql: SqlPassthrough;
const tokens: Record<string, string> = {};

const ride = (id: string, driver: string, minute: number): RideSpec =>
  ({ id, rider: `rider-${id}`, driver, requestedAt: new Date(Date.UTC(2026, 9, 3, 10, minute)) });
// fleet-1: driver-01, driver-11; fleet-2: driver-02.
const RIDES = [ride('t1', 'driver-01', 0), ride('t2', 'driver-11', 1), ride('t3', 'driver-02', 2), ride('t4', 'driver-01', 3)];
const fleetManager = (fleet: string): string => hs256({ ...claims(`fm-${fleet}`, 'fleet_manager'), fleet_id: fleet });
const codes = (r: GqlResponse<unknown>) => (r.body.errors ?? []).map((e) => e.extensions?.['code']);

/** What RisingWave's sink would write for the current rows of `view` whose `column` is one of `values`; waits until the gateway's feed has it. */
async function sink(view: string, column: string, values: readonly string[]): Promise<void> {
  const def = viewNamed(registry, view);
  const rows = await g.rw.engine.query<Record<string, unknown>>(`SELECT * FROM ${view} WHERE ${column} = ANY($1) ORDER BY ${column}`, [values]);
  expect(rows).toHaveLength(values.length);
  const topic = viewTopic(view, prefix);
  const placed = await kafka.produce(topic, rows.map((r) => upsertRecord(view, normalizeRow(def, r), registry)));
  await delivered(g, topic, placed);
}

beforeAll(async () => {
  await requireBroker();
  kafka = await KafkaTestClient.connect();
  prefix = `wtownviews${uniquePrefix()}`;
  await kafka.createViewTopics(prefix, registry.views.map((v) => v.name), 3);
  db = await createPgDatabase();
  await createRisingWaveStandIn(db, registry);
  await writeUpstream(db, RIDES.flatMap(rideEvents));
  g = await startRwGateway({ db, brokers: KAFKA_BROKERS, topicPrefix: prefix, env: { WAVEGATE_SCHEMA_DIR: schema.dir } });
  tokens['ops'] = await g.token('ops-1', 'ops');
  tokens['fleet-1'] = fleetManager('fleet-1');
  sql = await startSqlPassthrough({
    port: 0, engine: g.rw.engine, log: silentLogger,
    users: parseSqlUsers('fm1:fm-pw-1:fleet_manager:fm-1:fleet_id=fleet-1', registry),
  });
});
afterAll(async () => {
  await disposeWsClients();
  await sql?.close();
  await g?.dispose();
  await kafka?.cleanup();
  await db?.drop();
  schema.remove();
});

describe('the fleet schema directory on the RisingWave engine path', () => {
  it('serves the views of WAVEGATE_SCHEMA_DIR', () => {
    expect(g.rw.engine.views.views.map((v) => v.name)).toEqual(expect.arrayContaining(['driver_ratings', 'fleet_drivers', 'trip_history']));
  });

  it('answers driver_ratings\' generated lookup and connection', async () => {
    const one = await g.gql('{ driverRatings(driverId: "driver-01") { driverId ratings averageRating } }', undefined, tokens['ops']);
    expect(one.body).toEqual({ data: { driverRatings: { driverId: 'driver-01', ratings: 2, averageRating: '5.00' } } });
    const all = await g.gql<{ driverRatingsList: { edges: Array<{ node: unknown }> } }>('{ driverRatingsList { edges { node { driverId ratings } } } }', undefined, tokens['ops']);
    expect(all.body.data?.driverRatingsList.edges.map((e) => e.node)).toEqual([
      { driverId: 'driver-01', ratings: 2 }, { driverId: 'driver-02', ratings: 1 }, { driverId: 'driver-11', ratings: 1 }]);
  });

  it('delivers driver_ratings\' sink records on driverRatingsUpdated', async () => {
    const c = connectWs(g.wsUrl, { authorization: `Bearer ${tokens['ops']}` });
    await c.connected;
    const sub = await subscribed<{ driverRatingsUpdated: { driverId: string; driverRatings: { ratings: number; averageRating: string } | null } }>(
      g, c, 'subscription { driverRatingsUpdated(driverId: "driver-02") { driverId driverRatings { ratings averageRating } } }');
    await writeUpstream(db, rideEvents(ride('t5', 'driver-02', 4)));
    await sink('driver_ratings', 'driver_id', ['driver-02']);
    const next = await sub.next();
    expect(next).toEqual({ data: { driverRatingsUpdated: { driverId: 'driver-02', driverRatings: { ratings: 2, averageRating: '5.00' } } } });
    sub.unsubscribe();
    await c.dispose();
  });

  it('gives a fleet manager exactly its fleet\'s trips and ratings on queries, and nothing else', async () => {
    const trips = await g.gql<{ trips: { edges: Array<{ node: { id: string; driverId: string } }> } }>('{ trips(first: 100) { edges { node { id driverId } } } }', undefined, tokens['fleet-1']);
    expect(trips.body.errors).toBeUndefined();
    expect(trips.body.data?.trips.edges.map((e) => e.node.id).sort()).toEqual(['t1', 't2', 't4']);
    expect(codes(await g.gql('{ trip(id: "t3") { id } }', undefined, tokens['fleet-1']))).toEqual(['FORBIDDEN']);
    const ratings = await g.gql<{ driverRatingsList: { edges: Array<{ node: { driverId: string } }> } }>('{ driverRatingsList { edges { node { driverId } } } }', undefined, tokens['fleet-1']);
    expect(ratings.body.data?.driverRatingsList.edges.map((e) => e.node.driverId)).toEqual(['driver-01', 'driver-11']);
    expect(codes(await g.gql('{ driverStats(driverId: "driver-01") { trips } }', undefined, tokens['fleet-1']))).toEqual(['FORBIDDEN']);
  });

  it('delivers to a fleet manager\'s tripUpdated its fleet\'s changes, never another fleet\'s', async () => {
    const c = connectWs(g.wsUrl, { authorization: `Bearer ${tokens['fleet-1']}` });
    await c.connected;
    const sub = await subscribed<{ tripUpdated: { tripId: string; trip: { driverId: string } | null } }>(g, c, 'subscription { tripUpdated { tripId trip { driverId } } }');
    await writeUpstream(db, [...rideEvents(ride('x1', 'driver-02', 10)), ...rideEvents(ride('x2', 'driver-21', 11))]);
    // driver-21 joins fleet-1 (fleet_drivers' change reaches the lookup set first), then the two trips in order.
    await sink('fleet_drivers', 'driver_id', ['driver-21']);
    await sink('trip_history', 'trip_id', ['x1']);
    await sink('trip_history', 'trip_id', ['x2']);
    const next = await sub.next();
    expect(next).toEqual({ data: { tripUpdated: { tripId: 'x2', trip: { driverId: 'driver-21' } } } });
    expect(sub.events).toHaveLength(1);
    sub.unsubscribe();
    await c.dispose();
  });

  it('gives a fleet manager exactly its fleet\'s rows on the SQL passthrough', async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: sql.port, user: 'fm1', password: 'fm-pw-1', database: 'wavegate' });
    c.on('error', () => undefined);
    await c.connect();
    try {
      const trips = await c.query<{ trip_id: string; driver_id: string }>('SELECT trip_id, driver_id FROM trip_history ORDER BY trip_id');
      expect(trips.rows.map((r) => r.trip_id)).toEqual(['t1', 't2', 't4', 'x2']);
      expect(trips.rows.every((r) => fleetOf(r.driver_id) === 'fleet-1')).toBe(true);
      const ratings = await c.query<{ driver_id: string }>('SELECT driver_id FROM driver_ratings ORDER BY driver_id');
      expect(ratings.rows.map((r) => r.driver_id)).toEqual(['driver-01', 'driver-11', 'driver-21']);
      for (const view of ['driver_stats', 'rider_stats', 'driver_earnings_daily']) {
        const n = (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${view}`)).rows[0]?.n;
        expect({ view, n }).toEqual({ view, n: 0 });
      }
    } finally {
      await c.end();
    }
  });
});

describe('wavegate migrate plan with WAVEGATE_SCHEMA_DIR (fake RisingWave, bookkeeping on real PostgreSQL)', () => {
  it('after the bundled views, plans exactly the new views, their index and their sinks', async () => {
    const mdb = await createPgDatabase();
    try {
      const rw = new FakeRisingWave(mdb.client);
      const migrate = async (args: string[], env: Record<string, string> = {}) => {
        let out = '';
        let err = '';
        const code = await runMigrate(args, {
          stdout: (s) => void (out += s), stderr: (s) => void (err += s), connect: async () => rw,
          env: { WAVEGATE_DATABASE_URL: 'postgres://root@risingwave:4566/dev', WAVEGATE_CDC_PASSWORD: 'pw', ...env },
        });
        return { code, out, err };
      };
      expect(await migrate(['apply'])).toMatchObject({ code: 0, err: '' });
      const plan = await migrate(['plan'], { WAVEGATE_SCHEMA_DIR: schema.dir });
      expect(plan).toMatchObject({ code: 0, err: '' });
      for (const s of ['CREATE MATERIALIZED VIEW driver_ratings AS', 'CREATE SINK driver_ratings_sink FROM driver_ratings',
        'CREATE MATERIALIZED VIEW fleet_drivers AS', 'CREATE SINK fleet_drivers_sink FROM fleet_drivers', "topic = 'view.fleet_drivers'",
        'CREATE INDEX fleet_drivers_by_fleet ON fleet_drivers']) expect(plan.out).toContain(s);
      expect(plan.out).not.toContain('CREATE MATERIALIZED VIEW trip_history');
      expect(plan.out).not.toMatch(/\bDROP\b/);
    } finally {
      await mdb.drop();
    }
  });
});
