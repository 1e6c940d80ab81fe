import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * Starts worker.ts as a worker thread. Built (`dist/`), the compiled `worker.js` sits next to this
 * file and runs as is. From the TypeScript sources (ts-jest runs the tests without a build), there is
 * no `.js` to start, so a small bootstrap registers a `.ts` loader in the worker that transpiles with
 * the `typescript` package (a dev dependency, present wherever the sources run) and then requires
 * worker.ts. Production never takes that path: `dist/` always has `worker.js`.
 */
export function spawnPassthroughWorker(resourceLimits: ResourceLimits): Worker {
  const compiled = join(__dirname, 'worker.js');
  if (existsSync(compiled)) return new Worker(compiled, { resourceLimits });
  const source = join(__dirname, 'worker.ts');
  return new Worker(TS_BOOTSTRAP, { eval: true, resourceLimits, workerData: { entry: source } });
}

const TS_BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
const Module = require('node:module');
const fs = require('node:fs');
const requireHere = Module.createRequire(workerData.entry);
const ts = requireHere('typescript');
Module._extensions['.ts'] = (module, filename) => {
  const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  module._compile(out.outputText, filename);
};
requireHere(workerData.entry);
`;
