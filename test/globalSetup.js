// Makes `npm test` self-sufficient on a fresh machine: when no Kafka broker answers where the Kafka
// tests look (KAFKA_BROKERS, default 127.0.0.1:19092), start one with scripts/kafka.sh (jars from
// Maven Central on first use) and stop it again in globalTeardown. A broker that was already
// running (e.g. started by .ci/run or by hand) is left alone.
'use strict';
const { execFileSync } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');

function reachable(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
}

module.exports = async function globalSetup() {
  const first = (process.env.KAFKA_BROKERS || '127.0.0.1:19092').split(',')[0];
  const [host, portText] = first.split(':');
  const port = Number(portText);
  if (await reachable(host, port)) return;
  if (process.env.KAFKA_BROKERS || (host !== '127.0.0.1' && host !== 'localhost')) {
    throw new Error(`No Kafka broker at ${first} (KAFKA_BROKERS); start one with scripts/kafka.sh start`);
  }
  const script = path.join(__dirname, '..', 'scripts', 'kafka.sh');
  process.stderr.write(`\nglobalSetup: no Kafka broker on ${first}; starting one with scripts/kafka.sh\n`);
  execFileSync(script, ['start'], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, KAFKA_PORT: String(port) } });
  globalThis.__WAVEGATE_STARTED_KAFKA__ = { script, port };
};
