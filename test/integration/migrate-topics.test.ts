import { randomBytes } from 'node:crypto';
import { runMigrate } from '../../src/cli/migrate';
import { createKafkaClient, type Admin } from '../../src/kafka/client';
import { silentLogger } from '../../src/log';
import { EVENT_TYPES } from '../../src/outbox/events';
import { KAFKA_BROKERS, requireBroker } from '../helpers/kafka';
import { DRIVER_RATINGS, schemaDirWith } from '../helpers/schemaDir';

/**
 * `wavegate migrate topics [--create]` against the real broker: the sink topics come from the
 * registry of WAVEGATE_SCHEMA_DIR (a fifth view included, no change under src/), named with this
 * test's own prefixes, created with WAVEGATE_SINK_TOPIC_PARTITIONS partitions, and deleted after.
 */

const scope = `wt-views-core-${randomBytes(4).toString('hex')}`;
const env = {
  WAVEGATE_KAFKA_BROKERS: KAFKA_BROKERS.join(','),
  WAVEGATE_KAFKA_TOPIC_PREFIX: `${scope}.view.`,
  WAVEGATE_EVENT_TOPIC_PREFIX: `${scope}.events.`,
  WAVEGATE_SINK_TOPIC_PARTITIONS: '2',
};
const schema = schemaDirWith(DRIVER_RATINGS);
let admin: Admin;

async function migrate(args: string[], extra: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runMigrate(args, { stdout: (s) => void (out += s), stderr: (s) => void (err += s), env: { ...env, WAVEGATE_SCHEMA_DIR: schema.dir, ...extra } });
  return { code, out, err };
}

beforeAll(async () => {
  await requireBroker();
  admin = createKafkaClient({ brokers: KAFKA_BROKERS, log: silentLogger, clientId: 'wt-views-core-test' }).admin();
  await admin.connect();
});
afterAll(async () => {
  const mine = (await admin.listTopics()).filter((t) => t.startsWith(scope));
  if (mine.length > 0) await admin.deleteTopics({ topics: mine });
  await admin.disconnect();
  schema.remove();
});

const expected = [
  ...['driver_earnings_daily', 'driver_ratings', 'driver_stats', 'rider_stats', 'trip_history'].map((v) => `${scope}.view.${v}`),
  ...EVENT_TYPES.map((t) => `${scope}.events.${t}`),
];

describe('wavegate migrate topics', () => {
  it('prints the sink topics of the schema directory, one a line, without touching Kafka', async () => {
    const r = await migrate(['topics'], { WAVEGATE_KAFKA_BROKERS: '127.0.0.1:1' });
    expect(r).toEqual({ code: 0, out: expected.map((t) => `${t}\n`).join(''), err: '' });
  });

  it('--create makes the missing ones with the configured partitions, and leaves existing ones alone', async () => {
    const first = await migrate(['topics', '--create']);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out.split('\n').filter(Boolean)).toEqual(expected.map((t) => `${t} created (2 partitions)`));
    const meta = await admin.fetchTopicMetadata({ topics: expected });
    expect(meta.topics.map((t) => [t.name, t.partitions.length]).sort()).toEqual(expected.map((t) => [t, 2]).sort());
    const again = await migrate(['topics', '--create']);
    expect(again).toEqual({ code: 0, out: expected.map((t) => `${t} exists\n`).join(''), err: '' });
  });

  it('reports an unreachable broker with exit 69, and a bad schema directory with exit 78', async () => {
    const down = await migrate(['topics', '--create'], { WAVEGATE_KAFKA_BROKERS: '127.0.0.1:1' });
    expect(down.code).toBe(69);
    expect(down.err).toContain('wavegate migrate topics: Kafka at 127.0.0.1:1');
    const bad = await migrate(['topics'], { WAVEGATE_SCHEMA_DIR: `${schema.dir}/missing` });
    expect(bad.code).toBe(78);
    expect(bad.err).toMatch(/missing: is not a directory/);
  });
});
