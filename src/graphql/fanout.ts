/**
 * Shared fan-out of live subscriptions: execute once, send to many.
 *
 * Live subscriptions (no `after`) with the same operation (document text and operation name), the
 * same variables and the same permission scope (subscriptions/scope.ts: role and the claim values
 * its predicates read) form a {@link Group}. A group holds ONE event stream (one generated resolver
 * call, so one hub subscriber with one row test), executes each event ONCE (GraphQL execution under
 * a fresh deadline, errors masked) and serialises the payload ONCE; each member's frame is a short
 * string prefix with its subscription id + that shared payload JSON. The transport is abstract
 * ({@link FanoutSocket}): websocket.ts adapts `ws` sockets.
 *
 * Slow sockets: a member whose socket has more than {@link HIGH_WATER} bytes unsent gets a backlog,
 * with the hub's slow-consumer policy (subscriptions/backlog.ts, one copy for both): up to `queueLimit` payloads in
 * order, then conflation to the latest payload per row key up to `conflateLimit` keys, then the
 * backlog is dropped for one RESYNC event (its cursor covers everything the group has handed out),
 * followed by the live changes. The backlog is flushed when the socket's writes drain below
 * {@link LOW_WATER}. A backlog holds references to the shared payload strings, not copies. Other
 * members of the group are never held back.
 *
 * The group's stream ends (hub closed) → every member gets `complete`. The last member leaving
 * returns the stream (the hub subscriber leaves). A group runs its events in slices: after
 * {@link SLICE_MS} of fan-out work it yields to the event loop (setImmediate), so the Kafka
 * consumer's fetches and heartbeats, pings and HTTP keep running during a large batch.
 */
import { performance } from 'node:perf_hooks';
import { GraphQLError, createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Logger } from '../log';
import { observeLeg, observeLegSince } from '../legs';
import { CHANGE_KEY, RESYNC_ROOT, TAKE_READY, WAIT_READY, isChangeStream, type ChangeStream } from './changes';
import { backlogSize, conflate, enqueue, takeNext, type Backlog } from '../subscriptions/backlog';
import type { SocketContext } from './context';
import type { CompiledSubscription } from './compiled/subscriptions';

/**
 * Bytes a socket may have unsent (beyond what the kernel took) before its members buffer instead of
 * writing. A socket that reads keeps this at 0; only a client that stops reading reaches it.
 * @default 16 KiB
 */
export const HIGH_WATER = 16 * 1024;
/** A backlogged socket's members are flushed once its unsent bytes fall under this. @default 4 KiB */
export const LOW_WATER = 4 * 1024;
/**
 * While a socket has backlogs, how often its unsent bytes are checked besides on each write callback
 * (its pending bytes may all be another writer's: pings, graphql-ws's messages). @default 25 (ms)
 */
export const DRAIN_POLL_MS = 25;
/** Fan-out work (ms) done in one go before yielding to the event loop. @default 5 */
export const SLICE_MS = 5;
/** Members written between two checks of the slice clock in a group's member loop. */
const MEMBERS_PER_CHECK = 128;
/** Most changes a group takes at once from its stream (executed one by one, written to each member together). */
const COALESCE_MAX = 64;

/** The transport side of one socket, as the fan-out needs it. */
export interface FanoutSocket {
  /** Bytes queued and not yet handed to the kernel. */
  readonly bufferedAmount: number;
  readonly isOpen: boolean;
  /**
   * Sends one text frame per body, in one write: each frame's text is `head` (a member's short
   * prefix; `headBytes` its UTF-8 length) followed by the body (UTF-8 bytes shared by every member
   * of a group: encoded once). Nothing when the socket is not open (its close ends its subscriptions).
   */
  sendShared(head: string, headBytes: number, bodies: readonly Buffer[]): void;
  /** Sends a text frame (the rare ones: `error`, `complete`). */
  sendText(frame: string): void;
  /** Calls `cb` once when the socket's unsent bytes have drained after a write that filled its buffer. */
  onceDrained(cb: () => void): void;
}

/** A shared payload: the JSON text (kept for tests and diagnostics) and its frame body bytes (`<payload>}`). */
export interface SharedPayload {
  readonly json: string;
  /** UTF-8 of `json + '}'`: the end of every member's frame. */
  readonly body: Buffer;
}

/** Encodes a payload once for all members of a group. */
export function sharedPayload(json: string): SharedPayload {
  return { json, body: Buffer.from(`${json}}`) };
}

/** Formats the errors of a result or of a failed start, as HTTP does. */
export type ErrorsFormat = (errs: readonly GraphQLError[]) => unknown[];

/** The fan-out state of one socket (created on its first shared subscription). */
export class SocketFanout {
  /** Shared subscriptions of this socket, by subscription id. */
  readonly members = new Map<string, Member>();
  /** Members with a backlog (present only while some are). */
  backlogged: Set<Member> | undefined;
  /** Armed while some member has a backlog. */
  private poll: NodeJS.Timeout | undefined;
  /** A drain listener is registered (while some member has a backlog). */
  private awaitingDrain = false;

  constructor(readonly socket: FanoutSocket, private readonly hub: Fanout) {}

  /** Writes a member's frames now (one per body, in one write): its prefix, then a shared body. */
  write(head: string, headBytes: number, bodies: readonly Buffer[]): void {
    this.socket.sendShared(head, headBytes, bodies);
  }

  /** Writes a text frame now. */
  writeText(frame: string): void {
    this.socket.sendText(frame);
  }

  private onDrained(): void {
    this.awaitingDrain = false;
    if (this.backlogged !== undefined && this.socket.bufferedAmount < LOW_WATER) this.flush();
    this.watchDrain();
  }

  /** While some member has a backlog: flush when the socket drains (the listener is made only then). */
  private watchDrain(): void {
    if (this.backlogged === undefined || this.awaitingDrain || !this.socket.isOpen) return;
    this.awaitingDrain = true;
    this.socket.onceDrained(() => this.onDrained());
  }

  /** `m` has a backlog: it is flushed when the socket drains, or on the next poll that finds it drained. */
  backlog(m: Member): void {
    (this.backlogged ??= new Set()).add(m);
    this.watchDrain();
    this.poll ??= setTimeout(() => this.onPoll(), DRAIN_POLL_MS).unref(); // the closure lives only while polling
  }

  private onPoll(): void {
    this.poll = undefined;
    if (this.backlogged === undefined || !this.socket.isOpen) return;
    if (this.socket.bufferedAmount < LOW_WATER) this.flush();
    if (this.backlogged !== undefined) this.poll = setTimeout(() => this.onPoll(), DRAIN_POLL_MS).unref();
  }

  private flush(): void {
    const backlogged = this.backlogged;
    if (backlogged === undefined) return;
    for (const m of backlogged) {
      if (!this.socket.isOpen || this.socket.bufferedAmount >= HIGH_WATER) return;
      m.flush();
      if (m.backlog === undefined) backlogged.delete(m);
    }
    if (backlogged.size === 0) this.backlogged = undefined;
  }

  /** Drops `m`'s backlog registration (it left). */
  forget(m: Member): void {
    this.backlogged?.delete(m);
    if (this.backlogged?.size === 0) this.backlogged = undefined;
  }

  /** Removes one member (client `complete`). True when `id` was a shared subscription. */
  complete(id: string): boolean {
    const m = this.members.get(id);
    if (m === undefined) return false;
    this.hub.leave(m);
    return true;
  }

  /** The socket closed: every member leaves its group. */
  closed(): void {
    for (const m of [...this.members.values()]) this.hub.leave(m);
    clearTimeout(this.poll);
    this.poll = undefined;
    this.backlogged = undefined;
  }
}

/** What a member needs of its group. */
export interface MemberGroup {
  readonly field: string;
  readonly limits: FanoutLimits;
  readonly log: Logger;
  /** The payload of a RESYNC event covering everything the group has handed out. */
  resyncPayload(reason: string): SharedPayload;
  remove(m: Member): void;
}

/** Ids written into a frame as they are: no character JSON escapes, one byte each in UTF-8. */
const SIMPLE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
/** UTF-8 bytes of `{"id":"","type":"next","payload":`. */
const PREFIX_BYTES = Buffer.byteLength('{"id":"","type":"next","payload":');

/** One subscription of a socket in a group: an id and where it stands; everything else is shared. */
export class Member {
  /** Payloads kept while the socket is backed up (the first may be a RESYNC); present until it drained them all. */
  backlog: Backlog<SharedPayload> | undefined;

  constructor(readonly sock: SocketFanout, readonly id: string, readonly group: MemberGroup) {}

  /**
   * Writes `bodies` as this member's frames. The prefix `{"id":<id>,"type":"next","payload":` is
   * made per write, not kept: an idle member holds only its id (10,000 idle subscriptions hold
   * 10,000 members).
   */
  private write(bodies: readonly Buffer[]): void {
    const id = this.id;
    if (SIMPLE_ID.test(id)) {
      this.sock.write(`{"id":"${id}","type":"next","payload":`, id.length + PREFIX_BYTES, bodies);
    } else {
      const head = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
      this.sock.write(head, Buffer.byteLength(head), bodies);
    }
  }

  /** Payloads waiting for the socket (queued plus conflated). */
  get buffered(): number {
    return this.backlog === undefined ? 0 : backlogSize(this.backlog);
  }

  /** One event for this member: written now, or kept under the slow-consumer policy. */
  deliver(payload: SharedPayload, key: string | undefined): void {
    const socket = this.sock.socket;
    if (this.backlog === undefined && socket.bufferedAmount < HIGH_WATER) {
      this.write([payload.body]);
      return;
    }
    const { queueLimit, conflateLimit } = this.group.limits;
    if (this.backlog === undefined) {
      this.backlog = { queue: [], conflated: undefined };
      this.sock.backlog(this);
    }
    const b = this.backlog;
    if (enqueue(b, payload, queueLimit)) return;
    // A change without a key (never expected) is not conflated.
    if (!conflate(b, key ?? `#${b.conflated?.size ?? 0}`, payload, conflateLimit)) {
      this.backlog = { queue: [this.group.resyncPayload('subscriber fell too far behind; re-query')], conflated: undefined };
      this.group.log.warn({ view: this.group.field, conflateLimit }, 'slow subscriber: buffer dropped, resync queued');
    }
  }

  /** Writes the backlog while the socket takes it. */
  flush(): void {
    const b = this.backlog;
    if (b === undefined) return;
    const socket = this.sock.socket;
    while (socket.bufferedAmount < HIGH_WATER) {
      const payload = takeNext(b);
      if (payload === undefined) {
        this.backlog = undefined;
        return;
      }
      this.write([payload.body]);
    }
  }

  /**
   * Several events in order: written in one go, or each kept under the slow-consumer policy.
   * `bodies`: the payloads' bodies, which a group passes made once for all its members.
   */
  deliverMany(payloads: readonly SharedPayload[], keys: ReadonlyArray<string | undefined>, bodies: readonly Buffer[] = payloads.map((p) => p.body)): void {
    if (this.backlog === undefined && this.sock.socket.bufferedAmount < HIGH_WATER) {
      this.write(bodies);
      return;
    }
    for (let i = 0; i < payloads.length; i++) this.deliver(payloads[i]!, keys[i]);
  }
}

/** Tuning of the shared fan-out (the hub's slow-consumer limits). */
export interface FanoutLimits {
  readonly queueLimit: number;
  readonly conflateLimit: number;
  /** Reports client subscriptions sharing a running stream (a group of N counts N - 1), for the hub's count. */
  readonly countShared: (delta: number) => void;
}

/**
 * How a group executes each event: graphql-jit's compiled operation when the document compiled
 * (the same resolvers and context, without graphql-js's per-field dispatch), else graphql-js
 * `execute`. With `verify` (tests) each compiled result is compared with graphql-js's result for the
 * same event, and a difference is sent as an INTERNAL_SERVER_ERROR instead of the payload.
 */
export interface GroupExecution {
  readonly compiled: CompiledSubscription | undefined;
  readonly verify: boolean;
}

/** The graphql-js executor for every group (no compiled operation). */
export const INTERPRETED: GroupExecution = Object.freeze({ compiled: undefined, verify: false });

/** A run of changes a group writes to its members: payloads, row keys (for conflation), frame bodies. */
interface Run {
  readonly payloads: readonly SharedPayload[];
  readonly keys: ReadonlyArray<string | undefined>;
  readonly bodies: readonly Buffer[];
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** One shared execution: an operation, its variables and a permission scope; many members. */
export class Group implements MemberGroup {
  readonly members = new Set<Member>();
  private stream: ChangeStream | undefined;
  private started = false;
  private ended = false;
  /** What this group reported to `countShared`. */
  private counted = 0;

  constructor(
    readonly key: string,
    readonly field: string,
    private readonly args: ExecutionArgs & { contextValue: SocketContext },
    readonly limits: FanoutLimits,
    readonly log: Logger,
    private readonly formatErrors: ErrorsFormat,
    private readonly owner: { ended(g: Group): void },
    private readonly execution: GroupExecution = INTERPRETED,
  ) {}

  /** Starts the stream once; members who joined meanwhile get `error` if it fails to start. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const ctx = this.args.contextValue;
    let stream: Awaited<ReturnType<typeof createSourceEventStream>>;
    ctx.beginUnit();
    try {
      stream = await createSourceEventStream(this.args);
    } catch (err) {
      stream = { errors: [err instanceof GraphQLError ? err : new GraphQLError(String(err))] };
    } finally {
      ctx.endUnit();
    }
    if (!(Symbol.asyncIterator in stream) || !isChangeStream(stream)) {
      let first: GraphQLError | undefined;
      if (Symbol.asyncIterator in stream) void (stream as AsyncIterableIterator<unknown>).return?.(); // not generated: cannot be shared
      else first = stream.errors?.[0];
      first ??= new GraphQLError('The subscription could not start');
      // As graphql-ws reports an iterator that fails: the error wrapped, then formatted.
      const payload = JSON.stringify(this.formatErrors([new GraphQLError(first.message, { originalError: first })]));
      this.end((m) => `{"id":${JSON.stringify(m.id)},"type":"error","payload":${payload}}`);
      return;
    }
    this.stream = stream;
    if (this.members.size === 0) {
      void this.stream.return?.();
      this.end(undefined);
      return;
    }
    this.recount();
    void this.pump(this.stream);
  }

  /** Reports members beyond the first while the stream runs (none otherwise). */
  recount(): void {
    const want = this.stream !== undefined && !this.ended ? Math.max(0, this.members.size - 1) : 0;
    if (want !== this.counted) {
      this.limits.countShared(want - this.counted);
      this.counted = want;
    }
  }

  /** The payload of a RESYNC event (executed now, for one member), as every change is executed. */
  resyncPayload(reason: string): SharedPayload {
    const p = this.payloadOf(this.stream?.[RESYNC_ROOT](reason) ?? {});
    if (!isPromise(p)) return p;
    // The generated change types resolve synchronously; a promise here would mean nested reads.
    void p.catch(() => undefined);
    return sharedPayload(JSON.stringify({ data: null, errors: this.formatErrors([new GraphQLError('RESYNC')]) }));
  }

  /** A member left; the last one stops the stream. */
  remove(m: Member): void {
    this.members.delete(m);
    if (this.members.size === 0 && this.stream !== undefined && !this.ended) {
      this.ended = true;
      this.owner.ended(this);
      void this.stream.return?.();
    }
    this.recount();
  }

  /** The payload JSON of a result: graphql-js's shape (`{"data":…}`, or errors, masked, before data). */
  private serialise(result: ExecutionResult): string {
    if (result.errors === undefined || result.errors.length === 0) return JSON.stringify({ data: result.data });
    return JSON.stringify({ errors: this.formatErrors(result.errors), data: result.data });
  }

  /** Executes one event (see {@link GroupExecution}). */
  private run(root: unknown): ExecutionResult | Promise<ExecutionResult> {
    const { compiled, verify } = this.execution;
    if (compiled === undefined) return execute({ ...this.args, rootValue: root });
    const result = compiled.run(root, this.args.contextValue, this.args.variableValues ?? {});
    if (!verify) return result;
    const reference = execute({ ...this.args, rootValue: root });
    if (isPromise(result) || isPromise(reference)) {
      return Promise.all([result, reference]).then(([a, b]) => this.compare(a, b));
    }
    return this.compare(result, reference);
  }

  /** Verify mode: the compiled result, or an INTERNAL_SERVER_ERROR when it differs from graphql-js's. */
  private compare(compiled: ExecutionResult, reference: ExecutionResult): ExecutionResult {
    const a = this.serialise(compiled);
    const b = this.serialise(reference);
    if (a === b) return compiled;
    this.log.error({ view: this.field, compiled: a, graphqlJs: b }, 'compiled subscription result differs from graphql-js');
    return { data: null, errors: [new GraphQLError('compiled subscription result differs from graphql-js', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })] };
  }

  /** Executes one root value under the group's context: its shared payload (a promise only when a resolver was async). */
  private payloadOf(root: Record<string, unknown>): SharedPayload | Promise<SharedPayload> {
    const ctx = this.args.contextValue;
    ctx.beginUnit();
    let r: ExecutionResult | Promise<ExecutionResult>;
    try {
      r = this.run(root);
    } catch (err) {
      ctx.endUnit();
      throw err;
    }
    if (!isPromise(r)) {
      ctx.endUnit();
      return sharedPayload(this.serialise(r));
    }
    return r.then((result) => sharedPayload(this.serialise(result))).finally(() => ctx.endUnit());
  }

  /**
   * Waits for changes, then executes and writes each run of them. The wait carries nothing
   * ({@link WAIT_READY}): a group waits seconds between changes (a rider's), long enough for the
   * wait's promise and this frame to be in V8's old generation; a change passed through them would
   * be kept alive by them through every young-generation collection until the next full one, and
   * promoted: at 2,000 changes/s that was ~2.2 MB per scavenge, against ~0.8 MB without it.
   * So the changes are taken and handled by {@link runReady}, synchronously, in a frame of their own.
   */
  private async pump(stream: ChangeStream): Promise<void> {
    try {
      for (;;) {
        await stream[WAIT_READY]();
        const yielded = slice();
        if (yielded !== undefined) await yielded;
        if (this.ended) break;
        // In a call of its own, so that no register of this long-lived frame keeps the changes.
        const running = this.runReady(stream);
        if (running === false) break; // woken with nothing ready: the stream ended
        if (running !== undefined) await running;
        if (this.ended) break;
      }
    } catch (err) {
      this.log.warn({ err, view: this.field }, 'shared subscription failed; completing its members');
      const payload = JSON.stringify(this.formatErrors([new GraphQLError(err instanceof Error ? err.message : String(err), { originalError: err instanceof Error ? err : undefined })]));
      this.end((m) => `{"id":${JSON.stringify(m.id)},"type":"error","payload":${payload}}`);
      return;
    }
    this.end((m) => `{"id":${JSON.stringify(m.id)},"type":"complete"}`);
  }

  /**
   * Takes the changes ready in `stream` (up to {@link COALESCE_MAX}), executes each once and writes
   * them to every member, each member's in one write. False when nothing was ready (the stream
   * ended); synchronous (undefined) unless a resolver was asynchronous or a large group had to yield
   * to the event loop in its member loop.
   */
  private runReady(stream: ChangeStream): Promise<void> | false | undefined {
    const roots = stream[TAKE_READY](COALESCE_MAX);
    if (roots.length === 0) return false;
    const t0 = performance.now();
    const keys = roots.map((root) => (root as { [CHANGE_KEY]?: string })[CHANGE_KEY]);
    const payloads: SharedPayload[] = [];
    for (let i = 0; i < roots.length; i++) {
      const p = this.payloadOf(roots[i]!);
      if (isPromise(p)) return this.runAsync(roots, keys, payloads, p, t0);
      payloads.push(p);
    }
    return this.written(payloads, keys, t0);
  }

  /** {@link runReady} from the first asynchronous payload on. */
  private async runAsync(roots: ReadonlyArray<Record<string, unknown>>, keys: ReadonlyArray<string | undefined>, payloads: SharedPayload[],
    pending: Promise<SharedPayload>, t0: number): Promise<void> {
    payloads.push(await pending);
    for (let i = payloads.length; i < roots.length; i++) {
      const p = this.payloadOf(roots[i]!);
      payloads.push(isPromise(p) ? await p : p);
    }
    await this.written(payloads, keys, t0);
  }

  /** The execute leg is done: writes the payloads to each member (see {@link writeMembers}). */
  private written(payloads: readonly SharedPayload[], keys: ReadonlyArray<string | undefined>, t0: number): Promise<void> | undefined {
    const t1 = performance.now();
    observeLegSince('execute', t0);
    sliceWork += t1 - t0;
    return this.writeMembers(this.members.values(), { payloads, keys, bodies: payloads.map((p) => p.body) }, t1, 0);
  }

  /**
   * Writes the payloads to the members `rest` yields. A large group yields inside its member loop
   * too (one change to 10,000 sockets is ~100 ms of writes): the loop goes on in {@link writeLater};
   * members who leave meanwhile are skipped, and the group's next change waits. `writeMs`: write
   * time before this call (the leg is observed once, at the end).
   */
  private writeMembers(rest: IterableIterator<Member>, run: Run, start: number, writeMs: number): Promise<void> | undefined {
    const { payloads, keys, bodies } = run;
    let mark = start;
    let n = 0;
    // A Set's iterator has no return(): leaving the loop early keeps its place for writeLater.
    for (const m of rest) {
      m.deliverMany(payloads, keys, bodies);
      if (++n % MEMBERS_PER_CHECK === 0) {
        const now = performance.now();
        writeMs += now - mark;
        sliceWork += now - mark;
        mark = now;
        if (sliceWork >= SLICE_MS) return this.writeLater(rest, run, writeMs);
      }
    }
    const end = performance.now();
    sliceWork += end - mark;
    observeLeg('write', (writeMs + end - mark) / 1000);
    return undefined;
  }

  /** Yields to the event loop, then goes on with {@link writeMembers}. */
  private async writeLater(rest: IterableIterator<Member>, run: Run, writeMs: number): Promise<void> {
    await slice();
    if (this.ended) return;
    await this.writeMembers(rest, run, performance.now(), writeMs);
  }

  /** Ends the group: each member gets `frame` (if any) and leaves its socket. */
  private end(frame: ((m: Member) => string) | undefined): void {
    if (!this.ended) {
      this.ended = true;
      this.owner.ended(this);
    }
    for (const m of this.members) {
      m.sock.members.delete(m.id);
      m.sock.forget(m);
      if (frame !== undefined && m.sock.socket.isOpen) m.sock.writeText(frame(m));
    }
    this.members.clear();
    this.recount();
  }
}

/** Fan-out work done since the last yield (ms), over every group. */
let sliceWork = 0;
let sliceYield: Promise<void> | undefined;

/** Yields to the event loop once {@link SLICE_MS} of fan-out work has been done without yielding. */
function slice(): Promise<void> | undefined {
  if (sliceWork < SLICE_MS) return undefined;
  sliceYield ??= new Promise<void>((resolve) => setImmediate(() => {
    sliceWork = 0;
    sliceYield = undefined;
    resolve();
  }));
  return sliceYield;
}

/** The groups of one websocket server. */
export class Fanout {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly limits: FanoutLimits, private readonly log: Logger, private readonly formatErrors: ErrorsFormat) {}

  /** Live groups (for tests and metrics). */
  get size(): number {
    return this.groups.size;
  }

  /** Payloads held for slow members: in all, and for the most backed-up one. O(members). */
  get buffered(): { readonly total: number; readonly max: number } {
    let total = 0;
    let max = 0;
    for (const g of this.groups.values()) {
      for (const m of g.members) {
        const n = m.buffered;
        total += n;
        if (n > max) max = n;
      }
    }
    return { total, max };
  }

  /**
   * Adds subscription `id` of `sock` to the group `key`; `args` (a fresh context for this viewer)
   * start the group when it is new, and are dropped otherwise.
   */
  join(
    sock: SocketFanout, id: string, key: string, field: string, args: () => ExecutionArgs & { contextValue: SocketContext },
    execution: GroupExecution = INTERPRETED,
  ): void {
    let group = this.groups.get(key);
    if (group === undefined) {
      group = new Group(key, field, args(), this.limits, this.log, this.formatErrors, this, execution);
      this.groups.set(key, group);
    }
    const m = new Member(sock, id, group);
    sock.members.set(id, m);
    group.members.add(m);
    group.recount();
    void group.start();
  }

  /** Group `g` ended (its stream stops): a new subscription with its key starts a new group. */
  ended(g: Group): void {
    if (this.groups.get(g.key) === g) this.groups.delete(g.key);
  }

  /** One member leaves (client complete, or its socket closed). */
  leave(m: Member): void {
    m.sock.members.delete(m.id);
    m.sock.forget(m);
    m.group.remove(m);
  }
}
