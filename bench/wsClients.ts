/**
 * Subscribers for the latency, fan-out and soak benches, in a child process of their own (fairer
 * than sharing the gateway's event loop): N clients, one socket and one `tripUpdated` subscription
 * each, of one of two kinds:
 * - `graphql-ws` (the default): the `graphql-ws` client over `ws`, as a Node app would connect;
 * - `lean`: a bench client, not an app's: raw `ws` speaking just enough graphql-transport-ws
 *   (connection_init with the token, wait for connection_ack, one `subscribe` with id "1", answer
 *   protocol pings). Per frame it reads the type and id (an id other than "1" is counted as
 *   `wrongIds`) and takes the key with two regular expressions instead of a JSON parse, so one
 *   client process can take ≥ 100,000 frames/s on a core where graphql-ws's client (a full parse,
 *   message validation, sink calls per frame) becomes the bottleneck of a broadcast.
 *
 * Every `next` payload is stamped on arrival with {@link nowMs} (CLOCK_MONOTONIC, shared with the
 * parent) and keyed `<tripId>|<epoch ms of trip.updatedAt>`: the parent knows when it committed
 * (or produced) the change with that key, and subtracts. The stamp is taken in the sink, after the
 * client parsed the frame: the latency includes the client's JSON parse, as an app would see it.
 *
 * Parent side: {@link SubscriberProcess}. Not a bench of its own.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { nowMs } from './harness';
import { ChildRpc, isBenchChild, serveRpc, type Usage } from './ipc';

/** The subscription every bench client runs: the fields a rider app would show, and the resume cursor. */
export const TRIP_UPDATED = `subscription Trip($riderId: ID) {
  tripUpdated(riderId: $riderId) {
    kind tripId cursor
    trip { id riderId driverId status requestedAt updatedAt fare { amount currency } }
  }
}`;

/** One client to connect: its token and its subscription variables. */
export interface ClientSpec {
  token: string;
  variables: Record<string, unknown>;
}

/** Result of a connect call. */
export interface ConnectResult {
  connected: number;
  failed: number;
  firstError?: string;
  ms: number;
}

/** Receipts since the previous collect. */
export interface Receipts {
  keys: string[];
  /** nowMs() at arrival, same index as keys. */
  times: Float64Array;
  /** `next` payloads carrying GraphQL errors. */
  errors: number;
  /** RESYNC deliveries (the hub dropped a slow subscriber's backlog). */
  resyncs: number;
  /** Subscription-level errors or completions (should be 0). */
  ended: number;
  /** Sockets closed by the server (should be 0). */
  closed: number;
  /** Lean clients: `next` frames whose id was not the subscription's (should be 0). */
  wrongIds: number;
}

/** Which client connects: see the module comment. */
export type ClientKind = 'graphql-ws' | 'lean';

// ---- child side ------------------------------------------------------------------------------

interface TripChangePayload {
  tripUpdated?: { kind: string; tripId: string | null; trip: { updatedAt: string } | null };
}

const clients: Client[] = [];
/** Clients we are closing ourselves: their close is not counted. */
const disposing = new WeakSet<Client>();
let keys: string[] = [];
let times: number[] = [];
let errors = 0;
let resyncs = 0;
let ended = 0;
let closed = 0;
let wrongIds = 0;

const leanSockets: WebSocket[] = [];
/** Lean sockets we are closing ourselves. */
const leanDisposing = new WeakSet<WebSocket>();
const TRIP_ID = /"tripId":(?:"([^"]*)"|null)/;
const UPDATED_AT = /"updatedAt":"([^"]*)"/;
const FRAME_TYPE = /"type":"([a-z_]+)"/;
const FRAME_ID = /"id":"([^"]*)"/;

/** One frame to a lean client (the subscription's id is "1"). */
function leanFrame(socket: WebSocket, text: string, t: number): void {
  const type = FRAME_TYPE.exec(text)?.[1];
  if (type === 'next') {
    if (FRAME_ID.exec(text)?.[1] !== '1') wrongIds++;
    if (text.includes('"errors"')) return void errors++;
    if (text.includes('"kind":"RESYNC"')) return void resyncs++;
    const trip = TRIP_ID.exec(text);
    if (trip === null) return void errors++;
    const at = UPDATED_AT.exec(text)?.[1];
    keys.push(`${trip[1] ?? 'null'}|${at === undefined ? 'null' : Date.parse(at)}`);
    times.push(t);
  } else if (type === 'ping') {
    socket.send('{"type":"pong"}');
  } else if (type === 'error' || type === 'complete') {
    ended++;
  }
}

function connectLean(url: string, spec: ClientSpec): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    let acked = false;
    // No UTF-8 validation of text frames, no compression offer: the client's per-frame cost kept to reading the frame.
    const socket = new WebSocket(url, 'graphql-transport-ws', { skipUTF8Validation: true, perMessageDeflate: false });
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${spec.token}` } })));
    socket.on('message', (data: Buffer) => {
      const t = nowMs();
      const text = data.toString();
      if (acked) return leanFrame(socket, text, t);
      if (FRAME_TYPE.exec(text)?.[1] !== 'connection_ack') return void socket.close(1000);
      acked = true;
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: TRIP_UPDATED, variables: spec.variables } }));
      resolve(socket);
    });
    socket.on('error', (err) => {
      if (!acked) reject(err);
    });
    socket.on('close', (code) => {
      if (!acked) reject(new Error(`closed before ack: ${code}`));
      else if (!leanDisposing.has(socket)) closed++;
    });
  });
}

function connectOne(url: string, spec: ClientSpec): Promise<Client> {
  return new Promise((resolve, reject) => {
    let acked = false;
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${spec.token}` },
      onNonLazyError: (err) => reject(err instanceof Error ? err : new Error(`connect failed: ${JSON.stringify(err)}`)),
      on: {
        connected: () => {
          acked = true;
          resolve(client);
        },
        closed: (event) => {
          if (acked && !disposing.has(client)) closed++;
          else reject(new Error(`closed before ack: ${(event as { code?: number }).code ?? '?'}`));
        },
      },
    });
    client.subscribe<TripChangePayload>({ query: TRIP_UPDATED, variables: spec.variables }, {
      next: (result) => {
        const t = nowMs();
        if (result.errors !== undefined) return void errors++;
        const change = result.data?.tripUpdated;
        if (change === undefined) return void errors++;
        if (change.kind === 'RESYNC') return void resyncs++;
        keys.push(`${change.tripId}|${change.trip === null ? 'null' : Date.parse(change.trip.updatedAt)}`);
        times.push(t);
      },
      error: () => void ended++,
      complete: () => void ended++,
    });
  });
}

async function connect(p: { url: string; clients: ClientSpec[]; concurrency: number; kind: ClientKind }): Promise<ConnectResult> {
  const t0 = Date.now();
  let next = 0;
  let connected = 0;
  let failed = 0;
  let firstError: string | undefined;
  // A bounded number of handshakes in flight: a burst of 10,000 SYNs overflows the listen backlog.
  const worker = async () => {
    while (next < p.clients.length) {
      const spec = p.clients[next++]!;
      try {
        if (p.kind === 'lean') leanSockets.push(await connectLean(p.url, spec));
        else clients.push(await connectOne(p.url, spec));
        connected++;
      } catch (err) {
        failed++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, p.concurrency) }, worker));
  return { connected, failed, ms: Date.now() - t0, ...(firstError !== undefined ? { firstError } : {}) };
}

async function disconnect(): Promise<{ disposed: number }> {
  const all = clients.splice(0);
  for (const c of all) disposing.add(c);
  const lean = leanSockets.splice(0);
  await Promise.all([
    ...all.map((c) => c.dispose()),
    ...lean.map((s) => new Promise<void>((resolve) => {
      leanDisposing.add(s);
      if (s.readyState === WebSocket.CLOSED) return resolve();
      s.once('close', () => resolve());
      s.close(1000);
    })),
  ]);
  return { disposed: all.length + lean.length };
}

async function collect(): Promise<Receipts> {
  const out: Receipts = { keys, times: Float64Array.from(times), errors, resyncs, ended, closed, wrongIds };
  keys = [];
  times = [];
  errors = resyncs = ended = wrongIds = 0;
  return out;
}

if (isBenchChild()) {
  serveRpc({
    connect,
    disconnect,
    collect,
    count: async () => keys.length + errors + resyncs,
  });
}

// ---- parent side -----------------------------------------------------------------------------

/** The subscriber child process, seen from the bench. */
export class SubscriberProcess {
  private constructor(private readonly rpc: ChildRpc) {}

  /** Forks dist/bench/wsClients.js. */
  static start(): SubscriberProcess {
    return new SubscriberProcess(ChildRpc.fork(__filename));
  }

  /**
   * Connects clients (at most `concurrency` handshakes at once); resolves when each got
   * connection_ack (graphql-ws) or sent its subscribe (lean), or failed.
   */
  connect(url: string, clients: ClientSpec[], concurrency = 100, kind: ClientKind = 'graphql-ws'): Promise<ConnectResult> {
    return this.rpc.call('connect', { url: url.replace(/^http/, 'ws'), clients, concurrency, kind });
  }

  /** Closes every client. */
  disconnect(): Promise<{ disposed: number }> {
    return this.rpc.call('disconnect');
  }

  /** Payloads received since the last collect (changes, errors and resyncs). */
  count(): Promise<number> {
    return this.rpc.call('count');
  }

  /** Takes the receipts gathered since the last collect. */
  collect(): Promise<Receipts> {
    return this.rpc.call('collect');
  }

  usage(): Promise<Usage> {
    return this.rpc.usage();
  }

  close(): Promise<void> {
    return this.rpc.close();
  }
}

/** Matches receipts to send times: latencies (ms) of known keys, and what did not match. */
export function match(receipts: Receipts, sentAt: ReadonlyMap<string, number>): { latencies: number[]; unknown: number; firstAt: number; lastAt: number } {
  const latencies: number[] = [];
  let unknown = 0;
  let firstAt = Infinity;
  let lastAt = -Infinity;
  receipts.keys.forEach((key, i) => {
    const t = receipts.times[i]!;
    const sent = sentAt.get(key);
    if (sent === undefined) return void unknown++;
    latencies.push(t - sent);
    firstAt = Math.min(firstAt, t);
    lastAt = Math.max(lastAt, t);
  });
  return { latencies, unknown, firstAt, lastAt };
}
