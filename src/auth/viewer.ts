/** Roles a token may carry. */
export const ROLES = ['rider', 'driver', 'ops'] as const;

/** One of {@link ROLES}: riders and drivers see their own rows, ops sees everything. */
export type Role = (typeof ROLES)[number];

/** Who is asking: the verified `sub` and `role` claims of the bearer token. */
export interface Viewer {
  /** Rider id for riders, driver id for drivers, a person or service id for ops. */
  readonly sub: string;
  readonly role: Role;
  /** Token expiry (ms since epoch); undefined when auth is off. Websockets close at this time. */
  readonly expiresAt?: number;
}

/** The viewer of every request when auth is switched off (`WAVEGATE_AUTH=off`): full access. */
export const ANONYMOUS_OPS: Viewer = Object.freeze({ sub: 'anonymous', role: 'ops' });

/** Type guard for {@link Role}. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
