/**
 * The abuse classes of issue 11 (items 4, 5, 10) on the RisingWave engine path: PostgreSQL stands in
 * for RisingWave's SQL (a database of this file's own) and a real Kafka broker carries the views'
 * changes (topics and consumer groups of this file's own, removed afterwards).
 * - The request deadline cancels a statement that is running on the server (pg CancelRequest), so
 *   a blocked or slow read stops there too, instead of holding a pool connection after the client
 *   got its answer.
 * - Bad input never reaches the database as a value it would reject (typed errors, no 500s).
 * - The Kafka feed's replay is read in pages, filtered as it is decoded, and stops when abandoned.
 */
import pg from 'pg';
import type { ChangeEvent } from '../../src/engine/types';
import { KafkaFeed } from '../../src/engine/risingwave/feed/kafkaFeed';
import { recordingLogger, type RecordingLogger } from '../../src/log';
import { bundledRegistry } from '../../src/views/load';
import { createPgDatabase, createRisingWaveStandIn, type PgTestDatabase } from '../conformance/databases';
import { upsertRecord } from '../fixtures/risingwave/encode';
import type { GqlResponse } from '../helpers/gateway';
import { KAFKA_BROKERS, KafkaTestClient, requireBroker, TEST_FEED_TIMEOUTS, uniquePrefix } from '../helpers/kafka';
import { replayPages } from '../helpers/replay';
import { startRwGateway, tripRow, type RwTestGateway } from '../helpers/rwGateway';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(120_000);

let kafka: KafkaTestClient;
let db: PgTestDatabase;
let prefix: string;
let g: RwTestGateway;
let log: RecordingLogger;

beforeAll(async () => {
  await requireBroker();
  kafka = await KafkaTestClient.connect();
  prefix = uniquePrefix();
  await kafka.createViewTopics(prefix, bundledRegistry().views.map((v) => v.name), 3);
  db = await createPgDatabase();
  await createRisingWaveStandIn(db);
  log = recordingLogger();
  g = await startRwGateway({
    db, brokers: KAFKA_BROKERS, topicPrefix: prefix, log,
    env: { WAVEGATE_REQUEST_TIMEOUT_MS: '1000' },
    // No server-side statement timeout: only the request deadline can end a blocked statement here.
    engine: { statementTimeoutMs: 0 },
  });
});
afterAll(async () => {
  await g?.dispose();
  await kafka?.cleanup();
  await db?.drop();
});

const codes = (r: GqlResponse<unknown>) => (r.body.errors ?? []).map((e) => e.extensions?.['code']);

describe('on the RisingWave engine path', () => {
  it('cancels a statement still running on the server when the request deadline passes (REQUEST_TIMEOUT)', async () => {
    const ops = await g.token('ops-1', 'ops');
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    try {
      // Every view reads the outbox: with it locked, the query waits in the server until cancelled.
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE');
      const r = await g.gql('{ trip(id: "x") { id } }', undefined, ops);
      expect([r.status, codes(r)]).toEqual([200, ['REQUEST_TIMEOUT']]);
      // The answer came while the lock is still held, so the server ended the statement: none of the
      // gateway's backends is left waiting on the lock.
      const { rows } = await locker.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'wavegate' AND wait_event_type = 'Lock'", [db.name]);
      expect(rows[0]!.n).toBe(0);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
    expect(await g.gql('{ trip(id: "x") { id } }', undefined, ops)).toEqual({ status: 200, body: { data: { trip: null } } });
  });

  it('refuses bad input with typed client errors before the database sees it', async () => {
    const ops = await g.token('ops-1', 'ops');
    const forged = Buffer.from(JSON.stringify({ v: 1, t: '2026-13-45 99:99:99', id: 'r1' })).toString('base64url');
    const cases: Array<[string, Promise<GqlResponse>, number, string]> = [
      ['NUL in an ID', g.gql('query($id: ID!) { trip(id: $id) { id } }', { id: 'x\u0000' }, ops), 400, 'BAD_USER_INPUT'],
      ['forged page cursor', g.gql('query($a: String) { trips(after: $a) { edges { cursor } } }', { a: forged }, ops), 200, 'BAD_USER_INPUT'],
      ['year 0000', g.gql('query($f: DateTime) { trips(from: $f) { edges { cursor } } }', { f: '0000-01-01T00:00:00Z' }, ops), 400, 'BAD_USER_INPUT'],
      ['mutation', g.gql('mutation { x }', undefined, ops), 400, 'GRAPHQL_VALIDATION_FAILED'],
      ['21 root fields', g.gql(`{ ${Array.from({ length: 21 }, (_, i) => `a${i}: trip(id: "${i}") { id }`).join(' ')} }`, undefined, ops), 400, 'QUERY_TOO_COSTLY'],
    ];
    for (const [name, pending, status, code] of cases) {
      const r = await pending;
      expect([name, r.status, codes(r)]).toEqual([name, status, [code]]);
    }
    expect(log.lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([]);
  });
});

describe('Kafka feed replay in pages', () => {
  it('pages through Kafka with the filter applied while decoding, and stops (group deleted) when abandoned', async () => {
    const own = uniquePrefix();
    const [topic] = await kafka.createViewTopics(own, ['trip_history'], 3);
    // recentLimit 0: every replay reads Kafka (no in-memory answer).
    const feed = new KafkaFeed({ brokers: KAFKA_BROKERS, ...TEST_FEED_TIMEOUTS, topicPrefix: own, views: ['trip_history'], recentLimit: 0 });
    const delivered: ChangeEvent[] = [];
    feed.subscribe((batch) => delivered.push(...batch));
    await feed.start();
    try {
      const start = feed.head();
      const rows = Array.from({ length: 60 }, (_, i) => tripRow(`kp-${i % 20}`, i, { rider_id: `rider-${i % 4}` }));
      await kafka.produce(topic!, rows.map((r) => upsertRecord('trip_history', r)));
      await waitFor(() => delivered.length === 60, 20_000);

      const pages = await replayPages(feed, 'trip_history', start, { filter: { column: 'rider_id', value: 'rider-1' }, pageSize: 4 });
      const events = pages.flat();
      // 15 of the 60 records are rider-1's; no page holds more than 4, no other rider's change is held.
      expect(events).toHaveLength(15);
      expect(events.every((e) => e.row?.['rider_id'] === 'rider-1')).toBe(true);
      expect(Math.max(...pages.map((p) => p.length))).toBeLessThanOrEqual(4);
      expect(pages.length).toBeGreaterThanOrEqual(4);

      // Abandoned after its first page: the replay's consumer leaves and its group is deleted.
      const controller = new AbortController();
      for await (const page of feed.replay({ view: 'trip_history', after: start, pageSize: 2, signal: controller.signal })) {
        expect(page.length).toBeLessThanOrEqual(2);
        controller.abort();
        break;
      }
      await waitFor(async () => !(await kafka.groupIds()).some((id) => id.startsWith(`${feed.groupId}-replay-`)), 30_000);
    } finally {
      await feed.stop();
    }
  });
});
