import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

let cached: string | undefined;

/** The package root (the folder holding package.json, schema/ and migrations/), from src or dist. */
export function projectRoot(): string {
  if (cached !== undefined) return cached;
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'schema'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the wavegate package root above ${__dirname}`);
    dir = up;
  }
  cached = dir;
  return dir;
}
