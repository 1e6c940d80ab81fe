import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Server side of SCRAM-SHA-256 (RFC 5802 / RFC 7677) as Postgres does it: verifiers in Postgres'
 * stored form, the two-round exchange, and a mock exchange for unknown users so that a wrong user
 * and a wrong password look the same (Postgres' `scram_mock_salt`). No channel binding is offered
 * (SCRAM-SHA-256-PLUS); clients that require it are refused.
 */

/** A SCRAM-SHA-256 verifier: what the server stores instead of the password. */
export interface ScramVerifier {
  readonly iterations: number;
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

/** The mechanism name offered in AuthenticationSASL. */
export const SCRAM_MECHANISM = 'SCRAM-SHA-256';

/** PBKDF2 iterations for verifiers made from plain passwords (Postgres' default). @default 4096 */
export const DEFAULT_ITERATIONS = 4096;

const hmac = (key: Buffer, data: string | Buffer) => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

/**
 * Postgres runs passwords through SASLprep before hashing. For ASCII passwords that is the
 * identity; NFKC normalisation covers the common non-ASCII mappings (docs/SQL.md recommends ASCII).
 */
function prep(password: string): string {
  return password.normalize('NFKC');
}

/** Makes a verifier from a password (random salt). */
export function makeVerifier(password: string, iterations = DEFAULT_ITERATIONS, salt: Buffer = randomBytes(16)): ScramVerifier {
  const salted = pbkdf2Sync(prep(password), salt, iterations, 32, 'sha256');
  const clientKey = hmac(salted, 'Client Key');
  return { iterations, salt, storedKey: sha256(clientKey), serverKey: hmac(salted, 'Server Key') };
}

const B64 = '[A-Za-z0-9+/]+={0,2}';
const VERIFIER_RE = new RegExp(`^SCRAM-SHA-256\\$(\\d{1,9}):(${B64})\\$(${B64}):(${B64})`);

/**
 * Parses the prefix of `text` that is a verifier as Postgres stores it in pg_authid.rolpassword:
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64). Returns the verifier and
 * how many characters it used, or undefined when `text` does not start with a valid one.
 */
export function parseVerifierPrefix(text: string): { verifier: ScramVerifier; length: number } | undefined {
  const m = VERIFIER_RE.exec(text);
  if (!m) return undefined;
  const iterations = Number(m[1]);
  const salt = Buffer.from(m[2]!, 'base64');
  const storedKey = Buffer.from(m[3]!, 'base64');
  const serverKey = Buffer.from(m[4]!, 'base64');
  if (iterations < 1 || salt.length === 0 || storedKey.length !== 32 || serverKey.length !== 32) return undefined;
  return { verifier: { iterations, salt, storedKey, serverKey }, length: m[0].length };
}

/** The verifier in Postgres' stored form (what `parseVerifierPrefix` reads). */
export function formatVerifier(v: ScramVerifier): string {
  return `SCRAM-SHA-256$${v.iterations}:${v.salt.toString('base64')}$${v.storedKey.toString('base64')}:${v.serverKey.toString('base64')}`;
}

/** Outcome of one client message in the exchange. */
export type ScramStep =
  | { readonly kind: 'continue'; readonly serverFirst: string }
  | { readonly kind: 'ok'; readonly serverFinal: string }
  | { readonly kind: 'fail'; readonly reason: string };

/**
 * One SCRAM exchange. `verifier` undefined = unknown user: the exchange runs with a mock salt
 * derived from `mockSecret` and the user name (stable per user, like Postgres) and always fails.
 */
export class ScramExchange {
  private clientFirstBare: string | undefined;
  private serverFirst: string | undefined;
  private gs2Header: string | undefined;
  private nonce: string | undefined;
  private done = false;
  private readonly verifier: ScramVerifier;
  private readonly real: boolean;

  constructor(verifier: ScramVerifier | undefined, user: string, mockSecret: Buffer) {
    this.real = verifier !== undefined;
    this.verifier = verifier ?? {
      iterations: DEFAULT_ITERATIONS,
      salt: hmac(mockSecret, `salt:${user}`).subarray(0, 16),
      storedKey: randomBytes(32),
      serverKey: randomBytes(32),
    };
  }

  /** SASLInitialResponse: mechanism and client-first-message. */
  first(mechanism: string, data: string): ScramStep {
    if (this.clientFirstBare !== undefined) return { kind: 'fail', reason: 'unexpected SASLInitialResponse' };
    if (mechanism !== SCRAM_MECHANISM) return { kind: 'fail', reason: `unsupported SASL mechanism "${mechanism}"` };
    // gs2-header: "n,," (no channel binding) or "y,," (client could but we did not offer it).
    const m = /^([ny]),(a=[^,]*)?,(.*)$/.exec(data);
    if (!m) return { kind: 'fail', reason: data.startsWith('p=') ? 'channel binding is not supported' : 'malformed SCRAM client-first-message' };
    const bare = m[3]!;
    const attrs = parseAttrs(bare);
    const cnonce = attrs.get('r');
    if (attrs.has('m') || cnonce === undefined || !/^[\x21-\x2b\x2d-\x7e]+$/.test(cnonce)) {
      return { kind: 'fail', reason: 'malformed SCRAM client-first-message' };
    }
    this.gs2Header = `${m[1]},${m[2] ?? ''},`;
    this.clientFirstBare = bare;
    this.nonce = cnonce + randomBytes(18).toString('base64');
    this.serverFirst = `r=${this.nonce},s=${this.verifier.salt.toString('base64')},i=${this.verifier.iterations}`;
    return { kind: 'continue', serverFirst: this.serverFirst };
  }

  /** SASLResponse: client-final-message. */
  final(data: string): ScramStep {
    if (this.serverFirst === undefined || this.done) return { kind: 'fail', reason: 'unexpected SASLResponse' };
    this.done = true;
    const proofAt = data.lastIndexOf(',p=');
    if (proofAt < 0) return { kind: 'fail', reason: 'malformed SCRAM client-final-message' };
    const withoutProof = data.slice(0, proofAt);
    const attrs = parseAttrs(withoutProof);
    const proof = Buffer.from(data.slice(proofAt + 3), 'base64');
    if (attrs.get('c') !== Buffer.from(this.gs2Header!, 'utf8').toString('base64')) return { kind: 'fail', reason: 'SCRAM channel binding check failed' };
    if (attrs.get('r') !== this.nonce) return { kind: 'fail', reason: 'SCRAM nonce mismatch' };
    if (proof.length !== 32) return { kind: 'fail', reason: 'malformed SCRAM proof' };
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.verifier.storedKey, authMessage);
    const clientKey = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
    const matches = timingSafeEqual(sha256(clientKey), this.verifier.storedKey);
    if (!this.real) return { kind: 'fail', reason: 'unknown user' };
    if (!matches) return { kind: 'fail', reason: 'password does not match' };
    return { kind: 'ok', serverFinal: `v=${hmac(this.verifier.serverKey, authMessage).toString('base64')}` };
  }
}

function parseAttrs(s: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of s.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out.set(part[0]!, part.slice(2));
  }
  return out;
}
