/**
 * The gateway on the RisingWave engine across a Kafka broker restart, over GraphQL: PostgreSQL 15
 * stands in for RisingWave's SQL; the broker is this test's OWN (scripts/kafka.sh with its own
 * name, ports and data directory, as kafka-restart.test.ts does), so stopping it disturbs no other
 * test. Its topics, database and consumer groups go with it.
 */
import { bundledRegistry } from '../../src/views/load';
import { createPgDatabase, createRisingWaveStandIn, type PgTestDatabase } from '../conformance/databases';
import { upsertRecord } from '../fixtures/risingwave/encode';
import { KafkaTestClient, OwnBroker, requireBroker, uniquePrefix } from '../helpers/kafka';
import {
  connectAs, delivered, payloads, seqOf, startRwGateway, subscribed, TRIP_UPDATED, tripRow, type RwTestGateway, type TripChangeData,
} from '../helpers/rwGateway';
import { waitFor } from '../helpers/waitFor';
import { disposeWsClients } from '../helpers/wsClient';

jest.setTimeout(240_000);

let broker: OwnBroker;
let kafka: KafkaTestClient;
let db: PgTestDatabase;
let g: RwTestGateway;
const prefix = uniquePrefix();
const topic = `${prefix}trip_history`;

beforeAll(async () => {
  await requireBroker(); // same precondition as the other Kafka tests: the jars are fetched and a broker runs here
  broker = await OwnBroker.create();
  await broker.start();
  kafka = await KafkaTestClient.connect(broker.brokers); // its clients reconnect after the restart
  await kafka.createViewTopics(prefix, bundledRegistry().views.map((v) => v.name), 3);
  db = await createPgDatabase();
  await createRisingWaveStandIn(db);
  // recentLimit 0: a resume reads the topic from the (restarted) broker rather than the feed's memory.
  g = await startRwGateway({ db, brokers: broker.brokers, topicPrefix: prefix, feed: { recentLimit: 0 } });
}, 180_000);
afterAll(async () => {
  await disposeWsClients();
  await g?.dispose();
  await kafka?.cleanup().catch(() => undefined);
  await broker?.dispose();
  await db?.drop();
}, 60_000);

const KEYS = 13;

/** Per trip, the seqs in arrival order. */
function perTrip(ds: readonly TripChangeData[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const d of ds) {
    const id = d.tripUpdated.tripId!;
    out.set(id, [...(out.get(id) ?? []), seqOf(d.tripUpdated.trip!)]);
  }
  return out;
}

/** Per trip, the seqs produced (`seq % KEYS` picks the trip), in order. */
function expected(total: number): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (let seq = 0; seq < total; seq++) {
    const id = `rr-${seq % KEYS}`;
    out.set(id, [...(out.get(id) ?? []), seq]);
  }
  return out;
}

describe('gateway on the risingwave engine across a Kafka broker restart (PostgreSQL standing in for RisingWave, own broker)', () => {
  it('resumes subscribers with their last cursor after the broker stops mid-stream: every change, in order per key, none twice', async () => {
    let seq = 0;
    const batch = (n: number) => Array.from({ length: n }, () => upsertRecord('trip_history', tripRow(`rr-${seq % KEYS}`, seq++, { rider_id: 'rider-r' })));
    // One subscriber stays connected through the outage; the other leaves mid-stream and resumes later.
    const steadyClient = await connectAs(g, 'ops-steady', 'ops');
    const steady = await subscribed(g, steadyClient, TRIP_UPDATED, { riderId: 'rider-r' });
    const leaving = await connectAs(g, 'rider-r', 'rider');
    const first = await subscribed(g, leaving, TRIP_UPDATED);
    await waitFor(async () => (await g.readyz()).status === 200, 20_000);

    await kafka.produce(topic, batch(75));
    await waitFor(() => first.events.length === 75, 15_000);
    await leaving.dispose(); // mid-stream: it misses the next 75 and everything during and after the outage
    const before = payloads(first);
    const cursor = before.at(-1)!.tripUpdated.cursor;
    await kafka.produce(topic, batch(75));
    await waitFor(() => steady.events.length === 150, 15_000);

    await broker.stop();
    const down = await waitFor(async () => {
      const r = await g.readyz();
      return r.status === 503 ? r : undefined;
    }, 30_000, 100);
    expect(down!.body).toEqual({ status: 'unavailable', reason: expect.stringMatching(/^change feed not ready: (Kafka feed is \w+|no contact with Kafka for \d+ ms)$/) });

    await broker.start(true);
    // Produced as soon as the broker is back, while the feed is still reconnecting: were it to resume
    // "at the latest offset" after rejoining, these would be skipped.
    const placed = await kafka.produce(topic, batch(150));
    await waitFor(async () => (await g.readyz()).status === 200, 90_000, 200);
    await delivered(g, topic, placed, 60_000);

    // The steady subscriber got all 300 once each, in order per trip.
    await waitFor(() => steady.events.length >= 300, 30_000);
    expect(perTrip(payloads(steady))).toEqual(expected(300));

    // The leaver resumes with its last cursor: the 225 it missed, read back from the restarted broker.
    const back = await connectAs(g, 'rider-r', 'rider');
    const resumed = await subscribed(g, back, TRIP_UPDATED, { after: cursor });
    await waitFor(() => resumed.events.length >= 225, 30_000);
    expect(perTrip([...before, ...payloads(resumed)])).toEqual(expected(300));
    expect(g.rw.feed.state.phase).toBe('running');
    // Live changes keep coming after the replay.
    await kafka.produce(topic, batch(1));
    await waitFor(() => resumed.events.length === 226 && steady.events.length === 301, 15_000);
    await back.dispose();
    await steadyClient.dispose();
  });
});
