/**
 * `npm run bench`: runs the benches one after another, each in its own `node` process with its
 * default parameters, and passes their JSON result lines through to stdout (progress goes to
 * stderr). kafka-fanout runs only when KAFKA_BROKERS names a broker; peers needs the local PostgreSQL
 * (WAVEGATE_BENCH_PG_URL) and installs PostGraphile into bench/peers on first use (docs/benchmarks.md).
 * abuse (hostile clients against a started gateway, a few minutes) and soak (10 minutes; needs
 * KAFKA_BROKERS and the local PostgreSQL) run only when named: `npm run bench -- abuse soak`.
 *
 * Run: `npm run bench` or `node dist/bench/run.js [events] [latency] [queries] [peers] [kafka-fanout] [abuse] [soak]`
 */
import { runMain } from './util';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ALL = ['events', 'latency', 'queries', 'peers', 'kafka-fanout', 'abuse', 'soak'] as const;
/** Run only when asked for by name. */
const ON_REQUEST: readonly Name[] = ['abuse', 'soak'];
type Name = (typeof ALL)[number];

function runOne(name: Name): Promise<number> {
  // kafka-fanout measures memory after full GCs.
  const args = [...(name === 'kafka-fanout' ? ['--expose-gc'] : []), join(__dirname, `${name}.js`)];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<void> {
  const asked = process.argv.slice(2);
  for (const a of asked) if (!(ALL as readonly string[]).includes(a)) throw new Error(`unknown bench ${a}: one of ${ALL.join(', ')}`);
  const names = (asked.length > 0 ? asked : ALL.filter((n) => !ON_REQUEST.includes(n) && (n !== 'kafka-fanout' || process.env['KAFKA_BROKERS'] !== undefined))) as Name[];
  if (asked.length === 0 && !names.includes('kafka-fanout')) process.stderr.write('kafka-fanout skipped: set KAFKA_BROKERS (see docs/benchmarks.md)\n');
  let failed = 0;
  for (const name of names) {
    process.stderr.write(`== ${name}\n`);
    const code = await runOne(name);
    if (code !== 0) {
      failed++;
      process.stderr.write(`== ${name} failed (exit ${code})\n`);
    }
  }
  process.exitCode = failed > 0 ? 1 : 0;
}

runMain(main);
