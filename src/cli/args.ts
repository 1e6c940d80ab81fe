import { parseArgs } from 'node:util';
import { isWholeInRange } from '../util/integer';

/** A command line that cannot be run as given; `main` prints the message and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** String options of one command (all are `--name value` or `--name=value`), plus `--help`. */
export function parseOptions<const N extends string>(
  command: string,
  args: readonly string[],
  names: readonly N[],
): { help: boolean; values: Partial<Record<N, string>> } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const name of names) options[name] = { type: 'string' };
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
  return { help: parsed.values['help'] === true, values };
}

/** A whole number from `raw` within [min, max], or a UsageError naming the option. */
export function wholeNumber(command: string, option: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (raw.trim() === '' || !isWholeInRange(n, min, max)) {
    throw new UsageError(`wavegate ${command}: --${option}=${raw} is not valid: use a whole number from ${min} to ${max}`);
  }
  return n;
}
