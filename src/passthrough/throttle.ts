import { LRUCache } from 'lru-cache';

/**
 * Back-off on wrong SQL passwords (docs/SQL.md "Limits"): every failed SCRAM proof counts against
 * the user name and against the client's address. The answer to the next proof from that user or
 * that address, right or wrong, waits
 *
 *     delay(f) = 0 when f = 0, else min(maxMs, baseMs × 2^(f−1)),   f = max(failures of user, of address)
 *
 * so a guesser's attempts slow down exponentially up to a bound, and a right password after many
 * wrong ones is not answered at once either (the delay comes before the proof is checked and does
 * not depend on it, so it says nothing about the password). Like Postgres' auth_delay module, the
 * client sees a slow answer, then 28P01 or AuthenticationOk: every driver handles that. The waiting
 * connection stays in the pending budget (admission.ts) under the auth timeout, which the
 * configuration keeps longer than `maxMs`; it never takes an authenticated slot.
 *
 * Failures are forgotten `windowMs` after the last one; a successful login forgets the user's
 * failures, not the address's. Unknown user names are counted like known ones (the same delays, so
 * timing does not tell them apart). Both maps are LRU-bounded, so random names cannot grow memory.
 */

/** Settings of {@link LoginThrottle}. */
export interface LoginThrottleOptions {
  /** Delay after the first failure, in milliseconds; 0 turns the back-off off. */
  readonly baseMs: number;
  /** Longest delay, in milliseconds. */
  readonly maxMs: number;
  /** Failures are forgotten this long after the last one, in milliseconds. */
  readonly windowMs: number;
  /** Users and addresses remembered (each map). @default 10_000 */
  readonly maxEntries?: number;
}

/** Failed-login counters of one listener. */
export class LoginThrottle {
  private readonly users: LRUCache<string, number>;
  private readonly addresses: LRUCache<string, number>;

  constructor(private readonly o: LoginThrottleOptions) {
    const cache = () => new LRUCache<string, number>({ max: o.maxEntries ?? 10_000, ttl: o.windowMs, updateAgeOnGet: false });
    this.users = cache();
    this.addresses = cache();
  }

  /** Milliseconds to wait before answering a SCRAM proof of `user` from `address`. */
  delayMs(user: string, address: string): number {
    const f = Math.max(this.users.get(user) ?? 0, this.addresses.get(address) ?? 0);
    if (f === 0 || this.o.baseMs === 0) return 0;
    // 2^(f-1) overflows to Infinity for large f; min() keeps it at the bound.
    return Math.min(this.o.maxMs, this.o.baseMs * 2 ** Math.min(f - 1, 60));
  }

  /** A proof of `user` from `address` was wrong (or the user is unknown). */
  failed(user: string, address: string): void {
    this.users.set(user, (this.users.get(user) ?? 0) + 1);
    this.addresses.set(address, (this.addresses.get(address) ?? 0) + 1);
  }

  /** `user` logged in: forgets the user's failures (the address keeps its own). */
  succeeded(user: string): void {
    this.users.delete(user);
  }
}
