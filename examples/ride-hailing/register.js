/**
 * Lets Node run the example's TypeScript without a build step (no ts-node in this repo):
 *   node -r ./examples/ride-hailing/register.js examples/ride-hailing/src/main.ts
 * Each .ts file outside node_modules is transpiled on require with the root tsconfig's options
 * (CommonJS, no type check: `npx tsc -p examples/ride-hailing/tsconfig.json --noEmit` does that).
 */
'use strict';
const fs = require('node:fs');
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
