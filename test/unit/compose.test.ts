/**
 * docker-compose.yml and the Dockerfile cannot be run here (no Docker engine), so this checks their
 * wiring statically against the code they configure: every service's environment is parsed by the
 * same function that parses it at start, every topic the stack reads or writes is created up front,
 * and RisingWave reads exactly the databases the services write.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseMainEnv } from '../../examples/ride-hailing/src/main';
import { SERVICE_NAMES } from '../../examples/ride-hailing/src/service';
import { loadConfig } from '../../src/config/load';
import { generateDdl } from '../../src/engine/risingwave/ddl';
import { deadLetterTopic, eventTopic, viewTopic } from '../../src/kafka/topics';
import { loadRisingWaveSettings } from '../../src/engine/risingwave/settings';
import { EVENT_TYPES } from '../../src/outbox/events';
import { sinkTopics } from '../../src/cli/migrate';
import { loadViews } from '../../src/config/views';
import { bundledRegistry } from '../../src/views/load';

interface ComposeService {
  image?: string;
  profiles?: string[];
  build?: string | { context: string; target?: string };
  command?: string | string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}

const root = join(__dirname, '..', '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  configs?: Record<string, { content?: string }>;
};
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

function service(name: string): ComposeService {
  const s = compose.services[name];
  if (s === undefined) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
}

/** A service's environment as compose would pass it with nothing set in the shell: `${X:-d}` → d. */
function env(name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(service(name).environment ?? {})) {
    out[k] = String(v).replace(/\$\{([A-Z_]+)(?::([-?])([^}]*))?\}/g, (_m, _n: string, op?: string, arg?: string) =>
      op === '-' ? (arg ?? '') : op === '?' ? 'a-value-the-user-must-set-0123456789abcdef' : '');
  }
  return out;
}

const commandText = (s: ComposeService) => (Array.isArray(s.command) ? s.command.join('\n') : s.command ?? '');
const EXAMPLE_SERVICES = [...SERVICE_NAMES, 'traffic'];

describe('docker-compose.yml (checked statically: no Docker engine here)', () => {
  it('takes every event of the full stack from the example services: the simulator runs only with the embedded gateway', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (name === 'wavegate') continue;
      expect([name, s.profiles]).toEqual([name, undefined]);
      expect([name, commandText(s)]).not.toEqual([name, expect.stringContaining('simulate')]);
      expect([name, s.environment?.['WAVEGATE_SIMULATE'] ?? 'off']).toEqual([name, 'off']);
    }
    expect(service('wavegate')).toMatchObject({ profiles: ['embedded'], environment: { WAVEGATE_ENGINE: 'embedded', WAVEGATE_SIMULATE: 'on' } });
  });

  it('gives each service its own database and user, and RisingWave reads exactly those databases', () => {
    const databases = SERVICE_NAMES.map((name) => {
      const url = new URL(env(name)['MYSQL_URL'] ?? '');
      expect([name, url.username, url.hostname]).toEqual([name, name, 'mysql']);
      return url.pathname.slice(1);
    });
    expect(databases).toEqual([...SERVICE_NAMES]);
    expect(env('mysql')['SERVICE_DATABASES']?.split(' ')).toEqual(databases);
    expect(loadRisingWaveSettings(env('wavegate-migrate')).source.databases).toEqual(databases);
  });

  it('starts every example service with an environment its own parser accepts', () => {
    for (const name of EXAMPLE_SERVICES) {
      const s = service(name);
      expect([name, s.build]).toEqual([name, { context: '.', target: 'services' }]);
      expect(parseMainEnv(env(name))).toMatchObject({ service: name });
    }
    expect(parseMainEnv(env('traffic'))).toMatchObject({ rideUrl: 'http://ride:8080' });
    expect(service('traffic').depends_on).toMatchObject({ ride: expect.anything(), 'wavegate-migrate': { condition: 'service_completed_successfully' } });
  });

  it('loads the gateway and migrate settings the same way `serve` and `migrate` do', () => {
    expect(loadConfig(env('wavegate-rw'))).toMatchObject({ engine: 'risingwave' });
    const rw = loadRisingWaveSettings(env('wavegate-migrate'));
    expect(rw.sink.brokers).toBe('kafka:9092');
    expect(rw.source).toMatchObject({ dialect: 'mysql', host: 'mysql', user: 'rw_cdc' });
  });

  it('creates every topic the sinks write and the services read or dead-letter to, before anything uses them', () => {
    // The sinks' topics come from `wavegate migrate topics --create` over the same registry migrate uses.
    const topicsJob = service('kafka-topics');
    expect(topicsJob.command).toEqual(['node', 'bin/wavegate.js', 'migrate', 'topics', '--create']);
    expect(topicsJob.build).toBe('.');
    const topicSettings = loadRisingWaveSettings(env('kafka-topics'));
    expect(topicSettings.sink.topicPartitions).toBe(3);
    const created = new Set([
      ...sinkTopics(loadViews(env('kafka-topics')), topicSettings.sink.viewTopicPrefix),
      ...(commandText(service('kafka-dlq-topics')).match(/\bdlq\.[A-Za-z_]+/g) ?? []),
    ]);
    const migrate = env('wavegate-migrate');
    const sinkTopicsOfDdl = generateDdl({ ...loadRisingWaveSettings(migrate), views: loadViews(migrate).views })
      .flatMap((o) => [...o.create.matchAll(/topic = '([^']+)'/g)].map((m) => m[1]));
    expect(sinkTopicsOfDdl.sort()).toEqual([...bundledRegistry().views.map((v) => viewTopic(v.name)), ...EVENT_TYPES.map((t) => eventTopic(t))].sort());
    for (const topic of [...sinkTopicsOfDdl, ...SERVICE_NAMES.map((s) => deadLetterTopic(s))]) expect([topic, created.has(topic ?? '')]).toEqual([topic, true]);
    for (const dependent of [...SERVICE_NAMES, 'wavegate-migrate']) {
      expect([dependent, service(dependent).depends_on?.['kafka-topics']]).toEqual([dependent, { condition: 'service_completed_successfully' }]);
    }
  });

  it('keeps RisingWave\'s, MySQL\'s and Kafka\'s state on named volumes, so they survive together (RisingWave holds binlog positions and writes topics)', () => {
    /** The named volume mounted at `target` in `name`, if one is declared at the top level. */
    const namedVolumeAt = (name: string, target: string | undefined) => (service(name).volumes ?? [])
      .map((v) => v.split(':'))
      .find(([source, at]) => at === target && source !== undefined && !source.startsWith('.') && !source.startsWith('/') && source in (compose.volumes ?? {}))?.[0];
    // single_node stores state_store/ and meta_store/single_node.db under RW_SINGLE_NODE_STORE_DIRECTORY
    // (https://github.com/risingwavelabs/risingwave/blob/v3.0.3/src/cmd_all/src/single_node.rs).
    const rwDir = env('risingwave')['RW_SINGLE_NODE_STORE_DIRECTORY'];
    expect(rwDir).toBe('/risingwave-data');
    expect(namedVolumeAt('risingwave', rwDir)).toBe('risingwave-data');
    expect(namedVolumeAt('mysql', '/var/lib/mysql')).toBe('mysql-data');
    const kafkaDir = env('kafka')['KAFKA_LOG_DIRS'];
    expect(kafkaDir).toBe('/var/lib/kafka/data');
    expect(namedVolumeAt('kafka', kafkaDir)).toBe('kafka-data');
  });

  it('creates the CDC user with mysql_native_password on a MySQL 8.0 image (RisingWave 3.0.x cannot retrieve the RSA key caching_sha2_password needs)', () => {
    expect(service('mysql').image).toBe('mysql:8.0');
    const user = compose.configs?.['mysql-cdc-user']?.content ?? '';
    expect(user).toContain("CREATE USER 'rw_cdc'@'%' IDENTIFIED WITH mysql_native_password BY 'rw_cdc_pw';");
    expect(user).toContain("GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'rw_cdc'@'%';");
    // ...with the password migrate and doctor are given.
    expect(loadRisingWaveSettings(env('wavegate-migrate')).source).toMatchObject({ user: 'rw_cdc', password: 'rw_cdc_pw' });
  });

  it('mounts only files that exist, and the Dockerfile has the services stage compose builds', () => {
    for (const s of Object.values(compose.services)) {
      for (const v of s.volumes ?? []) {
        const host = v.split(':')[0] ?? '';
        if (host.startsWith('./')) expect([host, existsSync(join(root, host))]).toEqual([host, true]);
      }
    }
    expect(dockerfile).toMatch(/^FROM deps AS services$/m);
    expect(dockerfile).toContain('CMD ["node", "-r", "./examples/ride-hailing/register.js", "examples/ride-hailing/src/main.ts"]');
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of (m[1] ?? '').split(' ')) expect([src, existsSync(join(root, src))]).toEqual([src, true]);
    }
    // The default target (the last stage) stays the gateway.
    expect(dockerfile.trimEnd().split('\n').at(-1)).toBe('CMD ["node", "bin/wavegate.js", "serve"]');
  });
});
