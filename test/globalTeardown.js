// Stops the Kafka broker that test/globalSetup.js started (and only that one).
'use strict';
const { execFileSync } = require('node:child_process');

module.exports = async function globalTeardown() {
  const started = globalThis.__WAVEGATE_STARTED_KAFKA__;
  if (!started) return;
  execFileSync(started.script, ['stop'], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, KAFKA_PORT: String(started.port) } });
};
