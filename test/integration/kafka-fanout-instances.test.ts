/**
 * Two gateway instances on one Kafka broker (PostgreSQL standing in for RisingWave's SQL, the upsert
 * sink stood in for by a producer): each instance's KafkaFeed is a consumer group of its own, so each
 * reads every record and delivers every change to its own subscribers (shared groups and riders
 * alike); and each reports where fan-out time goes on /metrics (`wavegate_fanout_leg_seconds`).
 */
import { bundledRegistry } from '../../src/views/load';
import { createPgDatabase, createRisingWaveStandIn, type PgTestDatabase } from '../conformance/databases';
import { upsertRecord } from '../fixtures/risingwave/encode';
import { KAFKA_BROKERS, KafkaTestClient, requireBroker, uniquePrefix } from '../helpers/kafka';
import { connectAs, delivered, payloads, seqOf, startRwGateway, subscribed, TRIP_UPDATED, tripRow, type RwTestGateway, type TripChangeData } from '../helpers/rwGateway';
import { waitFor } from '../helpers/waitFor';
import { disposeWsClients } from '../helpers/wsClient';

jest.setTimeout(120_000);

let kafka: KafkaTestClient;
let db: PgTestDatabase;
let prefix: string;
let g1: RwTestGateway;
let g2: RwTestGateway;

beforeAll(async () => {
  await requireBroker();
  kafka = await KafkaTestClient.connect();
  prefix = uniquePrefix();
  await kafka.createViewTopics(prefix, bundledRegistry().views.map((v) => v.name), 3);
  db = await createPgDatabase();
  await createRisingWaveStandIn(db);
  [g1, g2] = await Promise.all([
    startRwGateway({ db, brokers: KAFKA_BROKERS, topicPrefix: prefix }),
    startRwGateway({ db, brokers: KAFKA_BROKERS, topicPrefix: prefix }),
  ]);
});
afterAll(async () => {
  await disposeWsClients();
  await g1?.dispose();
  await g2?.dispose();
  await kafka?.cleanup();
  await db?.drop();
});

/** `tripId:seq` of each payload. */
const seqs = (ds: readonly TripChangeData[]) => ds.map((d) => `${d.tripUpdated.tripId}:${seqOf(d.tripUpdated.trip!)}`);

describe('two gateway instances on one broker', () => {
  it('each delivers every change to its own subscribers (its own consumer group)', async () => {
    expect(g1.rw.feed.groupId).not.toBe(g2.rw.feed.groupId);
    const clients = await Promise.all([
      connectAs(g1, 'ops-i1', 'ops'), connectAs(g1, 'ops-i1b', 'ops'), connectAs(g1, 'rider-i', 'rider'),
      connectAs(g2, 'ops-i2', 'ops'), connectAs(g2, 'rider-i', 'rider'),
    ]);
    const [o1, o1b, r1, o2, r2] = clients;
    const subs = {
      o1: await subscribed(g1, o1!, TRIP_UPDATED, { riderId: 'rider-i' }),
      o1b: await subscribed(g1, o1b!, TRIP_UPDATED, { riderId: 'rider-i' }), // same group as o1 on g1
      r1: await subscribed(g1, r1!, TRIP_UPDATED),
      o2: await subscribed(g2, o2!, TRIP_UPDATED, { riderId: 'rider-i' }),
      r2: await subscribed(g2, r2!, TRIP_UPDATED),
    };
    const topic = `${prefix}trip_history`;
    const rows = Array.from({ length: 60 }, (_, i) => tripRow(`inst-${i % 6}`, i, { rider_id: 'rider-i' }));
    const placed = await kafka.produce(topic, rows.map((r) => upsertRecord('trip_history', r)));
    await Promise.all([delivered(g1, topic, placed), delivered(g2, topic, placed)]);
    await waitFor(() => Object.values(subs).every((s) => s.events.length >= rows.length));
    // Per trip in produce order (a partition keeps a key's order).
    const expected = rows.map((r) => `${String(r['trip_id'])}:${seqOf({ updatedAt: String(r['updated_at']) })}`);
    const byTrip = (xs: string[]) => [...xs].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    for (const s of Object.values(subs)) {
      const got = payloads(s);
      expect(got).toHaveLength(rows.length);
      expect(byTrip(seqs(got))).toEqual(byTrip(expected));
    }
    // Where the time went, per leg, on each instance's /metrics (observed per batch or per group).
    for (const g of [g1, g2]) {
      const text = await (await fetch(new URL('/metrics', g.url))).text();
      const counts = new Map([...text.matchAll(/^wavegate_fanout_leg_seconds_count\{leg="(\w+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
      for (const leg of ['fetch', 'decode', 'hub', 'execute', 'write']) expect([leg, (counts.get(leg) ?? 0) > 0]).toEqual([leg, true]);
    }
    await Promise.all(clients.map((c) => c.dispose()));
  });
});
