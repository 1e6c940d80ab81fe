#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI lives in dist/src/cli (built by `npm run build`).
require('../dist/src/cli/index.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`wavegate: ${err && err.message ? err.message : String(err)}\n`); process.exitCode = 1; },
);
