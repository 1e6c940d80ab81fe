/**
 * Snapshot then live on the RisingWave engine, in the order RisingWave's Kafka sink really allows:
 * a change reaches Kafka (and the gateway's feed) BEFORE a batch read can see it, because the sink
 * writes it as soon as the view emits it while reads see only committed epochs (docs/SUBSCRIPTIONS.md §3).
 *
 * Stand-ins: the fake RisingWave frontend (test/conformance/fakeRisingWaveServer.ts) in front of a
 * PostgreSQL database, where "not yet committed for reads" is an open transaction holding the
 * change and "FLUSH commits the epoch" is the fake's FLUSH committing it; a real Kafka broker with
 * the upsert sink's bytes (test/fixtures/risingwave/encode.ts); the gateway as `serve` runs it.
 */
import pg from 'pg';
import { writeEvents } from '../../src/outbox/writer';
import { normalizeRow } from '../../src/views/normalize';
import { bundledRegistry } from '../../src/views/load';
import { viewNamed } from '../../src/views/find';
import type { Row } from '../../src/views/model';
import { createPgDatabase, createRisingWaveStandIn, pgExecutor, writeUpstream, type PgTestDatabase } from '../conformance/databases';
import { FakeRisingWaveServer } from '../conformance/fakeRisingWaveServer';
import { upsertRecord } from '../fixtures/risingwave/encode';
import { rideEvents } from '../helpers/gateway';
import { KAFKA_BROKERS, KafkaTestClient, requireBroker, uniquePrefix } from '../helpers/kafka';
import { connectAs, delivered, payloads, startRwGateway, subscribed, TRIP_UPDATED, tripRowOf, type RwTestGateway, type TripChangeData } from '../helpers/rwGateway';
import { waitFor } from '../helpers/waitFor';
import { disposeWsClients } from '../helpers/wsClient';

jest.setTimeout(120_000);

let kafka: KafkaTestClient;
let db: PgTestDatabase;
let fake: FakeRisingWaveServer;
let topic: string;
let g: RwTestGateway;
const RIDER = 'rider-handoff';
const at = (m: number) => new Date(Date.UTC(2026, 9, 8, 9, m));

beforeAll(async () => {
  await requireBroker();
  kafka = await KafkaTestClient.connect();
  const prefix = uniquePrefix();
  topic = `${prefix}trip_history`;
  await kafka.createViewTopics(prefix, bundledRegistry().views.map((v) => v.name), 3);
  db = await createPgDatabase();
  await createRisingWaveStandIn(db);
  fake = await FakeRisingWaveServer.start({ pgUrl: db.url });
  g = await startRwGateway({ db, brokers: KAFKA_BROKERS, topicPrefix: prefix, env: { WAVEGATE_DATABASE_URL: fake.url() } });
});
afterAll(async () => {
  await disposeWsClients();
  await g?.dispose();
  await fake?.close();
  await kafka?.cleanup();
  await db?.drop();
});

/**
 * Writes a ride upstream in a transaction left open (the epoch not committed yet), produces its
 * trip_history row to Kafka as the sink would, and waits until the feed delivered it. Returns the
 * commit (what RisingWave's FLUSH does for it).
 */
async function deliveredBeforeCommitted(id: string, minute: number): Promise<() => Promise<void>> {
  const tx = new pg.Client({ connectionString: db.url });
  await tx.connect();
  await tx.query('BEGIN');
  await writeEvents(pgExecutor(tx), rideEvents({ id, rider: RIDER, requestedAt: at(minute), steps: [] }));
  const { rows: [raw] } = await tx.query('SELECT * FROM trip_history WHERE trip_id = $1', [id]);
  const row: Row = normalizeRow(viewNamed(bundledRegistry(), 'trip_history'), raw as Record<string, unknown>);
  await delivered(g, topic, await kafka.produce(topic, [upsertRecord('trip_history', row)]));
  return async () => {
    await tx.query('COMMIT');
    await tx.end();
  };
}

type Page = { trips: { edges: Array<{ node: { id: string } }>; feedCursor?: string } };

describe('snapshot then live on the RisingWave engine (fake RisingWave frontend on PostgreSQL, real Kafka)', () => {
  it('a page with feedCursor FLUSHes first: a change the feed delivered before it committed is in the rows, and not replayed after the cursor', async () => {
    const token = await g.token(RIDER, 'rider');
    // Without feedCursor there is no FLUSH, and the read shows what RisingWave would show: the change
    // the feed already holds is not there yet. A cursor taken then would cover a change the rows lack.
    const commitEarly = await deliveredBeforeCommitted('handoff-0', 0);
    const flushes = fake.flushes;
    const plain = await g.gql<Page>('{ trips(first: 50) { edges { node { id } } } }', undefined, token);
    expect(plain.body.errors).toBeUndefined();
    expect(plain.body.data!.trips.edges.map((e) => e.node.id)).toEqual([]);
    expect(fake.flushes).toBe(flushes);
    await commitEarly();

    const commit = await deliveredBeforeCommitted('handoff-1', 1);
    fake.onFlush = commit;
    try {
      const page = await g.gql<Page>('{ trips(first: 50) { edges { node { id } } feedCursor } }', undefined, token);
      expect(page.body.errors).toBeUndefined();
      expect(page.body.data!.trips.edges.map((e) => e.node.id)).toEqual(['handoff-1', 'handoff-0']);
      expect(fake.flushes).toBe(flushes + 1);

      // Resume after the cursor: handoff-1 (covered by it) does not come again; a later change does.
      const c = await connectAs(g, RIDER, 'rider');
      const sub = await subscribed(g, c, TRIP_UPDATED, { after: page.body.data!.trips.feedCursor });
      await writeUpstream(db, rideEvents({ id: 'handoff-2', rider: RIDER, requestedAt: at(2), steps: [] }));
      await delivered(g, topic, await kafka.produce(topic, [upsertRecord('trip_history', await tripRowOf(g.rw, 'handoff-2'))]));
      await waitFor(() => sub.events.length === 1, 10_000);
      expect(payloads<TripChangeData>(sub).map((d) => d.tripUpdated.tripId)).toEqual(['handoff-2']);
      await c.dispose();
    } finally {
      fake.onFlush = async () => undefined;
    }
  });

  it('a fragment asking for feedCursor counts too', async () => {
    const token = await g.token(RIDER, 'rider');
    const flushes = fake.flushes;
    const res = await g.gql<Page>('query { trips(first: 1) { ...Resume } } fragment Resume on TripConnection { feedCursor }', undefined, token);
    expect(res.body.errors).toBeUndefined();
    expect(typeof res.body.data!.trips.feedCursor).toBe('string');
    expect(fake.flushes).toBe(flushes + 1);
  });
});
