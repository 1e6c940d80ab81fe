/**
 * Lets Node run the example's TypeScript without a build step (no ts-node in this repo):
 *   node -r ./examples/ride-hailing/register.js examples/ride-hailing/src/main.ts
 * Each .ts file outside node_modules is transpiled on require with the root tsconfig's options
 * (CommonJS, no type check: `npx tsc -p examples/ride-hailing/tsconfig.json --noEmit` does that).
 * The example imports Wavegate by its package name (`wavegate/consumer`, `wavegate/outbox`, ...):
 * those resolve through package.json `exports` under the `wavegate-source` condition, to the
 * TypeScript sources, as `node --conditions=wavegate-source` would (a require hook cannot add a
 * condition to Node's resolver, so this maps the names itself).
 */
'use strict';
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const ts = require('typescript');

const root = path.join(__dirname, '..', '..');
const configFile = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
const { options } = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
const compilerOptions = { ...options, module: ts.ModuleKind.CommonJS, sourceMap: false, inlineSourceMap: true, declaration: false };

require.extensions['.ts'] = function compile(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  if (filename.includes(`${path.sep}node_modules${path.sep}`)) throw new Error(`register.js: refusing to compile ${filename}`);
  const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};

const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const resolve = Module._resolveFilename;
Module._resolveFilename = function resolveWavegateSource(request, ...rest) {
  if (request === pkg.name || request.startsWith(`${pkg.name}/`)) {
    const entry = pkg.exports[`.${request.slice(pkg.name.length)}`];
    const target = entry === undefined ? undefined : entry['wavegate-source'];
    if (target === undefined) throw new Error(`register.js: ${request} is not exported by package.json`);
    return path.join(root, target);
  }
  return resolve.call(this, request, ...rest);
};
