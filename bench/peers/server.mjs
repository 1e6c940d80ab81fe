// @ts-check
/**
 * The PostGraphile peer of bench/peers.ts, as a child process. Plain ESM JavaScript in a package of
 * its own (bench/peers/package.json, installed on demand by the bench with `npm ci --prefix
 * bench/peers`), so the project's install never pulls PostGraphile and its Node >= 22 engine
 * requirement. Type-checked on its own once installed: `npm --prefix bench/peers run typecheck`.
 *
 * It answers the bench's child-process calls (the message shapes of bench/ipc.ts):
 * `{ rpc: 'call', id, method, params }` → `{ rpc: 'reply', id, result }` or `{ rpc: 'reply', id, error }`,
 * for the methods `start` ({@link PeerSpec} → {@link PeerStarted}), `stop`, `usage` and `exit`.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

/**
 * @typedef {object} PeerSpec What the peer is started with.
 * @property {string} url postgres:// URL of the bench database.
 * @property {number} pool Connection-pool size (pg Pool `max`).
 */
/**
 * @typedef {object} PeerStarted A started PostGraphile.
 * @property {string} url http://127.0.0.1:<port>/graphql
 * @property {string} version
 * @property {number} startMs Schema build (introspection included), ms.
 */

/**
 * PostGraphile 5.1 declares Node >= 22. On Node 20 it loads, then fails at query time: grafast,
 * grafserv and @dataplan/pg call `Promise.withResolvers` (Node 22). This is the only Node 22 API
 * found in their code (grep of dist/, 5.1.5), so this process defines it, spec-shaped, before
 * loading PostGraphile. Wavegate's process never gets it.
 */
function installPolyfills() {
  const P = /** @type {{ withResolvers?: unknown }} */ (/** @type {unknown} */ (Promise));
  if (P.withResolvers !== undefined) return;
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers() {
      /** @type {(value: unknown) => void} */
      let resolve = () => undefined;
      /** @type {(reason: unknown) => void} */
      let reject = () => undefined;
      const promise = new Promise((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

/** @type {{ server: import('node:http').Server; release: () => Promise<void> } | undefined} */
let running;

/** @param {PeerSpec} spec @returns {Promise<PeerStarted>} */
async function start(spec) {
  installPolyfills();
  process.env['GRAPHILE_ENV'] = 'production'; // what it defaults to anyway, said explicitly (and no notice on stderr)
  const t0 = Date.now();
  const [{ postgraphile }, { PostGraphileAmberPreset }, { makePgService }, { grafserv }] = await Promise.all([
    import('postgraphile'),
    import('postgraphile/presets/amber'),
    import('postgraphile/adaptors/pg'),
    import('postgraphile/grafserv/node'),
  ]);
  /** @type {GraphileConfig.Preset} */
  const preset = {
    extends: [PostGraphileAmberPreset],
    pgServices: [makePgService({ connectionString: spec.url, schemas: ['public'], poolConfig: { max: spec.pool } })],
    grafserv: { graphiql: false, watch: false, websockets: false },
    grafast: { explain: false },
  };
  const pgl = postgraphile(preset);
  await pgl.getSchema(); // introspect and build now, not on the first request
  const serv = pgl.createServ(grafserv);
  // The keep-alive timeouts Wavegate's server uses (src/gateway.ts).
  const server = createServer({ keepAliveTimeout: 65_000, headersTimeout: 66_000 });
  await serv.addTo(server);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  running = { server, release: async () => pgl.release() };
  const pkg = /** @type {{ version: string }} */ (JSON.parse(readFileSync(new URL('./node_modules/postgraphile/package.json', import.meta.url), 'utf8')));
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  return { url: `http://127.0.0.1:${address.port}/graphql`, version: pkg.version, startMs: Date.now() - t0 };
}

/** @returns {Promise<null>} */
async function stop() {
  const r = running;
  running = undefined;
  if (r === undefined) return null;
  const closed = new Promise((resolve) => r.server.close(() => resolve(undefined)));
  r.server.closeAllConnections();
  await closed;
  await r.release();
  return null;
}

/** CPU time (µs, user + system) and memory of this process (bench/ipc.ts `Usage`). */
async function usage() {
  const c = process.cpuUsage();
  return { cpuMicros: c.user + c.system, memory: process.memoryUsage() };
}

/** @type {Record<string, (params: any) => Promise<unknown>>} */
const handlers = { start, stop, usage };

/** @param {{ rpc: 'reply'; id: number; result: unknown } | { rpc: 'reply'; id: number; error: string }} m @param {() => void} [then] */
function reply(m, then) {
  process.send?.(m, undefined, {}, () => then?.());
}

if (process.send === undefined) {
  process.stderr.write('bench/peers/server.mjs is a child process of bench/peers.ts: run `node dist/bench/peers.js`\n');
  process.exitCode = 2;
} else {
  process.on('message', (/** @type {{ rpc?: string; id: number; method: string; params: unknown }} */ m) => {
    if (m?.rpc !== 'call') return;
    // Leave once the reply is sent; open sockets must not keep the child alive.
    if (m.method === 'exit') return reply({ rpc: 'reply', id: m.id, result: null }, () => process.exit(0));
    const handler = handlers[m.method];
    if (handler === undefined) return reply({ rpc: 'reply', id: m.id, error: `unknown method ${m.method}` });
    handler(m.params).then(
      (result) => reply({ rpc: 'reply', id: m.id, result }),
      (/** @type {unknown} */ err) => reply({ rpc: 'reply', id: m.id, error: err instanceof Error ? err.stack ?? err.message : String(err) }),
    );
  });
  // The bench went away: so do we.
  process.on('disconnect', () => process.exit(0));
}
