/**
 * Compiled operations (graphql-jit, src/graphql/compiled/) against graphql-js, over a corpus:
 * every generated query field of the bundled views and the fleet fixture (test/fixtures/fleet),
 * each with a wide selection (relations, cursors, page info) and a narrow one, with argument
 * variants (own and other ids, unknown ids, explicit nulls, bad page sizes and cursors), for every
 * role open to GraphQL. Two comparisons per case:
 * - the executors directly, on the same engine results (recorded, then replayed): the compiled
 *   operation's data and (formatted) errors are exactly graphql-js's;
 * - over HTTP: a gateway with the fast path (verify mode on) and one without (express + Apollo)
 *   answer byte for byte the same (status, content type, body), errors and limit refusals included.
 */
import { execute, GraphQLNonNull, GraphQLObjectType, getNamedType, isLeafType, isNonNullType, isObjectType, parse, type GraphQLField, type GraphQLSchema } from 'graphql';
import type { Viewer } from '../../src/auth/viewer';
import { startGateway, type Gateway } from '../../src/gateway';
import { recordingEngines, runCompiled } from '../../src/graphql/compiled/execute';
import { createContext, type ContextDeps, type GraphQLContext, type RequestEngine } from '../../src/graphql/context';
import { createErrorFormatter } from '../../src/graphql/errors';
import { createOperationCache, getSchema } from '../../src/graphql/executableSchema';
import { createLoaders } from '../../src/graphql/loaders';
import { recordingLogger, silentLogger } from '../../src/log';
import { loadRegistry } from '../../src/views/load';
import { fleetSchemaDir } from '../fixtures/fleet';
import { startTestGateway, writeRides, type RideSpec, type TestGateway } from '../helpers/gateway';
import { claims, hs256 } from '../helpers/tokens';

const schemaDir = fleetSchemaDir('wt-compiled');
let t: TestGateway;
let apolloOnly: Gateway;
const log = recordingLogger();

const ride = (id: string, rider: string, driver: string, minute: number): RideSpec =>
  ({ id, rider, driver, requestedAt: new Date(Date.UTC(2026, 9, 3, 10, minute)) });
const RIDES = [ride('t1', 'rider-1', 'driver-01', 0), ride('t2', 'rider-1', 'driver-11', 1), ride('t3', 'rider-2', 'driver-02', 2), ride('t4', 'rider-2', 'driver-01', 3)];

/** Viewers per role open to GraphQL: the role's own subject, and claims where the role declares some. */
const VIEWERS: Readonly<Record<string, Viewer>> = {
  rider: { sub: 'rider-1', role: 'rider', claims: {} },
  driver: { sub: 'driver-01', role: 'driver', claims: {} },
  ops: { sub: 'ops-1', role: 'ops', claims: {} },
  fleet_manager: { sub: 'fm-1', role: 'fleet_manager', claims: { fleet_id: 'fleet-1' } },
};

beforeAll(async () => {
  t = await startTestGateway({ views: loadRegistry(schemaDir.dir), log });
  await writeRides(t.engine, RIDES);
  apolloOnly = await startGateway(t.config, { log: silentLogger, engine: t.engine, queries: { compiled: false } });
}, 120_000);
afterAll(async () => {
  await apolloOnly?.stop();
  await t?.dispose();
  schemaDir.remove();
});

// ---------------------------------------------------------------------------------------------
// The corpus

/** Leaf fields of `type` and, `depth` levels down, its object fields (relations, edges, nodes) without required arguments. */
function selection(type: GraphQLObjectType, depth: number, narrow: boolean): string {
  const parts: string[] = [];
  for (const f of Object.values(type.getFields()) as GraphQLField<unknown, unknown>[]) {
    if (f.args.some((a) => isNonNullType(a.type))) continue;
    const named = getNamedType(f.type);
    if (isLeafType(named)) {
      if (!narrow || /^(id|.*Id|cursor|hasNextPage|kind)$/.test(f.name)) parts.push(f.name);
    } else if (isObjectType(named) && depth > 0) {
      const inner = selection(named, depth - 1, narrow);
      if (inner !== '') parts.push(`${f.name} { ${inner} }`);
    }
  }
  if (!narrow) parts.push('__typename');
  return parts.join(' ');
}

/** Values tried for an argument, by its name and type (undefined: left out). */
function argumentValues(name: string, required: boolean, typeName: string): unknown[] {
  const ids = /rider/i.test(name) ? ['rider-1', 'rider-2'] : /driver/i.test(name) ? ['driver-01', 'driver-02', 'driver-nobody']
    : /fleet/i.test(name) ? ['fleet-1', 'fleet-2'] : /trip|^id$/i.test(name) ? ['t1', 't3', 'nobody'] : undefined;
  if (ids !== undefined) return required ? ids : [undefined, null, ...ids.slice(0, 2)];
  if (name === 'first') return [undefined, null, 1, 0];
  if (name === 'after') return [undefined, 'not-a-cursor'];
  if (/from|to/i.test(name)) {
    const v = typeName === 'Date' ? '2026-10-01' : '2026-10-01T00:00:00Z';
    return required ? [v, 'not a time'] : [undefined, v, 'not a time'];
  }
  if (/status/i.test(name)) return [undefined, 'completed'];
  return required ? [] : [undefined];
}

interface Case {
  readonly name: string;
  readonly query: string;
  readonly variables: Record<string, unknown>;
}

/** Every query field × wide/narrow selection × argument variants (one argument varied at a time, the others at their first value). */
function corpus(schema: GraphQLSchema): Case[] {
  const out: Case[] = [];
  for (const field of Object.values(schema.getQueryType()!.getFields())) {
    const named = getNamedType(field.type);
    if (!isObjectType(named)) continue;
    const defs = field.args.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
    const use = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
    const options = field.args.map((a) => argumentValues(a.name, a.type instanceof GraphQLNonNull, getNamedType(a.type).name));
    if (options.some((o) => o.length === 0)) continue;
    const base = options.map((o) => o[0]);
    const variantsOf = (): unknown[][] => {
      const vs: unknown[][] = [base];
      options.forEach((o, i) => o.slice(1).forEach((v) => vs.push(base.map((b, j) => (j === i ? v : b)))));
      return vs;
    };
    for (const narrow of [false, true]) {
      const sel = selection(named, 3, narrow);
      const query = `query Q${defs === '' ? '' : `(${defs})`} { ${field.name}${use === '' ? '' : `(${use})`} { ${sel} } }`;
      for (const values of variantsOf()) {
        const variables: Record<string, unknown> = {};
        field.args.forEach((a, i) => { if (values[i] !== undefined) variables[a.name] = values[i]; });
        out.push({ name: `${field.name} ${narrow ? 'narrow' : 'wide'} ${JSON.stringify(variables)}`, query, variables });
      }
    }
  }
  // Fragments, aliases, directives and a list/object mix, once each.
  out.push({
    name: 'fragments, aliases, @include/@skip',
    query: `query F($yes: Boolean!) { a: trips(first: 2) { ...Page } b: trips(first: 1) @include(if: $yes) { edges { node { id @skip(if: $yes) riderId } } } }
      fragment Page on TripConnection { edges { cursor node { ... on Trip { id status fare { amount currency } } } } pageInfo { hasNextPage endCursor } }`,
    variables: { yes: true },
  });
  return out;
}

/** An operation's result as a client sees it: errors formatted (masked), then data. */
function formatted(result: { data?: unknown; errors?: readonly unknown[] }, format: ReturnType<typeof createErrorFormatter>): string {
  const errors = result.errors?.map((e) => {
    const err = e as { toJSON(): Parameters<typeof format>[0] };
    return format(err.toJSON(), e);
  });
  // Internal errors carry a fresh id each time they are formatted.
  return JSON.stringify({ errors, data: result.data }).replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>');
}

describe('compiled operations return exactly what graphql-js returns', () => {
  it('directly, on the same engine results, for every case and role', async () => {
    const registry = t.config.views;
    const schema = getSchema(registry);
    const operations = createOperationCache(registry, t.config.limits);
    const format = createErrorFormatter(silentLogger);
    const deps: ContextDeps = { engine: t.engine, hub: t.gateway.hub, scheduler: t.gateway.scheduler, registry, limits: t.config.limits, log: silentLogger };
    const cases = corpus(schema);
    expect(cases.length).toBeGreaterThan(60);
    let withErrors = 0;
    let compiledCount = 0;
    for (const c of cases) {
      const op = operations.get(c.query, undefined);
      if (op === undefined) continue; // refused by validation or a limit: Apollo answers (the HTTP test covers it)
      compiledCount++;
      for (const viewer of Object.values(VIEWERS)) {
        const context = createContext(deps, viewer, 'http');
        const tape = recordingEngines(context.engine);
        const on = (engine: RequestEngine): GraphQLContext => ({ ...context, engine, loaders: createLoaders(engine, viewer, registry) });
        const compiled = await op.compiled.query(undefined, on(tape.recording), c.variables);
        const reference = await execute({ schema, document: parse(c.query), contextValue: on(tape.replaying), variableValues: c.variables });
        context.deadline.dispose();
        if (reference.errors !== undefined) withErrors++;
        expect([c.name, viewer.role, formatted(compiled, format)]).toEqual([c.name, viewer.role, formatted(reference, format)]);
      }
    }
    expect(compiledCount).toBeGreaterThan(60);
    // The corpus exercises errors (FORBIDDEN, BAD_USER_INPUT) as well as data.
    expect(withErrors).toBeGreaterThan(20);
  }, 120_000);

  it('over HTTP, the fast path and express + Apollo answer byte for byte the same', async () => {
    const cases = corpus(getSchema(t.config.views));
    const extra: Case[] = [
      { name: 'too costly', query: '{ trips(first: 100) { edges { node { id driver { id rating } riderStats { riderId } } } } }', variables: {} },
      { name: 'invalid', query: '{ trips { nope } }', variables: {} },
      { name: 'bad variable type', query: 'query($n: Int) { trips(first: $n) { edges { cursor } } }', variables: { n: 'x' } },
      { name: 'introspection', query: '{ __schema { queryType { name } } }', variables: {} },
      { name: 'typename only', query: '{ __typename }', variables: {} },
    ];
    const post = async (url: string, c: Case, token: string, origin?: string) => {
      const res = await fetch(url, {
        method: 'POST', body: JSON.stringify({ query: c.query, variables: c.variables }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(origin !== undefined ? { origin } : {}) },
      });
      const h = (name: string) => res.headers.get(name);
      return { status: res.status, type: h('content-type'), vary: h('vary'), allowOrigin: h('access-control-allow-origin'), body: await res.text() };
    };
    let compared = 0;
    for (const [role, viewer] of Object.entries(VIEWERS)) {
      const token = hs256({ ...claims(viewer.sub, role), ...viewer.claims });
      for (const c of [...cases, ...extra]) {
        const fast = await post(t.url, c, token);
        const apollo = await post(apolloOnly.url, c, token);
        expect([c.name, role, fast]).toEqual([c.name, role, apollo]);
        compared++;
      }
    }
    // Browsers (an Origin header): the same CORS headers on both paths, for an allowed (same-host) and another origin.
    const opsToken = hs256(claims('ops-1', 'ops'));
    for (const origin of [new URL(t.url).origin, 'https://elsewhere.example']) {
      for (const c of [cases[0]!, ...extra]) {
        const fast = await post(t.url, c, opsToken, origin);
        const apollo = await post(apolloOnly.url, c, opsToken, origin.startsWith('https') ? origin : new URL(apolloOnly.url).origin);
        if (!origin.startsWith('https')) apollo.allowOrigin = apollo.allowOrigin === null ? null : origin; // each gateway allows its own host
        expect([c.name, origin, fast]).toEqual([c.name, origin, apollo]);
        expect(fast.vary).toBe('Origin');
      }
    }
    expect(compared).toBeGreaterThan(250);
    // The fast path answered the compiled cases itself, errors included (verified each time), and verify mode saw no difference.
    expect(log.lines.filter((l) => l.msg === 'compiled operation verified against graphql-js').length).toBeGreaterThan(200);
    expect(JSON.stringify(log.lines)).not.toContain('differs from graphql-js');
  }, 180_000);
});

describe('verify mode', () => {
  it('answers INTERNAL_SERVER_ERROR and logs both results when a compiled operation differs from graphql-js', async () => {
    const registry = t.config.views;
    const real = createOperationCache(registry, t.config.limits).get('{ trips(first: 1) { edges { node { id } } } }', undefined)!;
    // A "compiled" operation that answers something graphql-js would not.
    const wrong = { ...real, compiled: { ...real.compiled, query: () => ({ data: { trips: { edges: [] } } }) } };
    const recorded = recordingLogger();
    const deps: ContextDeps = { engine: t.engine, hub: t.gateway.hub, scheduler: t.gateway.scheduler, registry, limits: t.config.limits, log: silentLogger };
    const context = createContext(deps, VIEWERS['ops']!, 'http');
    const answer = await runCompiled({ operation: wrong, variables: undefined }, context, { verify: true, formatError: createErrorFormatter(recorded), log: recorded });
    context.deadline.dispose();
    expect(answer?.status).toBe(200);
    expect(JSON.parse(answer!.body)).toMatchObject({ data: null, errors: [{ extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    expect(recorded.lines.some((l) => l.level === 'error' && l.msg === 'compiled operation differs from graphql-js')).toBe(true);
  });
});
