import { parseArgs } from 'node:util';
import { isWholeInRange } from '../util/integer';

/** A command line that cannot be run as given; `main` prints the message and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * String options of one command (all are `--name value` or `--name=value`), plus `--help`;
 * `repeatable` ones may be given several times and come back in `lists`, in order.
 */
export function parseOptions<const N extends string, const R extends string = never>(
  command: string,
  args: readonly string[],
  names: readonly N[],
  repeatable: readonly R[] = [],
): { help: boolean; values: Partial<Record<N, string>>; lists: Partial<Record<R, string[]>> } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = { help: { type: 'boolean', short: 'h' } };
  for (const name of names) options[name] = { type: 'string' };
  for (const name of repeatable) options[name] = { type: 'string', multiple: true };
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new UsageError(`wavegate ${command}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const values: Partial<Record<N, string>> = {};
  for (const name of names) {
    const v = parsed.values[name];
    if (typeof v === 'string') values[name] = v;
  }
  const lists: Partial<Record<R, string[]>> = {};
  for (const name of repeatable) {
    const v: unknown = parsed.values[name];
    if (Array.isArray(v)) lists[name] = v.map(String);
  }
  return { help: parsed.values['help'] === true, values, lists };
}

/** A whole number from `raw` within [min, max], or a UsageError naming the option. */
export function wholeNumber(command: string, option: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (raw.trim() === '' || !isWholeInRange(n, min, max)) {
    throw new UsageError(`wavegate ${command}: --${option}=${raw} is not valid: use a whole number from ${min} to ${max}`);
  }
  return n;
}
