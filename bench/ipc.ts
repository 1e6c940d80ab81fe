/**
 * A small request/reply channel between a bench and its child processes (subscribers, producer,
 * load generator) over Node IPC with structured-clone serialization, plus CPU/memory readings of
 * either side. The parent forks with {@link ChildRpc.fork}; the child answers with {@link serveRpc}.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Request {
  readonly rpc: 'call';
  readonly id: number;
  readonly method: string;
  readonly params: unknown;
}

type Reply = { readonly rpc: 'reply'; readonly id: number; readonly result: unknown } | { readonly rpc: 'reply'; readonly id: number; readonly error: string };

/** A child process answering {@link ChildRpc.call}s (its side: {@link serveRpc}). */
export class ChildRpc {
  private lastId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited = false;

  private constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: Reply) => {
      if (m?.rpc !== 'reply') return;
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if ('error' in m) p.reject(new Error(`child: ${m.error}`));
      else p.resolve(m.result);
    });
    proc.on('exit', (code, signal) => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`child exited (code ${code}, signal ${signal})`));
      this.pending.clear();
    });
  }

  /**
   * Forks `modulePath` (compiled JS) with structured-clone IPC, so typed arrays and large replies
   * travel efficiently. stdout/stderr are inherited: children write progress to stderr only.
   */
  static fork(modulePath: string, execArgv: readonly string[] = []): ChildRpc {
    return new ChildRpc(fork(modulePath, ['--bench-child'], { serialization: 'advanced', execArgv: [...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  call<T>(method: string, params: unknown = {}): Promise<T> {
    if (this.exited) return Promise.reject(new Error('child has exited'));
    const id = ++this.lastId;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ rpc: 'call', id, method, params } satisfies Request);
    });
  }

  /** The child's {@link Usage}. */
  usage(): Promise<Usage> {
    return this.call('usage');
  }

  /** Asks the child to exit (it answers 'exit' and leaves), then kills it if it is still there after 5 s. */
  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    await this.call('exit').catch(() => undefined);
    const kill = setTimeout(() => this.proc.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(kill);
  }
}

/** True when this module runs as a bench child (forked by {@link ChildRpc.fork}). */
export function isBenchChild(): boolean {
  return process.send !== undefined && process.argv.includes('--bench-child');
}

/** CPU time (µs, user + system) and memory of a process. */
export interface Usage {
  cpuMicros: number;
  memory: NodeJS.MemoryUsage;
}

/** {@link Usage} of this process. */
export async function usage(): Promise<Usage> {
  const c = process.cpuUsage();
  return { cpuMicros: c.user + c.system, memory: process.memoryUsage() };
}

/** CPU use between two {@link Usage} readings, in % of one core over `seconds`. */
export function cpuPercent(from: Usage, to: Usage, seconds: number): number {
  return Math.round((to.cpuMicros - from.cpuMicros) / 1e4 / seconds);
}

/** The child's side: answers calls with `handlers[method](params)`; `exit` and `usage` are built in. */
export function serveRpc(handlers: Record<string, (params: never) => Promise<unknown>>): void {
  const reply = (m: Reply): void => void process.send?.(m);
  process.on('message', (m: Request) => {
    if (m?.rpc !== 'call') return;
    if (m.method === 'exit') {
      // Leave once the reply is sent; open sockets must not keep a bench child alive.
      process.send?.({ rpc: 'reply', id: m.id, result: null } satisfies Reply, () => process.exit(0));
      return;
    }
    const handler = m.method === 'usage' ? usage : handlers[m.method];
    if (handler === undefined) {
      reply({ rpc: 'reply', id: m.id, error: `unknown method ${m.method}` });
      return;
    }
    handler(m.params as never).then(
      (result) => reply({ rpc: 'reply', id: m.id, result }),
      (err: unknown) => reply({ rpc: 'reply', id: m.id, error: err instanceof Error ? err.stack ?? err.message : String(err) }),
    );
  });
  // The parent went away: so do we.
  process.on('disconnect', () => process.exit(0));
}

/**
 * CPU time (µs) of the Kafka broker that scripts/kafka.sh started as instance `KAFKA_NAME` (default
 * `default`), read from its pid file and /proc/<pid>/stat (utime + stime, in clock ticks of 10 ms:
 * Linux's USER_HZ of 100); undefined when there is no such broker here (another machine, or not Linux).
 */
export function brokerCpuMicros(): number | undefined {
  try {
    const name = process.env['KAFKA_NAME'] ?? 'default';
    const pid = readFileSync(join(__dirname, '..', '..', '.kafka', 'run', `${name}.pid`), 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
    return (Number(fields[11]) + Number(fields[12])) * 10_000; // utime, stime (fields 14 and 15)
  } catch {
    return undefined;
  }
}
