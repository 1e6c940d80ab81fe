/** isWholeInRange (src/util/integer.ts): the whole-number check every integer validator shares. */
import { isWholeInRange } from '../../src/util/integer';
import { envInt, wholeOption } from '../../src/config/env';
import { wholeNumber } from '../../src/cli/args';

describe('isWholeInRange', () => {
  it('accepts safe integers within the bounds, both included', () => {
    expect(isWholeInRange(0)).toBe(true);
    expect(isWholeInRange(1, 1, 3)).toBe(true);
    expect(isWholeInRange(3, 1, 3)).toBe(true);
    expect(isWholeInRange(-5, -10, 0)).toBe(true);
    expect(isWholeInRange(Number.MAX_SAFE_INTEGER)).toBe(true);
  });

  it('refuses fractions, NaN, infinities, unsafe integers, non-numbers and values out of range', () => {
    for (const n of [0.5, Number.NaN, Infinity, -Infinity, 2 ** 53, '1', null, undefined, 1n]) expect(isWholeInRange(n)).toBe(false);
    expect(isWholeInRange(0, 1, 3)).toBe(false);
    expect(isWholeInRange(4, 1, 3)).toBe(false);
  });

  it('is what the environment, option and CLI validators apply (each with its own error)', () => {
    expect(envInt({ N: '7' }, 'N', 1, 1, 10)).toBe(7);
    expect(() => envInt({ N: '9007199254740993' }, 'N', 1, 1, Number.MAX_SAFE_INTEGER)).toThrow('N=9007199254740993 is not valid');
    expect(() => wholeOption('opt', 1.5, 1)).toThrow('opt must be a whole number >= 0, got 1.5');
    expect(wholeNumber('simulate', 'rides', '12', 1, 100)).toBe(12);
    expect(() => wholeNumber('simulate', 'rides', '1e400', 1, 100)).toThrow('--rides=1e400 is not valid');
  });
});
