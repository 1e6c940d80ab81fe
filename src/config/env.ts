/**
 * Reading environment variables and checking numeric options, in one place: every module that
 * reads `WAVEGATE_*` variables (config/load.ts, config/sql.ts, `migrate`'s settings) and
 * every constructor that checks a numeric option uses these, so a bad value always fails the same
 * way: BAD_CONFIG with the variable (or option) name, the value, and what to use instead.
 */
import { errors } from '../errors';
import { isWholeInRange } from '../util/integer';

/** The environment as read: `process.env` or a test's own object. */
export type Env = Readonly<Record<string, string | undefined>>;

/** One documented environment variable (README.md and docs/RISINGWAVE.md print these as tables). */
export interface EnvVarDoc {
  readonly name: string;
  readonly default: string;
  readonly description: string;
}

/** The trimmed value of `name`, or undefined when it is unset or blank. */
export function envString(env: Env, name: string): string | undefined {
  const v = env[name];
  if (v === undefined) return undefined;
  const t = v.trim();
  return t === '' ? undefined : t;
}

/**
 * The value of `name` exactly as set, or undefined when it is unset or empty. For secrets, which
 * are not trimmed: a space may be part of a password.
 */
export function envRaw(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** The trimmed value of `name` (`dflt` when unset) if it matches `re`; else BAD_CONFIG saying `use` (what to use instead). */
export function envMatching(env: Env, name: string, dflt: string, re: RegExp, use: string): string {
  const v = envString(env, name) ?? dflt;
  if (!re.test(v)) throw errors.badConfig(`${name}=${v} is not valid: ${use}`);
  return v;
}

/** A whole number from `min` to `max` (inclusive); `dflt` when unset. */
export function envInt(env: Env, name: string, dflt: number, min: number, max: number): number {
  const raw = envString(env, name);
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!isWholeInRange(n, min, max)) {
    throw errors.badConfig(`${name}=${raw} is not valid: use a whole number from ${min} to ${max}`);
  }
  return n;
}

/** A finite number from `min` to `max` (inclusive); `dflt` when unset. */
export function envNumber(env: Env, name: string, dflt: number, min: number, max: number): number {
  const raw = envString(env, name);
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw errors.badConfig(`${name}=${raw} is not valid: use a number from ${min} to ${max}`);
  }
  return n;
}

/** `on`/`off` (also true/false, 1/0, yes/no, any case); `dflt` when unset. */
export function envFlag(env: Env, name: string, dflt: boolean): boolean {
  const raw = envString(env, name)?.toLowerCase();
  if (raw === undefined) return dflt;
  if (['on', 'true', '1', 'yes'].includes(raw)) return true;
  if (['off', 'false', '0', 'no'].includes(raw)) return false;
  throw errors.badConfig(`${name}=${env[name] ?? ''} is not valid: use on or off`);
}

/** One of `allowed` (exact match); `dflt` when unset. */
export function envOneOf<T extends string>(env: Env, name: string, allowed: readonly T[], dflt: T): T {
  const raw = envString(env, name);
  if (raw === undefined) return dflt;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw errors.badConfig(`${name}=${raw} is not valid: use one of ${allowed.join(', ')}`);
}

/**
 * Checks a numeric option given in code (a constructor option, not a variable): a safe integer from
 * `min` to `max`, or `dflt` when undefined. Throws BAD_CONFIG naming the option.
 */
export function wholeOption(name: string, value: number | undefined, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = value ?? dflt;
  if (!isWholeInRange(n, min, max)) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw errors.badConfig(`${name} must be a whole number ${range}, got ${String(value)}`);
  }
  return n;
}
