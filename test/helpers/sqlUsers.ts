import type { Viewer } from '../../src/auth/viewer';
import { makeVerifier } from '../../src/passthrough/scram';
import type { SqlUser } from '../../src/passthrough/users';

/** A passthrough user (a 1-iteration verifier: tests that never log in). */
export function sqlUser(name: string, role: string, sub?: string, claims: Viewer['claims'] = {}): SqlUser {
  return { name, role, verifier: makeVerifier('unused', 1), viewer: { sub: sub ?? name, role, claims } };
}
