import { resolve } from 'node:path';
import { bundledRegistry, bundledSchemaDir, loadRegistry } from '../views/load';
import type { Registry } from '../views/model';
import { envString, type Env } from './env';

/**
 * `WAVEGATE_SCHEMA_DIR`: the schema directory whose declarations (docs/VIEWS.md) say which views
 * Wavegate serves, migrates and sinks. Unset: the bundled ride-hailing `schema/`. A relative path is
 * taken from the working directory. Throws BAD_CONFIG naming the file and the problem.
 */
export function loadViews(env: Env): Registry {
  const dir = envString(env, 'WAVEGATE_SCHEMA_DIR');
  if (dir === undefined) return bundledRegistry();
  const abs = resolve(dir);
  return abs === bundledSchemaDir() ? bundledRegistry() : loadRegistry(abs);
}
