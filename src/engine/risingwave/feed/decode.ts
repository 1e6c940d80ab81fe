/**
 * Decodes RisingWave Kafka-sink messages into engine-neutral changes. Pure: no kafkajs, no I/O.
 *
 * Formats (docs/SUBSCRIPTIONS.md, "Byte formats decoded"; RisingWave's encoder and formatters:
 * [SINK1], [SINK2], [SINK6] in docs/RISINGWAVE.md, "RisingWave behaviours Wavegate depends on"):
 * - `upsert`  — FORMAT UPSERT ENCODE JSON: key = JSON of the key columns; value = the whole row, or
 *   null (tombstone) for a delete. No op is sent, so a value is an `update` meaning "upsert".
 *   `schemas.enable='true'` ({schema, payload} wrapping) is unwrapped.
 * - `debezium` — FORMAT DEBEZIUM ENCODE JSON: {schema, payload:{before, after, op}}; op c/r → insert,
 *   u → update, d → delete; the tombstone that follows a delete decodes to nothing.
 *
 * Values become the registry's canonical forms (src/views/model.ts ColumnType). Anything that
 * does not fit the view — bad bytes, bad JSON, unknown view, missing or mistyped columns, integers
 * beyond 2^53 where a JS number is required — is a {@link PoisonMessageError}; decode never throws
 * anything else.
 */
import type { ChangeEvent } from '../../types';
import { findView } from '../../../views/find';
import { bundledRegistry } from '../../../views/load';
import type { ColumnType, Registry, Row, ViewModel } from '../../../views/model';
import { civilFields } from '../../../views/normalize';

/** The sink encodings the gateway understands. */
export type SinkFormat = 'upsert' | 'debezium';

/** Why a message was rejected. Stable strings: they appear in logs and metrics. */
export enum PoisonReason {
  /** Key or value is not valid UTF-8. */
  BAD_UTF8 = 'bad_utf8',
  /** Key or value is not JSON. */
  BAD_JSON = 'bad_json',
  /** The topic maps to no published view. */
  UNKNOWN_VIEW = 'unknown_view',
  /** JSON of the wrong shape: not an object, no key, Debezium envelope without before/after. */
  BAD_ENVELOPE = 'bad_envelope',
  /** A Debezium op other than c, r, u, d. */
  BAD_OP = 'bad_op',
  /** A key column is absent from the key, or the key names columns that are not the view's key. */
  BAD_KEY = 'bad_key',
  /** A view column is absent from the row. */
  MISSING_COLUMN = 'missing_column',
  /** A column holds a JSON type its column type cannot take. */
  BAD_TYPE = 'bad_type',
  /** An integer beyond ±(2^53 − 1) where the registry needs a JS number. */
  UNSAFE_INTEGER = 'unsafe_integer',
  /** The right JSON type with an impossible value (date out of range, malformed timestamp). */
  BAD_VALUE = 'bad_value',
  /** The row's key columns differ from the message key. */
  KEY_MISMATCH = 'key_mismatch',
}

/** A message the gateway cannot turn into a change: counted, logged and skipped by the feed. */
export class PoisonMessageError extends Error {
  constructor(
    readonly reason: PoisonReason,
    readonly detail: string,
    /** The column at fault, when there is one. */
    readonly column?: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'PoisonMessageError';
  }
}

/** The raw bytes of one Kafka record (null = absent; a null value is a tombstone). */
export interface SinkMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

/** A decoded change, before the feed adds `position` and `committedAt`. */
export type DecodedChange = Omit<ChangeEvent, 'position' | 'committedAt'>;

/** How a format counts dates: UPSERT/PLAIN from 0001-01-01 (= day 1), DEBEZIUM from 1970-01-01. */
type DateEpoch = 'ce' | 'unix';

/** Day number of 1970-01-01 in RisingWave's UPSERT/PLAIN date encoding (days from 0001-01-01, [SINK2]). */
export const CE_DAY_OF_UNIX_EPOCH = 719_163;
const MS_PER_DAY = 86_400_000;
/** 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the range of 4-digit years. */
const MIN_MS = -62_135_596_800_000;
const MAX_MS = 253_402_300_799_999;

const poison = (reason: PoisonReason, detail: string, column?: string) => new PoisonMessageError(reason, detail, column);

/**
 * Decodes one record of view `view`'s topic (a view of `registry`: `config.views` in the feed). Returns null when the record carries no change
 * (the tombstone after a Debezium delete). Throws only {@link PoisonMessageError}.
 */
export function decodeChange(view: string, format: SinkFormat, msg: SinkMessage, registry: Registry = bundledRegistry()): DecodedChange | null {
  try {
    const def = findView(registry, view);
    if (def === undefined) throw poison(PoisonReason.UNKNOWN_VIEW, `no published view named ${JSON.stringify(view)}`);
    return format === 'upsert' ? decodeUpsert(def, msg) : decodeDebezium(def, msg);
  } catch (err) {
    if (err instanceof PoisonMessageError) throw err;
    // A bug here must not stop the feed either; keep it visible as its own reason text.
    throw poison(PoisonReason.BAD_ENVELOPE, `unexpected decoder error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function decodeUpsert(view: ViewModel, msg: SinkMessage): DecodedChange {
  if (msg.key === null) throw poison(PoisonReason.BAD_KEY, 'upsert record without a key');
  const key = decodeKey(view, unwrapConnect(parseJson(msg.key, 'key')), 'ce');
  if (msg.value === null) return { view: view.name, op: 'delete', key, row: null, old: key };
  const row = decodeRow(view, unwrapConnect(parseJson(msg.value, 'value')), 'ce');
  checkKey(view, key, row);
  return { view: view.name, op: 'update', key, row, old: null };
}

function decodeDebezium(view: ViewModel, msg: SinkMessage): DecodedChange | null {
  if (msg.value === null) return null; // tombstone after an op:"d" event, which carried the delete
  if (msg.key === null) throw poison(PoisonReason.BAD_KEY, 'debezium record without a key');
  const key = decodeKey(view, unwrapConnect(parseJson(msg.key, 'key')), 'unix');
  const env = unwrapConnect(parseJson(msg.value, 'value'));
  if (!isObject(env)) throw poison(PoisonReason.BAD_ENVELOPE, 'debezium value is not an object');
  const image = (field: 'before' | 'after'): Row | null => {
    const v = env[field];
    if (v === null || v === undefined) return null;
    return decodeRow(view, v, 'unix');
  };
  switch (env['op']) {
    case 'c':
    case 'r': {
      const row = required(image('after'), 'after');
      checkKey(view, key, row);
      return { view: view.name, op: 'insert', key, row, old: null };
    }
    case 'u': {
      const row = required(image('after'), 'after');
      checkKey(view, key, row);
      const before = image('before');
      return { view: view.name, op: 'update', key, row, old: before === null ? null : oldImage(view, before) };
    }
    case 'd': {
      const before = image('before');
      if (before !== null) checkKey(view, key, before);
      return { view: view.name, op: 'delete', key, row: null, old: before === null ? key : oldImage(view, before) };
    }
    default:
      throw poison(PoisonReason.BAD_OP, `debezium op ${JSON.stringify(env['op'])} is not c, r, u or d`);
  }
}

function required(row: Row | null, field: string): Row {
  if (row === null) throw poison(PoisonReason.BAD_ENVELOPE, `debezium event without "${field}"`);
  return row;
}

/** Key and indexed columns of a before-image, as the embedded engine reports `old`. */
function oldImage(view: ViewModel, before: Row): Row {
  const out: Record<string, string | number | boolean | null> = {};
  for (const c of [...view.key, ...view.indexed]) out[c] = before[c] ?? null;
  return out;
}

/** Kafka Connect wrapping (`schemas.enable`, always on for DEBEZIUM): exactly {schema, payload}. */
function unwrapConnect(v: unknown): unknown {
  if (isObject(v) && Object.hasOwn(v, 'payload') && Object.hasOwn(v, 'schema') && Object.keys(v).length === 2) return v['payload'];
  return v;
}

function decodeKey(view: ViewModel, v: unknown, epoch: DateEpoch): Row {
  if (!isObject(v)) throw poison(PoisonReason.BAD_KEY, 'key is not a JSON object');
  const key = view.key;
  // The common case allocates nothing: every own key is a key column (the error text is built only on a mismatch).
  const names = Object.keys(v);
  for (let i = 0; i < names.length; i++) {
    if (!key.includes(names[i]!)) {
      const extra = names.filter((k) => !key.includes(k));
      throw poison(PoisonReason.BAD_KEY, `key has ${extra.join(', ')}; ${view.name}'s key is (${key.join(', ')}): the sink's primary_key must match`);
    }
  }
  const types = keyTypesOf(view);
  const out: Record<string, string | number | boolean | null> = {};
  for (let i = 0; i < key.length; i++) {
    const name = key[i]!;
    if (!Object.hasOwn(v, name)) throw poison(PoisonReason.BAD_KEY, `key lacks key column ${name}`, name);
    out[name] = convert(types[i]!, v[name], name, epoch);
  }
  return out;
}

/** Per view: the type of each key column, in `view.key` order (a view model is immutable). */
const keyTypes = new WeakMap<ViewModel, readonly ColumnType[]>();

function keyTypesOf(view: ViewModel): readonly ColumnType[] {
  let types = keyTypes.get(view);
  if (types === undefined) {
    types = view.key.map((name) => typeOf(view, name));
    keyTypes.set(view, types);
  }
  return types;
}

function decodeRow(view: ViewModel, v: unknown, epoch: DateEpoch): Row {
  if (!isObject(v)) throw poison(PoisonReason.BAD_ENVELOPE, 'row is not a JSON object');
  const { names, types } = columnsOf(view);
  const out: Record<string, string | number | boolean | null> = {};
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (!Object.hasOwn(v, name)) {
      const reason = view.key.includes(name) ? PoisonReason.BAD_KEY : PoisonReason.MISSING_COLUMN;
      throw poison(reason, `row lacks column ${name}`, name);
    }
    out[name] = convert(types[i]!, v[name], name, epoch);
  }
  return out; // columns the registry does not publish are dropped, as normalizeRow does
}

/** Per view: column names and types as flat arrays, in projection order (a view model is immutable). */
const columnLists = new WeakMap<ViewModel, { readonly names: readonly string[]; readonly types: readonly ColumnType[] }>();

function columnsOf(view: ViewModel): { readonly names: readonly string[]; readonly types: readonly ColumnType[] } {
  let lists = columnLists.get(view);
  if (lists === undefined) {
    lists = { names: view.columns.map((c) => c.name), types: view.columns.map((c) => c.type) };
    columnLists.set(view, lists);
  }
  return lists;
}

function checkKey(view: ViewModel, key: Row, row: Row): void {
  for (const k of view.key) {
    if (key[k] !== row[k]) {
      throw poison(PoisonReason.KEY_MISMATCH, `row ${k}=${JSON.stringify(row[k])} but key ${k}=${JSON.stringify(key[k])}`, k);
    }
  }
}

function typeOf(view: ViewModel, column: string): ColumnType {
  return view.columns.find((c) => c.name === column)!.type;
}

/** Converts one JSON value (bigint = an integer literal beyond 2^53) to the column's canonical form. */
function convert(type: ColumnType, v: unknown, column: string, epoch: DateEpoch): string | number | boolean | null {
  if (v === null) return null;
  switch (type) {
    case 'text':
      // varchar is a JSON string; a bigint id projected as-is arrives as a number: keep its digits.
      if (typeof v === 'string') return v;
      if (typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v))) return String(v);
      throw wrongType(type, v, column);
    case 'int':
      if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
      if (typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))) {
        throw poison(PoisonReason.UNSAFE_INTEGER, `${column} = ${String(v)} is beyond ±(2^53 − 1)`, column);
      }
      throw wrongType(type, v, column);
    case 'float':
      // double/real; RisingWave writes NaN and ±Infinity as null.
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      throw wrongType(type, v, column);
    case 'numeric':
      // numeric is a JSON string, kept exactly; an integer (e.g. a bigint sum) keeps its digits.
      if (typeof v === 'string') {
        if (/^-?\d+(\.\d+)?$/.test(v) || v === 'NaN' || v === 'Infinity' || v === '-Infinity') return v;
        throw poison(PoisonReason.BAD_VALUE, `${column} = ${JSON.stringify(v.slice(0, 40))} is not a decimal`, column);
      }
      if (typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v))) return String(v);
      throw wrongType(type, v, column);
    case 'timestamptz':
      if (typeof v === 'string') return timestampFromText(v, column);
      if (typeof v === 'number' && Number.isInteger(v)) return timestampFromMs(v, column);
      throw wrongType(type, v, column);
    case 'date':
      if (typeof v === 'number' && Number.isInteger(v)) return dateFromDays(epoch === 'ce' ? v - CE_DAY_OF_UNIX_EPOCH : v, column);
      if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return checkedDate(v, column);
      throw wrongType(type, v, column);
    case 'bool':
      // boolean columns are JSON true/false in the sinks' JSON encoding.
      if (typeof v === 'boolean') return v;
      throw wrongType(type, v, column);
  }
}

/** The BAD_TYPE poison for value `v` of `column` (a function, not a closure made per converted value). */
function wrongType(type: ColumnType, v: unknown, column: string): PoisonMessageError {
  return poison(PoisonReason.BAD_TYPE, `${column} (${type}) cannot be ${describe(v)}`, column);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'bigint') return `the integer ${String(v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v).slice(0, 40)}`;
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z?$/;

/**
 * `utc_string` ("2026-10-05T14:03:07.123456Z", the FORMAT default) and `utc_without_suffix`
 * ("2026-10-05 14:03:07.123456") → "2026-10-05T14:03:07.123Z". Sub-millisecond digits are truncated,
 * as node-postgres does for the same value read over SQL. Exported for its tests (test/unit/decode-fast-paths.test.ts).
 */
export function timestampFromText(s: string, column: string): string {
  return fastTimestamp(s) ?? slowTimestampFromText(s, column);
}

/**
 * {@link timestampFromText} without the regex and the Date round trip (toISOString alone costs about
 * a microsecond): the exact shape `YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}][Z]` whose date and time fields
 * pass {@link civilFields} (years 1000–9999, real calendar dates, valid times of day). Undefined for
 * anything else, which {@link slowTimestampFromText} then decides (and rejects with its own
 * messages): the result is the same string that function returns.
 */
function fastTimestamp(s: string): string | undefined {
  const n = s.length;
  if (n < 19 || n > 30) return undefined;
  const c10 = s.charCodeAt(10);
  if ((c10 !== 84 && c10 !== 32) || !civilFields(s)) return undefined;
  let ms: string;
  if (n === 19 || (n === 20 && s.charCodeAt(19) === 90)) {
    ms = '000';
  } else {
    if (s.charCodeAt(19) !== 46) return undefined;
    const end = s.charCodeAt(n - 1) === 90 ? n - 1 : n; // exclusive end of the fraction digits
    const digits = end - 20;
    if (digits < 1 || digits > 9) return undefined;
    for (let i = 20; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
    }
    if (digits >= 3) {
      if (c10 === 84) return digits === 3 && end < n ? s : `${s.slice(0, 23)}Z`;
      ms = s.slice(20, 23);
    } else {
      ms = digits === 1 ? `${s[20]!}00` : `${s.slice(20, 22)}0`;
    }
  }
  return `${s.slice(0, 10)}T${s.slice(11, 19)}.${ms}Z`;
}

/** The reference implementation of {@link timestampFromText} (regex, Date.UTC, toISOString). */
function slowTimestampFromText(s: string, column: string): string {
  const m = TIMESTAMP.exec(s);
  if (m === null) throw poison(PoisonReason.BAD_VALUE, `${column} = ${JSON.stringify(s.slice(0, 40))} is not a UTC timestamp`, column);
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const t = Date.UTC(y, mo - 1, d, h, mi, sec, ms);
  const iso = new Date(t).toISOString();
  // Date.UTC rolls over (month 13, 25:00); a rolled value no longer matches its own digits.
  if (iso.slice(0, 19) !== `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`) {
    throw poison(PoisonReason.BAD_VALUE, `${column} = ${JSON.stringify(s)} is not a valid timestamp`, column);
  }
  return iso;
}

/** `timestamptz.handling.mode='milli'` and plain `timestamp` columns: epoch ms. */
function timestampFromMs(ms: number, column: string): string {
  // Microseconds (mode 'micro') land far beyond year 9999: reject them rather than show year 58000.
  if (ms < MIN_MS || ms > MAX_MS) throw poison(PoisonReason.BAD_VALUE, `${column} = ${ms} is not epoch milliseconds in years 1–9999`, column);
  return new Date(ms).toISOString();
}

function dateFromDays(days: number, column: string): string {
  const ms = days * MS_PER_DAY;
  if (ms < MIN_MS || ms > MAX_MS) throw poison(PoisonReason.BAD_VALUE, `${column}: day ${days} is outside years 1–9999`, column);
  return new Date(ms).toISOString().slice(0, 10);
}

function checkedDate(s: string, column: string): string {
  const t = Date.parse(`${s}T00:00:00Z`);
  if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== s) {
    throw poison(PoisonReason.BAD_VALUE, `${column} = ${JSON.stringify(s)} is not a valid date`, column);
  }
  return s;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON.parse, unless the text holds an integer JSON.parse would round (beyond 2^53): then the text is
 * parsed again by {@link parseExactJson}, which keeps such integers as bigint. Only big integers
 * are affected: doubles round-trip through JSON.parse exactly, numerics arrive as strings.
 */
export function parseJson(bytes: Buffer, what: 'key' | 'value'): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw poison(PoisonReason.BAD_UTF8, `${what} is not valid UTF-8`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw poison(PoisonReason.BAD_JSON, `${what} is not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  return hasUnsafeInteger(v) ? parseExactJson(text) : v;
}

/** Is `v` a number JSON.parse may have rounded: an integer beyond ±(2^53 − 1)? */
function isUnsafeInteger(v: number): boolean {
  return (v > Number.MAX_SAFE_INTEGER || v < -Number.MAX_SAFE_INTEGER) && Number.isInteger(v);
}

/** Does parsed JSON `v` hold an unsafe integer anywhere? Indexed loops, primitives tested inline: runs on every record. */
function hasUnsafeInteger(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return typeof v === 'number' && isUnsafeInteger(v);
  const xs: readonly unknown[] = Array.isArray(v) ? v : Object.values(v);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (typeof x === 'object' ? x !== null && hasUnsafeInteger(x) : typeof x === 'number' && isUnsafeInteger(x)) return true;
  }
  return false;
}

const SCALAR = /-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null/y;

/**
 * A JSON parser that returns integer literals beyond ±(2^53 − 1) as bigint (everything else as
 * JSON.parse would). Only called on text JSON.parse already accepted, so errors are not expected.
 */
export function parseExactJson(text: string): unknown {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const out: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') return i++, out;
      for (;;) {
        ws();
        const k = string();
        ws();
        i++; // ':'
        out[k] = value();
        ws();
        if (text[i++] === '}') return out;
      }
    }
    if (c === '[') {
      i++;
      const out: unknown[] = [];
      ws();
      if (text[i] === ']') return i++, out;
      for (;;) {
        out.push(value());
        ws();
        if (text[i++] === ']') return out;
      }
    }
    if (c === '"') return string();
    SCALAR.lastIndex = i;
    const m = SCALAR.exec(text);
    if (m === null) throw new SyntaxError(`unexpected character at ${i}`);
    i += m[0].length;
    if (m[0] === 'true') return true;
    if (m[0] === 'false') return false;
    if (m[0] === 'null') return null;
    const n = Number(m[0]);
    return m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n) ? BigInt(m[0]) : n;
  };
  const string = (): string => {
    const start = i;
    i++; // opening quote
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  return value();
}
