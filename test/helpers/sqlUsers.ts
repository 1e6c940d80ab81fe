import type { Viewer } from '../../src/auth/viewer';
import { makeVerifier } from '../../src/passthrough/scram';
import type { SqlUser } from '../../src/passthrough/users';
import { bundledRegistry } from '../../src/views/load';
import type { Registry } from '../../src/views/model';

/** A passthrough user of the bundled registry (a 1-iteration verifier: tests that never log in). */
export function sqlUser(name: string, role: string, sub?: string, claims: Viewer['claims'] = {}, registry: Registry = bundledRegistry()): SqlUser {
  return { name, role, verifier: makeVerifier('unused', 1), viewer: { sub: sub ?? name, role, claims }, registry };
}
