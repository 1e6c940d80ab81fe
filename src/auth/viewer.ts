import type { ClaimValue, Registry, RoleDecl } from '../views/model';

export type { ClaimValue } from '../views/model';

/**
 * Who is asking: the verified claims of the bearer token (or of a SQL passthrough user). The role
 * is one declared in the registry (`schema/wavegate.yaml`); `claims` holds the role's declared
 * claims, checked for type at verification. What the viewer reads is the role's permissions
 * (src/permissions/compile.ts).
 */
export interface Viewer {
  /** Rider id for riders, driver id for drivers, a person or service id otherwise. */
  readonly sub: string;
  readonly role: string;
  /** The role's declared claims (besides `sub`), e.g. `fleet_id` or `fleet_ids`. */
  readonly claims: Readonly<Record<string, ClaimValue>>;
  /** Token expiry (ms since epoch); undefined when auth is off. Websockets close at this time. */
  readonly expiresAt?: number;
}

/** The declared role named `name`, if any (own names only: `__proto__` is no role). */
export function roleOf(registry: Registry, name: unknown): RoleDecl | undefined {
  return typeof name === 'string' ? registry.roles.find((r) => r.name === name) : undefined;
}

/**
 * The viewer of every request when auth is switched off (`WAVEGATE_AUTH=off`): the registry's
 * `auth_off_role` (ops in the bundled schema), with that role's sample claims when it declares any.
 */
export function authOffViewer(registry: Registry): Viewer {
  const role = roleOf(registry, registry.authOffRole);
  const claims: Record<string, ClaimValue> = {};
  for (const c of role?.claims ?? []) {
    const sample = role?.sample?.[c.name];
    if (sample !== undefined) claims[c.name] = sample;
  }
  return Object.freeze({ sub: 'anonymous', role: registry.authOffRole, claims: Object.freeze(claims) });
}
