/**
 * The `round` mask in JS, exactly as the SQL targets compute it (`round(x::numeric, n)`):
 * - a numeric is rounded as a decimal string, half away from zero, to exactly `n` decimals
 *   (PostgreSQL's `round(numeric, int)` keeps `n` as the scale: `round(12.5, 2)` is `12.50`);
 * - a float is first turned into numeric the way PostgreSQL's `float8_numeric` does it (15
 *   significant digits, `%.15g`: `1.005` becomes `1.005`, not `1.00499999999999989...`), then rounded,
 *   then read back as a double. `Math.round(x * 100) / 100` would differ on such values.
 * Source: src/backend/utils/adt/numeric.c (float8_numeric, round_var) at
 * https://github.com/postgres/postgres.
 */

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Adds one to a string of decimal digits ("199" → "200", "99" → "100"). */
function increment(digits: string): string {
  const out = digits.split('');
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] === '9') {
      out[i] = '0';
    } else {
      out[i] = String.fromCharCode((out[i] as string).charCodeAt(0) + 1);
      return out.join('');
    }
  }
  return `1${out.join('')}`;
}

/**
 * Rounds a decimal string (plain or with an exponent) half away from zero to `digits` decimals and
 * prints it with exactly that many. Non-finite spellings (`NaN`, `Infinity`) come back unchanged.
 */
export function roundDecimalText(text: string, digits: number): string {
  if (!Number.isSafeInteger(digits) || digits < 0 || digits > 1000) throw new RangeError(`round digits must be 0..1000, got ${digits}`);
  const m = DECIMAL.exec(text.trim());
  if (m === null || (m[2] === '' && (m[3] ?? '') === '')) return text;
  const negative = m[1] === '-';
  let all = `${m[2] ?? ''}${m[3] ?? ''}`;
  let point = (m[2] ?? '').length + Number(m[4] ?? '0');
  if (point < 0) {
    all = '0'.repeat(-point) + all;
    point = 0;
  }
  const keep = point + digits;
  if (all.length < keep + 1) all += '0'.repeat(keep + 1 - all.length);
  let head = all.slice(0, keep);
  if ((all[keep] as string) >= '5') {
    const bumped = increment(head);
    if (bumped.length > head.length) point += 1;
    head = bumped;
  }
  const intPart = head.slice(0, point).replace(/^0+(?=\d)/, '') || '0';
  const fracPart = head.slice(point);
  const zero = /^0*$/.test(intPart + fracPart);
  return `${negative && !zero ? '-' : ''}${intPart}${digits > 0 ? `.${fracPart}` : ''}`;
}

/** `round(x::numeric, digits)::double precision` for a double `x`. */
export function roundFloat(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  const rounded = Number(roundDecimalText(x.toPrecision(15), digits));
  return rounded === 0 ? 0 : rounded; // no -0: numeric has no negative zero
}
