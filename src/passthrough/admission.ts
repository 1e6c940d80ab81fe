import { isIPv6 } from 'node:net';

/**
 * Who may hold a connection to the SQL passthrough (docs/SQL.md "Limits"). Connections are in one
 * of two budgets:
 *
 *   connect ──▶ pending (startup, TLS, SCRAM, login back-off) ──login ok──▶ authenticated ──▶ gone
 *
 * - pending: at most `maxPending` over all addresses and `maxPendingPerAddress` from one address,
 *   each for at most the auth timeout (session.ts). When the pending budget is full, the OLDEST
 *   pending connection is evicted (FATAL 53300) to admit the new one, so idle sockets opened from
 *   many addresses cannot keep a real user from logging in: to starve logins an attacker has to open
 *   `maxPending` connections within the few milliseconds a real SCRAM exchange takes.
 * - authenticated: at most `maxConnections`, checked on arrival (no point authenticating into a full
 *   server) and again when the login succeeds. Pending connections never take these slots.
 * - one address holds at most `maxConnectionsPerAddress` connections, pending and authenticated.
 *
 * No sockets here: the listener asks and acts (refuses, evicts). Addresses are keyed as the peer
 * is seen: IPv4 (also IPv4-mapped IPv6) by address, IPv6 by its /64, which one host usually owns whole.
 */

/** The caps (all whole numbers >= 1). */
export interface AdmissionLimits {
  /** Authenticated sessions, all addresses. */
  readonly maxConnections: number;
  /** Connections not yet authenticated, all addresses. */
  readonly maxPending: number;
  /** Connections not yet authenticated from one address. */
  readonly maxPendingPerAddress: number;
  /** Connections (pending and authenticated) from one address. */
  readonly maxConnectionsPerAddress: number;
}

/** One admitted connection. */
export interface Ticket {
  /** The address key (see {@link addressKey}). */
  readonly address: string;
  phase: 'pending' | 'authenticated' | 'gone';
  /** Called when the connection is evicted to make room for a newer pending one. */
  readonly evict: () => void;
}

/** What {@link Admission.arrive} decides. */
export type Arrival =
  | { readonly ok: true; readonly ticket: Ticket }
  | { readonly ok: false; readonly message: string };

interface PerAddress {
  pending: number;
  total: number;
}

/** The admission state of one listener. */
export class Admission {
  /** Pending tickets in arrival order (a Set iterates in insertion order: the first is the oldest). */
  private readonly pendingTickets = new Set<Ticket>();
  private authenticatedCount = 0;
  private readonly byAddress = new Map<string, PerAddress>();

  constructor(private readonly limits: AdmissionLimits) {}

  /** Connections waiting to authenticate. */
  get pending(): number {
    return this.pendingTickets.size;
  }

  /** Authenticated sessions. */
  get authenticated(): number {
    return this.authenticatedCount;
  }

  /**
   * A new connection from `remoteAddress`: admitted as pending (possibly evicting the oldest pending
   * connection, whose `evict` is called before this returns), or refused with a message for 53300.
   */
  arrive(remoteAddress: string | undefined, evict: () => void): Arrival {
    const address = addressKey(remoteAddress);
    const per = this.byAddress.get(address) ?? { pending: 0, total: 0 };
    if (this.authenticatedCount >= this.limits.maxConnections) return { ok: false, message: 'sorry, too many clients already' };
    if (per.total >= this.limits.maxConnectionsPerAddress) return { ok: false, message: 'too many connections from this address' };
    if (per.pending >= this.limits.maxPendingPerAddress) return { ok: false, message: 'too many connections awaiting authentication from this address' };
    if (this.pendingTickets.size >= this.limits.maxPending) {
      const oldest = this.pendingTickets.values().next().value;
      if (oldest !== undefined) {
        this.leave(oldest);
        oldest.evict();
      }
    }
    const ticket: Ticket = { address, phase: 'pending', evict };
    this.pendingTickets.add(ticket);
    per.pending++;
    per.total++;
    this.byAddress.set(address, per);
    return { ok: true, ticket };
  }

  /** The login of `ticket` succeeded: moves it to the authenticated budget, or says why not (53300). */
  promote(ticket: Ticket): string | undefined {
    if (ticket.phase !== 'pending') return ticket.phase === 'gone' ? 'connection was closed' : undefined;
    if (this.authenticatedCount >= this.limits.maxConnections) return 'sorry, too many clients already';
    this.pendingTickets.delete(ticket);
    const per = this.byAddress.get(ticket.address);
    if (per !== undefined) per.pending--;
    ticket.phase = 'authenticated';
    this.authenticatedCount++;
    return undefined;
  }

  /** The connection of `ticket` is gone (closed, refused or evicted). Idempotent. */
  leave(ticket: Ticket): void {
    if (ticket.phase === 'gone') return;
    const per = this.byAddress.get(ticket.address);
    if (ticket.phase === 'pending') {
      this.pendingTickets.delete(ticket);
      if (per !== undefined) per.pending--;
    } else {
      this.authenticatedCount--;
    }
    ticket.phase = 'gone';
    if (per !== undefined && --per.total <= 0) this.byAddress.delete(ticket.address);
  }
}

/**
 * The key connections from `address` are counted under: IPv4 as is (`::ffff:a.b.c.d` as `a.b.c.d`),
 * IPv6 by its first four groups (the /64), an unknown address as `?`.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return '?';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const zone = address.indexOf('%');
  const bare = zone >= 0 ? address.slice(0, zone) : address;
  const [head = '', tail] = bare.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}
