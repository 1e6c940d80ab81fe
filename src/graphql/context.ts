import { randomUUID } from 'node:crypto';
import type { Viewer } from '../auth/viewer';
import type { LimitsConfig } from '../config/types';
import type { QueryScheduler } from '../engine/scheduler';
import type { Engine, QueryOptions } from '../engine/types';
import { errors } from '../errors';
import type { Logger } from '../log';
import type { DeliveryIterator, SubscriptionFilter, SubscriptionHub } from '../subscriptions/hub';
import type { Registry } from '../views/model';
import type { LookupHub } from '../subscriptions/lookups';
import { RequestDeadline } from './deadline';
import { createLoaders, type Loaders } from './loaders';

/** The engine as one request sees it: reads go through the fair scheduler, under the request's deadline. */
export type RequestEngine = Pick<Engine, 'kind' | 'feed' | 'query' | 'snapshot'>;

/** The hub as one request sees it: subscriptions are counted against the request's socket and subject. */
export interface SubscriptionSource {
  subscribe(filter: SubscriptionFilter): Promise<DeliveryIterator>;
}

/** What every resolver gets (`@Ctx()`), per HTTP request or per websocket operation. */
export interface GraphQLContext {
  readonly viewer: Viewer;
  readonly engine: RequestEngine;
  readonly hub: SubscriptionSource;
  /** Lookup sets for subscription row tests (src/subscriptions/lookups.ts); absent in some tests. */
  readonly lookups?: LookupHub;
  readonly loaders: Loaders;
  /** The views served (the schema was generated from it). */
  readonly registry: Registry;
  readonly limits: LimitsConfig;
  readonly log: Logger;
  /** Correlates log lines of one request. */
  readonly requestId: string;
  readonly transport: 'http' | 'ws';
  /** Filled while the request runs, read by the HTTP metrics when the response ends. */
  readonly report: RequestReport;
  /** The deadline of the current unit of work (the request; on websockets also each subscription event). */
  readonly deadline: RequestDeadline;
}

/** Facts about a request for metrics. */
export interface RequestReport {
  operationType?: string;
}

/** Long-lived dependencies shared by all contexts. */
export interface ContextDeps {
  readonly engine: Engine;
  readonly hub: SubscriptionHub;
  /** Lookup sets of subscriptions whose permission reads another view (acquire, then `release` in the filter). */
  readonly lookups?: LookupHub;
  /** Shares engine queries fairly between viewers (one per gateway). */
  readonly scheduler: QueryScheduler;
  /** The views served. */
  readonly registry: Registry;
  readonly limits: LimitsConfig;
  readonly log: Logger;
}

/** Per-request inputs of {@link createContext}. */
export interface ContextOptions {
  readonly report?: RequestReport;
  /** The websocket the operation came on (its replays are capped per socket). */
  readonly socketId?: string;
}

/** The key a viewer's queries, sockets and replays are counted under. */
export function subjectKey(viewer: Viewer): string {
  return `${viewer.role}:${viewer.sub}`;
}

/** Postgres text cannot hold NUL: a value with one is the client's mistake, not an engine failure. */
function assertNoNul(params: readonly unknown[]): void {
  for (const p of params) {
    const values = Array.isArray(p) ? (p as unknown[]) : [p];
    if (values.some((v) => typeof v === 'string' && v.includes('\u0000'))) throw errors.badInput('A value contains a NUL character');
  }
}

/** The engine of one request: scheduled per viewer, bounded by the request's deadline (read at each query). */
function requestEngine(deps: ContextDeps, key: string, deadline: { readonly deadline: RequestDeadline }): RequestEngine {
  const { engine, scheduler } = deps;
  const snapshot = engine.snapshot?.bind(engine);
  return {
    kind: engine.kind,
    feed: engine.feed,
    query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<R[]> {
      assertNoNul(params);
      const signal = options.signal ?? deadline.deadline.signal;
      return scheduler.run(key, signal, () => engine.query<R>(sql, params, { signal }));
    },
    // A snapshot read (RisingWave: FLUSH, then the read) waits its turn like any query; its FLUSH has its own bound.
    ...(snapshot !== undefined ? {
      snapshot: <R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []) => {
        assertNoNul(params);
        return scheduler.run(key, deadline.deadline.signal, () => snapshot<R>(sql, params));
      },
    } : {}),
  };
}

/** Creates the context of one HTTP request or websocket operation, with fresh loaders and a started deadline. */
export function createContext(deps: ContextDeps, viewer: Viewer, transport: 'http' | 'ws', options: ContextOptions = {}): GraphQLContext {
  const requestId = randomUUID();
  const key = subjectKey(viewer);
  const deadline = new RequestDeadline(deps.limits.requestTimeoutMs);
  const engine = requestEngine(deps, key, { deadline });
  const scope = { subject: key, ...(options.socketId !== undefined ? { socket: options.socketId } : {}) };
  return {
    viewer,
    engine,
    hub: { subscribe: (filter) => deps.hub.subscribe(filter, scope) },
    registry: deps.registry,
    ...(deps.lookups !== undefined ? { lookups: deps.lookups } : {}),
    limits: deps.limits,
    log: deps.log.child('graphql'),
    requestId,
    transport,
    report: options.report ?? {},
    deadline,
    loaders: createLoaders(engine, viewer, deps.registry, { cache: transport === 'http' }),
  };
}

/** One `graphql` child logger per root logger (children with one name are interchangeable). */
const graphqlLogs = new WeakMap<Logger, Logger>();

function graphqlLog(log: Logger): Logger {
  let child = graphqlLogs.get(log);
  if (child === undefined) graphqlLogs.set(log, (child = log.child('graphql')));
  return child;
}

/**
 * The context of a long-lived websocket operation (a shared subscription group): small while idle.
 * Its per-unit pieces (deadline, engine wrapper, loaders) are made on first use and dropped by
 * {@link SocketContext.endUnit}; the logger is shared, the request id made on first read.
 */
export interface SocketContext extends GraphQLContext {
  /** Starts a unit of work (the start, or one event): a fresh, started deadline. */
  beginUnit(): void;
  /** Ends the current unit: stops its deadline and drops the per-unit pieces. */
  endUnit(): void;
}

class LazySocketContext implements SocketContext {
  private requestIdValue: string | undefined;
  private reportValue: RequestReport | undefined;
  private deadlineValue: RequestDeadline | undefined;
  /** When the current unit began (performance.now()); its deadline counts from here. */
  private unitStart: number | undefined;
  private engineValue: RequestEngine | undefined;
  private loadersValue: Loaders | undefined;

  constructor(private readonly deps: ContextDeps, readonly viewer: Viewer, private readonly socketId: string | undefined) {}

  get transport(): 'ws' {
    return 'ws';
  }

  get registry(): Registry {
    return this.deps.registry;
  }

  get lookups(): LookupHub | undefined {
    return this.deps.lookups;
  }

  get limits(): LimitsConfig {
    return this.deps.limits;
  }

  get log(): Logger {
    return graphqlLog(this.deps.log);
  }

  get requestId(): string {
    return (this.requestIdValue ??= randomUUID());
  }

  get report(): RequestReport {
    return (this.reportValue ??= {});
  }

  /**
   * The unit's deadline, made on first read (most events read none: their fields resolve from the
   * change itself), counting from the unit's start.
   */
  get deadline(): RequestDeadline {
    if (this.deadlineValue === undefined) {
      const timeoutMs = this.deps.limits.requestTimeoutMs;
      const elapsed = this.unitStart === undefined ? 0 : performance.now() - this.unitStart;
      this.deadlineValue = new RequestDeadline(Math.max(1, Math.ceil(timeoutMs - elapsed)));
    }
    return this.deadlineValue;
  }

  get engine(): RequestEngine {
    return (this.engineValue ??= requestEngine(this.deps, subjectKey(this.viewer), this));
  }

  get loaders(): Loaders {
    return (this.loadersValue ??= createLoaders(this.engine, this.viewer, this.deps.registry, { cache: false }));
  }

  /** Made per use: only a subscription's start calls it. */
  get hub(): SubscriptionSource {
    const scope = { subject: subjectKey(this.viewer), ...(this.socketId !== undefined ? { socket: this.socketId } : {}) };
    const hub = this.deps.hub;
    return { subscribe: (filter) => hub.subscribe(filter, scope) };
  }

  beginUnit(): void {
    this.endUnit();
    this.unitStart = performance.now();
  }

  endUnit(): void {
    this.deadlineValue?.dispose();
    this.deadlineValue = undefined;
    this.unitStart = undefined;
    this.engineValue = undefined;
    this.loadersValue = undefined;
  }
}

/** The context of a shared websocket subscription (see {@link SocketContext}); HTTP uses {@link createContext}. */
export function createSocketContext(deps: ContextDeps, viewer: Viewer, socketId?: string): SocketContext {
  return new LazySocketContext(deps, viewer, socketId);
}
