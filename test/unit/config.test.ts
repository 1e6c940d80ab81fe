import { originAllowed } from '../../src/config/cors';
import { loadConfig } from '../../src/config/load';
import { GatewayErrorCode, isGatewayError } from '../../src/errors';

const SECRET = 'x'.repeat(32);

/** The BAD_CONFIG message loadConfig throws for `env` (fails the test if it does not throw one). */
function badConfig(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    if (!isGatewayError(err, GatewayErrorCode.BAD_CONFIG)) throw err;
    return err.message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('defaults to the embedded demo: local port 4000, simulator on, generated secret', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 4000,
      engine: 'embedded',
      changeRetention: 100_000,
      logLevel: 'info',
      auth: { enabled: true, secretGenerated: true },
      simulator: { enabled: true, ridesPerSecond: 2, riders: 200, drivers: 50, pace: 1 },
      limits: {
        maxDepth: 10, maxCost: 10_000, maxBodyBytes: 102_400, maxPageSize: 100, maxTokens: 5_000, maxAliases: 30, maxRootFields: 20,
        requestTimeoutMs: 10_000, queryConcurrency: 1, viewerQueryConcurrency: 2, viewerQueueLimit: 200,
      },
      subscriptions: {
        queueLimit: 1_000, conflateLimit: 10_000, maxPerSocket: 100, maxSocketsPerSubject: 20,
        replayPageSize: 500, maxReplays: 16, maxReplaysPerSubject: 4, maxReplaysPerSocket: 2,
      },
      kafka: { brokers: [], topicPrefix: 'view.' },
    });
    expect(c.auth.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(c.dataDir).toBeUndefined();
    expect(c.databaseUrl).toBeUndefined();
    expect(c.simulator.seed).toBeUndefined();
    expect(loadConfig({}).auth.secret).not.toBe(c.auth.secret);
  });

  it('reads every variable', () => {
    const c = loadConfig({
      WAVEGATE_PORT: '0', WAVEGATE_HOST: '0.0.0.0', WAVEGATE_DATA_DIR: '/tmp/wg', WAVEGATE_CHANGE_RETENTION: '500',
      WAVEGATE_JWT_SECRET: SECRET, WAVEGATE_JWT_ISSUER: 'iss', WAVEGATE_JWT_AUDIENCE: 'aud',
      WAVEGATE_SIMULATE: 'off', WAVEGATE_SIM_RATE: '0.5', WAVEGATE_SIM_RIDERS: '10', WAVEGATE_SIM_DRIVERS: '3',
      WAVEGATE_SIM_SEED: '99', WAVEGATE_MAX_DEPTH: '5', WAVEGATE_MAX_COST: '500', WAVEGATE_MAX_BODY_BYTES: '2048',
      WAVEGATE_SUB_QUEUE_LIMIT: '10', WAVEGATE_LOG_LEVEL: 'silent',
      WAVEGATE_MAX_TOKENS: '800', WAVEGATE_MAX_ALIASES: '4', WAVEGATE_MAX_ROOT_FIELDS: '3', WAVEGATE_REQUEST_TIMEOUT_MS: '2500',
      WAVEGATE_QUERY_CONCURRENCY: '3', WAVEGATE_VIEWER_QUERY_CONCURRENCY: '1', WAVEGATE_VIEWER_QUEUE_LIMIT: '9',
      WAVEGATE_MAX_SUBSCRIPTIONS_PER_SOCKET: '7', WAVEGATE_MAX_SOCKETS_PER_SUBJECT: '2', WAVEGATE_REPLAY_PAGE_SIZE: '50',
      WAVEGATE_MAX_REPLAYS: '5', WAVEGATE_MAX_REPLAYS_PER_SUBJECT: '3', WAVEGATE_MAX_REPLAYS_PER_SOCKET: '1',
      WAVEGATE_KAFKA_BROKERS: 'kafka-1:9092, 10.0.0.7:29092,,[::1]:9093', WAVEGATE_KAFKA_TOPIC_PREFIX: 'prod.view.',
    });
    expect(c).toMatchObject({
      port: 0, host: '0.0.0.0', dataDir: '/tmp/wg', changeRetention: 500, logLevel: 'silent',
      auth: { enabled: true, secret: SECRET, secretGenerated: false, issuer: 'iss', audience: 'aud' },
      simulator: { enabled: false, ridesPerSecond: 0.5, riders: 10, drivers: 3, seed: 99 },
      limits: {
        maxDepth: 5, maxCost: 500, maxBodyBytes: 2048, maxTokens: 800, maxAliases: 4, maxRootFields: 3, requestTimeoutMs: 2500,
        queryConcurrency: 3, viewerQueryConcurrency: 1, viewerQueueLimit: 9,
      },
      subscriptions: {
        queueLimit: 10, maxPerSocket: 7, maxSocketsPerSubject: 2, replayPageSize: 50, maxReplays: 5, maxReplaysPerSubject: 3, maxReplaysPerSocket: 1,
      },
      kafka: { brokers: ['kafka-1:9092', '10.0.0.7:29092', '[::1]:9093'], topicPrefix: 'prod.view.' },
    });
  });

  it('takes a JWKS URL instead of a secret, and generates nothing', () => {
    const c = loadConfig({ WAVEGATE_JWKS_URL: 'https://idp.example/jwks.json' });
    expect(c.auth).toEqual({ enabled: true, secretGenerated: false, jwksUrl: 'https://idp.example/jwks.json' });
  });

  it('runs without a key when auth is off', () => {
    expect(loadConfig({ WAVEGATE_AUTH: 'off' }).auth).toEqual({ enabled: false, secretGenerated: false });
  });

  it('turns the simulator off by default on RisingWave, and reads the feed\'s brokers', () => {
    const c = loadConfig({ WAVEGATE_ENGINE: 'risingwave', WAVEGATE_DATABASE_URL: 'postgres://root@rw:4566/dev', WAVEGATE_JWT_SECRET: SECRET, WAVEGATE_KAFKA_BROKERS: 'kafka:9092' });
    expect(c).toMatchObject({
      engine: 'risingwave', databaseUrl: 'postgres://root@rw:4566/dev', simulator: { enabled: false },
      kafka: { brokers: ['kafka:9092'], topicPrefix: 'view.' },
      // RisingWave runs statements in parallel (PGlite one at a time): more engine queries at once by default.
      limits: { queryConcurrency: 8 },
    });
  });

  it.each([
    ['WAVEGATE_PORT', '65536'],
    ['WAVEGATE_PORT', 'http'],
    ['WAVEGATE_PORT', '80.5'],
    ['WAVEGATE_ENGINE', 'postgres'],
    ['WAVEGATE_CHANGE_RETENTION', '10'],
    ['WAVEGATE_AUTH', 'maybe'],
    ['WAVEGATE_SIMULATE', 'sometimes'],
    ['WAVEGATE_SIM_RATE', '0'],
    ['WAVEGATE_SIM_RATE', 'fast'],
    ['WAVEGATE_SIM_RIDERS', '0'],
    ['WAVEGATE_SIM_DRIVERS', '-1'],
    ['WAVEGATE_SIM_SEED', '1.5'],
    ['WAVEGATE_MAX_DEPTH', '1'],
    ['WAVEGATE_MAX_COST', '1e9'],
    ['WAVEGATE_MAX_BODY_BYTES', '10'],
    ['WAVEGATE_SUB_QUEUE_LIMIT', '0'],
    ['WAVEGATE_MAX_TOKENS', '99'],
    ['WAVEGATE_MAX_ALIASES', '-1'],
    ['WAVEGATE_MAX_ROOT_FIELDS', '0'],
    ['WAVEGATE_REQUEST_TIMEOUT_MS', '5s'],
    ['WAVEGATE_QUERY_CONCURRENCY', '0'],
    ['WAVEGATE_VIEWER_QUERY_CONCURRENCY', '0'],
    ['WAVEGATE_VIEWER_QUEUE_LIMIT', '0'],
    ['WAVEGATE_MAX_SUBSCRIPTIONS_PER_SOCKET', '0'],
    ['WAVEGATE_MAX_SOCKETS_PER_SUBJECT', 'many'],
    ['WAVEGATE_REPLAY_PAGE_SIZE', '0'],
    ['WAVEGATE_MAX_REPLAYS', '0'],
    ['WAVEGATE_MAX_REPLAYS_PER_SUBJECT', '1.5'],
    ['WAVEGATE_MAX_REPLAYS_PER_SOCKET', '0'],
    ['WAVEGATE_LOG_LEVEL', 'verbose'],
    ['WAVEGATE_JWKS_URL', 'ftp://idp.example/jwks'],
    ['WAVEGATE_KAFKA_BROKERS', 'kafka'],
    ['WAVEGATE_KAFKA_BROKERS', 'kafka:9092,kafka:0'],
    ['WAVEGATE_KAFKA_BROKERS', 'kafka:99999'],
    ['WAVEGATE_KAFKA_BROKERS', 'PLAINTEXT://kafka:9092'],
    ['WAVEGATE_KAFKA_TOPIC_PREFIX', 'view/'],
    ['WAVEGATE_KAFKA_TOPIC_PREFIX', 'view prefix'],
    ['WAVEGATE_CORS_ORIGINS', 'https://app.example.com/'],
    ['WAVEGATE_CORS_ORIGINS', 'https://app.example.com/path'],
    ['WAVEGATE_CORS_ORIGINS', 'app.example.com'],
    ['WAVEGATE_CORS_ORIGINS', 'https://App.example.com'],
    ['WAVEGATE_CORS_ORIGINS', 'https://app.example.com:443'],
    ['WAVEGATE_CORS_ORIGINS', 'ftp://files.example.com'],
    ['WAVEGATE_CORS_ORIGINS', 'null'],
    ['WAVEGATE_CORS_ORIGINS', '*,https://app.example.com'],
  ])('refuses %s=%s with a BAD_CONFIG message naming the variable and the bad value', (name, value) => {
    const message = badConfig({ [name]: value });
    expect(message).toContain(`${name}=${value}`);
    expect(message).toMatch(/use |not an http/);
  });

  it('refuses a secret shorter than 32 bytes, and says how to make one', () => {
    expect(badConfig({ WAVEGATE_JWT_SECRET: 'x'.repeat(31) })).toMatch(/WAVEGATE_JWT_SECRET is shorter than 32 bytes.*openssl rand/);
    // Bytes, not characters: 11 three-byte characters are 33 bytes.
    expect(loadConfig({ WAVEGATE_JWT_SECRET: '€'.repeat(11) }).auth.secret).toBe('€'.repeat(11));
  });

  it('refuses a secret and a JWKS URL together', () => {
    expect(badConfig({ WAVEGATE_JWT_SECRET: SECRET, WAVEGATE_JWKS_URL: 'https://idp.example/jwks' }))
      .toBe('Set WAVEGATE_JWT_SECRET or WAVEGATE_JWKS_URL, not both');
  });

  it('refuses RisingWave without a database URL', () => {
    expect(badConfig({ WAVEGATE_ENGINE: 'risingwave', WAVEGATE_JWT_SECRET: SECRET, WAVEGATE_KAFKA_BROKERS: 'kafka:9092' })).toContain('WAVEGATE_DATABASE_URL');
  });

  it('refuses RisingWave without Kafka brokers for the change feed (blank entries do not count)', () => {
    const rw = { WAVEGATE_ENGINE: 'risingwave', WAVEGATE_DATABASE_URL: 'postgres://rw/dev', WAVEGATE_JWT_SECRET: SECRET };
    expect(badConfig(rw)).toMatch(/WAVEGATE_ENGINE=risingwave needs WAVEGATE_KAFKA_BROKERS/);
    expect(badConfig({ ...rw, WAVEGATE_KAFKA_BROKERS: ' , ' })).toMatch(/needs WAVEGATE_KAFKA_BROKERS/);
    // The embedded engine has no Kafka feed: brokers are optional there.
    expect(loadConfig({ WAVEGATE_KAFKA_BROKERS: '' }).kafka).toEqual({ brokers: [], topicPrefix: 'view.' });
  });

  it('refuses RisingWave without a key unless auth is off', () => {
    const url = { WAVEGATE_ENGINE: 'risingwave', WAVEGATE_DATABASE_URL: 'postgres://rw/dev', WAVEGATE_KAFKA_BROKERS: 'kafka:9092' };
    expect(badConfig(url)).toMatch(/WAVEGATE_JWT_SECRET.*WAVEGATE_JWKS_URL.*WAVEGATE_AUTH=off/);
    expect(loadConfig({ ...url, WAVEGATE_AUTH: 'off' }).auth.enabled).toBe(false);
  });

  it('reads WAVEGATE_CORS_ORIGINS: none by default, exact origins (blanks ignored), or * alone', () => {
    expect(loadConfig({}).cors).toEqual({ origins: [] });
    expect(loadConfig({ WAVEGATE_CORS_ORIGINS: ' ' }).cors).toEqual({ origins: [] });
    expect(loadConfig({ WAVEGATE_CORS_ORIGINS: 'https://app.example.com, http://localhost:3000,,http://[::1]:8080' }).cors)
      .toEqual({ origins: ['https://app.example.com', 'http://localhost:3000', 'http://[::1]:8080'] });
    expect(loadConfig({ WAVEGATE_CORS_ORIGINS: ' * ' }).cors).toEqual({ origins: '*' });
  });
});

describe('originAllowed', () => {
  const listed = { origins: ['https://app.example.com'] };
  it('allows the gateway\'s own origin (same host as the request) and listed origins, nothing else', () => {
    expect(originAllowed(undefined, 'http://localhost:4000', 'localhost:4000')).toBe(true);
    expect(originAllowed(undefined, 'http://LOCALHOST:4000', 'localhost:4000')).toBe(true);
    expect(originAllowed({ origins: [] }, 'http://localhost:4001', 'localhost:4000')).toBe(false);
    expect(originAllowed(listed, 'https://app.example.com', 'gw.example.com')).toBe(true);
    expect(originAllowed(listed, 'https://app.example.com.evil.test', 'gw.example.com')).toBe(false);
    expect(originAllowed(listed, 'http://app.example.com', 'gw.example.com')).toBe(false);
    expect(originAllowed(listed, 'null', 'gw.example.com')).toBe(false);
    expect(originAllowed(listed, 'https://app.example.com', undefined)).toBe(true);
    expect(originAllowed(listed, 'https://gw.example.com', undefined)).toBe(false);
  });

  it('allows any origin, null included, with *', () => {
    expect(originAllowed({ origins: '*' }, 'https://anything.test', 'gw.example.com')).toBe(true);
    expect(originAllowed({ origins: '*' }, 'null', 'gw.example.com')).toBe(true);
  });
});
