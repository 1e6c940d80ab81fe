/**
 * Scalars of the API. All travel as strings: values come from the views already normalised
 * (see views/normalize.ts), and decimals must never pass through a JS float.
 *
 * Inputs are checked here completely, so that no client value can make a statement fail in the
 * engine (which would surface as an internal error): IDs have no NUL or control characters and a
 * bounded length (Postgres text cannot hold NUL), instants and dates are real calendar values in the
 * years 0001-9999 (Postgres refuses year 0; JavaScript would roll "02-30" over to March).
 */
import { GraphQLError, GraphQLID, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { normalizeTimestamp } from '../../views/normalize';
import { isCanonicalTimestamp } from './rows';

/** Longest ID accepted from clients, in characters. */
export const MAX_ID_LENGTH = 128;

// RFC 3339 date-time with an explicit offset (Z or ±hh:mm), fractions optional.
const DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:Z|([+-])(\d{2}):(\d{2}))$/i;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DECIMAL_RE = /^-?(0|[1-9]\d*)(\.\d+)?$/;
// NUL and the other C0 controls, and DEL: never part of an identifier.
const CONTROL_RE = /[\u0000-\u001f\u007f]/;
/** The first and last instants accepted (years 0001-9999 in UTC, the range both engines store). */
const FIRST_MS = Date.parse('0001-01-01T00:00:00.000Z');
const LAST_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** Days in `month` (1-12) of `year`; setUTCFullYear, because Date.UTC reads years 0-99 as 1900-1999. */
function daysInMonth(year: number, month: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, 0);
  return d.getUTCDate();
}

/**
 * True when the fields are a real calendar date and time of day in the years 0001-9999 (hour 0-23,
 * minute and second 0-59) with an offset of at most ±15:59. Strings come from the regexes' groups.
 */
export function validCivilTime(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, offsetHours = 0, offsetMinutes = 0): boolean {
  return year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month)
    && hour <= 23 && minute <= 59 && second <= 59 && offsetHours <= 15 && offsetMinutes <= 59;
}

function stringLiteral(name: string, ast: ValueNode): string {
  if (ast.kind !== Kind.STRING) throw new GraphQLError(`${name} must be a string`, { nodes: [ast] });
  return ast.value;
}

function parseId(value: unknown): string {
  // GraphQL's ID accepts strings and integers (as strings); anything else is refused by it.
  const id = GraphQLID.parseValue(value) as string;
  if (id.length === 0 || id.length > MAX_ID_LENGTH) throw new GraphQLError(`ID must be 1 to ${MAX_ID_LENGTH} characters`);
  if (CONTROL_RE.test(id)) throw new GraphQLError('ID must not contain NUL or other control characters');
  return id;
}

function parseDateTime(value: unknown): string {
  const m = typeof value === 'string' ? DATE_TIME_RE.exec(value) : null;
  if (m === null) {
    throw new GraphQLError('DateTime must be an RFC 3339 string with an offset, e.g. "2026-10-05T14:03:07Z"');
  }
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = Date.parse(value as string);
  if (!validCivilTime(y, mo, d, h, mi, s, Number(m[9] ?? 0), Number(m[10] ?? 0)) || Number.isNaN(ms) || ms < FIRST_MS || ms > LAST_MS) {
    throw new GraphQLError('DateTime must be a real instant in the years 0001 to 9999 (UTC)');
  }
  return new Date(ms).toISOString();
}

function parseDate(value: unknown): string {
  const m = typeof value === 'string' ? DATE_RE.exec(value) : null;
  if (m === null || !validCivilTime(Number(m[1]), Number(m[2]), Number(m[3]))) {
    throw new GraphQLError('Date must be a calendar date "YYYY-MM-DD" in the years 0001 to 9999');
  }
  return value as string;
}

function parseDecimal(value: unknown): string {
  if (typeof value !== 'string' || !DECIMAL_RE.test(value)) throw new GraphQLError('Decimal must be a decimal number in a string, e.g. "12.50"');
  return value;
}

/**
 * The API's `ID`: GraphQL's built-in ID on output; on input a string (or integer) of 1 to
 * {@link MAX_ID_LENGTH} characters without NUL or control characters. It replaces GraphQLID in the
 * schema (same name, so the SDL is unchanged); every ID field and argument must use this one.
 */
export const IdScalar = new GraphQLScalarType<string, string>({
  name: 'ID',
  description: GraphQLID.description,
  serialize: (v) => GraphQLID.serialize(v),
  parseValue: parseId,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING && ast.kind !== Kind.INT) throw new GraphQLError('ID must be a string or an integer', { nodes: [ast] });
    return parseId(ast.value);
  },
});

/** An instant as an ISO-8601 UTC string with milliseconds (`2026-10-05T14:03:07.123Z`). Inputs: RFC 3339 with an offset. */
export const DateTimeScalar = new GraphQLScalarType<string, string>({
  name: 'DateTime',
  description: 'An instant: ISO-8601 UTC string with milliseconds, e.g. "2026-10-05T14:03:07.123Z". Inputs accept any RFC 3339 offset.',
  // Values from the views are canonical already (rows.ts): sent as they are, without a Date per value.
  serialize: (v) => (typeof v === 'string' && isCanonicalTimestamp(v) ? v : normalizeTimestamp(v)),
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
