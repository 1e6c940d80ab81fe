/**
 * The whole-number check behind every integer validator (environment variables, constructor
 * options, CLI flags, outbox payload rules, SQL LIMITs, binary parameters): each keeps its own
 * error type and message, and they all agree on what a whole number is — a safe integer (so never
 * NaN, a fraction, or a value past 2^53 that has lost its units) from `min` to `max`, inclusive.
 */
export function isWholeInRange(n: unknown, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= min && n <= max;
}
