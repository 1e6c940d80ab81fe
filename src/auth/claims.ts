import type { ClaimValue, RoleDecl } from '../views/model';

/** Longest string claim value accepted (ids; like `sub`). */
export const MAX_CLAIM_LENGTH = 256;
/** Most items of a list claim (`string[]`): a row test holds them in a set per subscription. */
export const MAX_CLAIM_ITEMS = 1000;

/**
 * The declared claims of `role` read from `source` (a token payload, or claims given on the command
 * line or in WAVEGATE_SQL_USERS): each must be there with its declared type, `string` or `string[]`.
 * Undeclared names are ignored. NUL is refused (no SQL string can hold it). A problem names the
 * claim and the type expected, never the value.
 */
export function readClaims(role: RoleDecl, source: Readonly<Record<string, unknown>>): { claims: Record<string, ClaimValue> } | { problem: string } {
  const claims: Record<string, ClaimValue> = {};
  for (const decl of role.claims) {
    const v = Object.hasOwn(source, decl.name) ? source[decl.name] : undefined;
    if (v === undefined) return { problem: `missing claim ${decl.name} (${decl.type}) of role ${role.name}` };
    if (decl.type === 'string') {
      if (typeof v !== 'string' || v.length > MAX_CLAIM_LENGTH || v.includes('\0')) {
        return { problem: `claim ${decl.name} must be a string of at most ${MAX_CLAIM_LENGTH} characters` };
      }
      claims[decl.name] = v;
    } else {
      if (!Array.isArray(v) || v.length > MAX_CLAIM_ITEMS || !v.every((x) => typeof x === 'string' && x.length <= MAX_CLAIM_LENGTH && !x.includes('\0'))) {
        return { problem: `claim ${decl.name} must be a list of at most ${MAX_CLAIM_ITEMS} strings` };
      }
      claims[decl.name] = Object.freeze([...(v as string[])]);
    }
  }
  return { claims };
}
