/**
 * Scalars of the API. All three travel as strings: values come from the views already normalised
 * (see views/normalize.ts), and decimals must never pass through a JS float.
 */
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { normalizeTimestamp } from '../../views/normalize';

// RFC 3339 date-time with an explicit offset (Z or ±hh:mm), fractions optional.
const DATE_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DECIMAL_RE = /^-?(0|[1-9]\d*)(\.\d+)?$/;

function stringLiteral(name: string, ast: ValueNode): string {
  if (ast.kind !== Kind.STRING) throw new GraphQLError(`${name} must be a string`, { nodes: [ast] });
  return ast.value;
}

function parseDateTime(value: unknown): string {
  if (typeof value !== 'string' || !DATE_TIME_RE.test(value)) {
    throw new GraphQLError('DateTime must be an RFC 3339 string with an offset, e.g. "2026-10-05T14:03:07Z"');
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new GraphQLError(`DateTime is not a valid instant: ${value}`);
  return new Date(ms).toISOString();
}

function parseDate(value: unknown): string {
  const m = typeof value === 'string' ? DATE_RE.exec(value) : null;
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!m || !d || d.toISOString().slice(0, 10) !== value) throw new GraphQLError('Date must be a calendar date "YYYY-MM-DD"');
  return value as string;
}

function parseDecimal(value: unknown): string {
  if (typeof value !== 'string' || !DECIMAL_RE.test(value)) throw new GraphQLError('Decimal must be a decimal number in a string, e.g. "12.50"');
  return value;
}

/** An instant as an ISO-8601 UTC string with milliseconds (`2026-10-05T14:03:07.123Z`). Inputs: RFC 3339 with an offset. */
export const DateTimeScalar = new GraphQLScalarType<string, string>({
  name: 'DateTime',
  description: 'An instant: ISO-8601 UTC string with milliseconds, e.g. "2026-10-05T14:03:07.123Z". Inputs accept any RFC 3339 offset.',
  serialize: (v) => normalizeTimestamp(v),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(stringLiteral('DateTime', ast)),
});

/** A UTC calendar date, `YYYY-MM-DD`. */
export const DateScalar = new GraphQLScalarType<string, string>({
  name: 'Date',
  description: 'A UTC calendar date, "YYYY-MM-DD".',
  serialize: (v) => {
    if (typeof v !== 'string' || !DATE_RE.test(v)) throw new GraphQLError(`Date cannot represent ${String(v)}`);
    return v;
  },
  parseValue: parseDate,
  parseLiteral: (ast) => parseDate(stringLiteral('Date', ast)),
});

/** An exact decimal number as a string (money, distances): never a float. */
export const DecimalScalar = new GraphQLScalarType<string, string>({
  name: 'Decimal',
  description: 'An exact decimal number in a string, e.g. "12.50" (money, distances); never rounded through a float.',
  serialize: (v) => {
    if (typeof v === 'string' && DECIMAL_RE.test(v)) return v;
    if (typeof v === 'bigint') return v.toString();
    throw new GraphQLError(`Decimal cannot represent ${String(v)}`);
  },
  parseValue: parseDecimal,
  parseLiteral: (ast) => parseDecimal(stringLiteral('Decimal', ast)),
});
