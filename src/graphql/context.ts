import { randomUUID } from 'node:crypto';
import type { Viewer } from '../auth/viewer';
import type { LimitsConfig } from '../config/types';
import type { Engine } from '../engine/types';
import type { Logger } from '../log';
import type { SubscriptionHub } from '../subscriptions/hub';
import { createLoaders, type Loaders } from './loaders';

/** What every resolver gets (`@Ctx()`), per HTTP request or per websocket operation. */
export interface GraphQLContext {
  readonly viewer: Viewer;
  readonly engine: Engine;
  readonly hub: SubscriptionHub;
  readonly loaders: Loaders;
  readonly limits: LimitsConfig;
  readonly log: Logger;
  /** Correlates log lines of one request. */
  readonly requestId: string;
  readonly transport: 'http' | 'ws';
  /** Filled while the request runs, read by the HTTP metrics when the response ends. */
  readonly report: RequestReport;
}

/** Facts about a request for metrics. */
export interface RequestReport {
  operationType?: string;
}

/** Long-lived dependencies shared by all contexts. */
export interface ContextDeps {
  readonly engine: Engine;
  readonly hub: SubscriptionHub;
  readonly limits: LimitsConfig;
  readonly log: Logger;
}

/** Creates the context of one HTTP request or websocket operation, with fresh loaders. */
export function createContext(deps: ContextDeps, viewer: Viewer, transport: 'http' | 'ws', report: RequestReport = {}): GraphQLContext {
  const requestId = randomUUID();
  return {
    viewer,
    engine: deps.engine,
    hub: deps.hub,
    limits: deps.limits,
    log: deps.log.child('graphql'),
    requestId,
    transport,
    report,
    loaders: createLoaders(deps.engine, viewer, { cache: transport === 'http' }),
  };
}
