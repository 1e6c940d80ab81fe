/**
 * The floor of broadcast fan-out on this machine (issue 14): the cost of handing one small frame to
 * each of `sockets` loopback TCP connections, with nothing else in the way: no websocket library,
 * no GraphQL, no Kafka. A child process holds the client ends and reads everything (as the bench
 * clients of kafka-fanout do); this process writes one `bytes`-byte Buffer to every server end per
 * round, `rounds` times, and reports per write its wall time and its CPU time (user and system:
 * nearly all of it is the kernel's loopback TCP path). 1e6 ÷ µs per write is the most deliveries/s
 * one core can hand to distinct sockets, whatever the server above it does.
 *
 * Modes: `single` (one write per socket per round, as the fan-out writes a frame), `pair` (two
 * writes corked into one writev, as ws writes a frame's header and payload).
 *
 * Run: `npm run build && node dist/bench/socket-floor.js [--sockets=10000] [--bytes=300] [--rounds=3]`
 */
import { fork } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { emit, machineLoad, note, numberFlags } from './harness';
import { environment, runMain } from './util';

const CHILD = '--socket-floor-child';

/** Child: opens `sockets` connections to `port`, reads everything, tells the parent how many bytes arrived when asked. */
function child(): void {
  const [port, sockets] = process.argv.slice(-2).map(Number) as [number, number];
  let received = 0;
  let open = 0;
  const connectOne = (): void => {
    const s = connect(port, '127.0.0.1', () => {
      if (++open === sockets) process.send?.({ ready: true });
      else connectOne();
    });
    s.on('data', (d: Buffer) => {
      received += d.length;
    });
  };
  connectOne();
  process.on('message', (m: { until?: number }) => {
    if (m.until === undefined) return;
    const target = m.until;
    const check = (): void => {
      if (received >= target) process.send?.({ received });
      else setImmediate(check);
    };
    check();
  });
}

async function main(): Promise<void> {
  const flags = numberFlags({ sockets: 10_000, bytes: 300, rounds: 3 });
  const conns: Socket[] = [];
  const server = createServer({ noDelay: true }, (s) => {
    s.setNoDelay(true); // as ws sets it
    conns.push(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const kid = fork(__filename, [CHILD, String(port), String(flags.sockets)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const fromChild = <T>(): Promise<T> => new Promise((resolve) => kid.once('message', (m) => resolve(m as T)));
  await fromChild<{ ready: true }>();
  while (conns.length < flags.sockets) await new Promise((resolve) => setImmediate(resolve));
  note(`${flags.sockets} loopback connections open`);
  const frame = Buffer.alloc(flags.bytes, 0x61);
  let expected = 0;
  const results: Record<string, unknown> = {};
  const load = { start: machineLoad() };
  for (const mode of ['single', 'pair'] as const) {
    const rounds: Array<{ wallMicrosPerWrite: number; cpuMicrosPerWrite: number; systemMicrosPerWrite: number }> = [];
    for (let r = 0; r < flags.rounds; r++) {
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      for (const s of conns) {
        if (mode === 'single') {
          s.write(frame);
        } else {
          s.cork();
          s.write(frame.subarray(0, 8));
          s.write(frame.subarray(8));
          s.uncork();
        }
      }
      const wall = Number(process.hrtime.bigint() - t0) / 1e3;
      const cpu = process.cpuUsage(cpu0);
      expected += flags.sockets * flags.bytes;
      const done = fromChild<{ received: number }>();
      kid.send({ until: expected });
      await done; // the client read everything: the next round starts from empty buffers
      rounds.push({
        wallMicrosPerWrite: +(wall / flags.sockets).toFixed(2),
        cpuMicrosPerWrite: +((cpu.user + cpu.system) / flags.sockets).toFixed(2),
        systemMicrosPerWrite: +(cpu.system / flags.sockets).toFixed(2),
      });
    }
    const best = Math.min(...rounds.map((x) => x.cpuMicrosPerWrite));
    results[mode] = { rounds, bestCpuMicrosPerWrite: best, deliveriesPerSecondOneCore: Math.round(1e6 / best) };
  }
  kid.kill();
  for (const s of conns) s.destroy();
  server.close();
  emit({ bench: 'socket-floor', ...environment(), ...flags, machineLoad: { ...load, end: machineLoad() }, ...results });
}

if (process.argv.includes(CHILD)) child();
else runMain(main);
