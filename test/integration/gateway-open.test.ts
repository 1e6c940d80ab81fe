/**
 * startGateway without an engine opens the configured one through openEngine (src/engine/open.ts)
 * and closes it after its own shutdown: on the embedded engine, and on the RisingWave engine with
 * its Kafka feed (PostgreSQL standing in for RisingWave's SQL, a real broker; this file's topics,
 * database and consumer group are its own and removed afterwards).
 */
import { loadConfig } from '../../src/config/load';
import { GatewayErrorCode } from '../../src/errors';
import { startGateway } from '../../src/gateway';
import { silentLogger } from '../../src/log';
import { bundledRegistry } from '../../src/views/load';
import { createPgDatabase, createRisingWaveStandIn, type PgTestDatabase } from '../conformance/databases';
import { upsertRecord } from '../fixtures/risingwave/encode';
import { gqlRequest, rideEvents, testConfig } from '../helpers/gateway';
import { KAFKA_BROKERS, KafkaTestClient, requireBroker, uniquePrefix } from '../helpers/kafka';
import { tripRow, writeUpstream } from '../helpers/rwGateway';
import { signToken } from '../../src/auth/token';
import { TEST_SECRET } from '../helpers/tokens';
import { waitFor } from '../helpers/waitFor';
import { connectWs, disposeWsClients } from '../helpers/wsClient';

jest.setTimeout(120_000);

afterAll(async () => {
  await disposeWsClients();
});

it('opens the embedded engine when given none, and closes it on stop', async () => {
  const gateway = await startGateway(testConfig(), { log: silentLogger });
  try {
    expect(gateway.engine.kind).toBe('embedded');
    const res = await gqlRequest(gateway.url, '{ trips(first: 1) { edges { node { id } } } }', undefined, await signToken(TEST_SECRET, { sub: 'ops-1', role: 'ops' }, 60));
    expect(res).toEqual({ status: 200, body: { data: { trips: { edges: [] } } } });
  } finally {
    await gateway.stop();
  }
  await expect(gateway.engine.query('SELECT 1')).rejects.toMatchObject({ code: GatewayErrorCode.ENGINE_UNAVAILABLE });
});

describe('on the risingwave engine', () => {
  let kafka: KafkaTestClient;
  let db: PgTestDatabase;
  let prefix: string;

  beforeAll(async () => {
    await requireBroker();
    kafka = await KafkaTestClient.connect();
    prefix = uniquePrefix();
    await kafka.createViewTopics(prefix, bundledRegistry().views.map((v) => v.name), 1);
    db = await createPgDatabase();
    await createRisingWaveStandIn(db);
  });
  afterAll(async () => {
    await kafka?.cleanup();
    await db?.drop();
  });

  it('opens the engine with its Kafka feed when given none, serves queries and subscriptions from them, and closes both on stop', async () => {
    const config = loadConfig({
      WAVEGATE_ENGINE: 'risingwave', WAVEGATE_DATABASE_URL: db.url, WAVEGATE_KAFKA_BROKERS: KAFKA_BROKERS.join(','),
      WAVEGATE_KAFKA_TOPIC_PREFIX: prefix, WAVEGATE_PORT: '0', WAVEGATE_JWT_SECRET: TEST_SECRET, WAVEGATE_LOG_LEVEL: 'silent',
    });
    const gateway = await startGateway(config, { log: silentLogger });
    try {
      expect(gateway.engine.kind).toBe('risingwave');
      const ops = await signToken(TEST_SECRET, { sub: 'ops-1', role: 'ops' }, 300);
      await writeUpstream(db, rideEvents({ id: 'opened-1', rider: 'rider-1' }));
      expect(await gqlRequest(gateway.url, '{ trip(id: "opened-1") { id } }', undefined, ops)).toEqual({ status: 200, body: { data: { trip: { id: 'opened-1' } } } });
      const ws = connectWs(gateway.url.replace(/^http/, 'ws'), { authorization: `Bearer ${ops}` });
      await ws.connected;
      const sub = ws.subscribe<{ tripUpdated: { tripId: string } }>('subscription { tripUpdated { tripId } }');
      await waitFor(() => gateway.hub.size === 1);
      await kafka.produce(`${prefix}trip_history`, [upsertRecord('trip_history', tripRow('opened-2', 1))]);
      expect((await sub.next(30_000)).data).toEqual({ tripUpdated: { tripId: 'opened-2' } });
    } finally {
      await gateway.stop();
    }
    expect(gateway.engine.feed.status()).toMatchObject({ ready: false, detail: 'Kafka feed is stopped' });
    await expect(gateway.engine.query('SELECT 1')).rejects.toMatchObject({ code: GatewayErrorCode.ENGINE_UNAVAILABLE });
  });
});
