import { Oid } from './types';
import { isWholeInRange } from '../util/integer';

/**
 * Value formats on the wire. Engines hand rows back as JS values (text for timestamps, dates, int8
 * and numeric, which both engines leave raw; numbers, booleans, parsed JSON, arrays otherwise);
 * this turns them into Postgres' text output, and text into the binary format for the types JDBC
 * asks in binary. Binary parameters are decoded to text, which is what the engine is sent.
 */

/** Postgres' text output of a JS value from the engine. */
export function toText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return floatText(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 't' : 'f';
    default:
      break;
  }
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `\\x${Buffer.from(v).toString('hex')}`;
  if (Array.isArray(v)) return arrayText(v);
  const custom = (v as { toPostgres?: () => string }).toPostgres;
  if (typeof custom === 'function') return custom.call(v);
  return JSON.stringify(v);
}

/** float8 output as Postgres prints it (shortest exact; `1e+21`, `1e-07`, `Infinity`, `NaN`). */
function floatText(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  if (Object.is(n, -0)) return '-0';
  const s = String(n);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const exp = s.slice(e + 1);
  const sign = exp.startsWith('-') ? '-' : '+';
  const digits = exp.replace(/^[+-]/, '').padStart(2, '0');
  return `${s.slice(0, e)}e${sign}${digits}`;
}

function arrayText(a: readonly unknown[]): string {
  return `{${a.map((el) => {
    if (Array.isArray(el)) return arrayText(el);
    const t = toText(el);
    if (t === null) return 'NULL';
    if (t === '' || /[{}",\\\s]/.test(t) || t.toUpperCase() === 'NULL') return `"${t.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
    return t;
  }).join(',')}}`;
}

/** Type OID guessed from values when nothing else knows it. */
export function oidFromValues(values: readonly unknown[]): number {
  const v = values.find((x) => x !== null && x !== undefined);
  if (v === undefined) return Oid.text;
  if (typeof v === 'boolean') return Oid.bool;
  if (typeof v === 'bigint') return Oid.int8;
  if (typeof v === 'number') return values.every((x) => x === null || x === undefined || Number.isInteger(x)) ? Oid.int8 : Oid.float8;
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Oid.bytea;
  if (typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && typeof (v as { toPostgres?: unknown }).toPostgres !== 'function') return Oid.json;
  return Oid.text;
}

// ---------------------------------------------------------------------------------------------
// Binary format (https://www.postgresql.org/docs/current/protocol-overview.html#PROTOCOL-FORMAT-CODES)

/** Types that can be sent and received in binary. */
const BINARY: ReadonlySet<number> = new Set([
  Oid.bool, Oid.bytea, Oid.char, Oid.name, Oid.int8, Oid.int2, Oid.int4, Oid.text, Oid.oid, Oid.json, Oid.float4,
  Oid.float8, Oid.bpchar, Oid.varchar, Oid.date, Oid.timestamp, Oid.timestamptz, Oid.numeric, Oid.uuid, Oid.jsonb,
  Oid.regproc, Oid.regclass, Oid.regtype, Oid.unknown,
]);

/** Can values of `oid` be sent or received in binary? */
export function hasBinary(oid: number): boolean {
  return BINARY.has(oid);
}

const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const MS_PER_DAY = 86_400_000;

/** Binary form of a value given in Postgres text output. Throws on text that does not fit the type. */
export function textToBinary(oid: number, text: string): Buffer {
  switch (oid) {
    case Oid.bool:
      return Buffer.from([text === 't' || text === 'true' ? 1 : 0]);
    case Oid.bytea:
      return text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex') : Buffer.from(text, 'latin1');
    case Oid.int2: {
      const b = Buffer.alloc(2);
      b.writeInt16BE(intOf(text, -32768, 32767));
      return b;
    }
    case Oid.int4: {
      const b = Buffer.alloc(4);
      b.writeInt32BE(intOf(text, -2147483648, 2147483647));
      return b;
    }
    case Oid.oid: case Oid.regproc: case Oid.regclass: case Oid.regtype: {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(intOf(text, 0, 4294967295));
      return b;
    }
    case Oid.int8: {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(BigInt(text));
      return b;
    }
    case Oid.float4: {
      const b = Buffer.alloc(4);
      b.writeFloatBE(Number(text));
      return b;
    }
    case Oid.float8: {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(Number(text));
      return b;
    }
    case Oid.date: {
      const b = Buffer.alloc(4);
      b.writeInt32BE(Math.round((Date.parse(`${text.slice(0, 10)}T00:00:00Z`) - PG_EPOCH_MS) / MS_PER_DAY));
      return b;
    }
    case Oid.timestamp: case Oid.timestamptz: {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(timestampMicros(text, oid === Oid.timestamptz));
      return b;
    }
    case Oid.numeric:
      return numericBinary(text);
    case Oid.uuid:
      return Buffer.from(text.replace(/-/g, ''), 'hex');
    case Oid.jsonb:
      return Buffer.concat([Buffer.from([1]), Buffer.from(text, 'utf8')]);
    default:
      return Buffer.from(text, 'utf8');
  }
}

/** Text form of a binary parameter of type `oid`. Throws on malformed input. */
export function binaryToText(oid: number, b: Buffer): string {
  const need = (n: number) => {
    if (b.length !== n) throw new Error(`binary ${n}-byte value expected, got ${b.length} bytes`);
  };
  switch (oid) {
    case Oid.bool:
      need(1);
      return b[0] === 0 ? 'f' : 't';
    case Oid.bytea:
      return `\\x${b.toString('hex')}`;
    case Oid.int2:
      need(2);
      return String(b.readInt16BE(0));
    case Oid.int4:
      need(4);
      return String(b.readInt32BE(0));
    case Oid.oid: case Oid.regproc: case Oid.regclass: case Oid.regtype:
      need(4);
      return String(b.readUInt32BE(0));
    case Oid.int8:
      need(8);
      return b.readBigInt64BE(0).toString();
    case Oid.float4:
      need(4);
      return floatText(b.readFloatBE(0));
    case Oid.float8:
      need(8);
      return floatText(b.readDoubleBE(0));
    case Oid.date:
      need(4);
      return new Date(PG_EPOCH_MS + b.readInt32BE(0) * MS_PER_DAY).toISOString().slice(0, 10);
    case Oid.timestamp: case Oid.timestamptz: {
      need(8);
      const micros = b.readBigInt64BE(0);
      const ms = Number(micros / 1000n);
      const frac = String(Number(((micros % 1_000_000n) + 1_000_000n) % 1_000_000n)).padStart(6, '0');
      const iso = new Date(PG_EPOCH_MS + ms).toISOString();
      return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${frac}${oid === Oid.timestamptz ? '+00' : ''}`;
    }
    case Oid.numeric:
      return numericText(b);
    case Oid.uuid: {
      need(16);
      const h = b.toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    case Oid.jsonb:
      if (b[0] !== 1) throw new Error('unsupported jsonb version');
      return b.subarray(1).toString('utf8');
    default:
      return b.toString('utf8');
  }
}

function intOf(text: string, min: number, max: number): number {
  const n = Number(text);
  if (!isWholeInRange(n, min, max)) throw new Error(`"${text}" is out of range`);
  return n;
}

/** Microseconds since 2000-01-01 UTC of a Postgres timestamp text (`2026-10-05 14:03:07.123456+00`). */
function timestampMicros(text: string, withZone: boolean): bigint {
  const m = /^(\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?)?( BC)?$/.exec(text.trim());
  if (!m || m[12] !== undefined) throw new Error(`cannot encode timestamp "${text}" in binary`);
  const base = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  let offsetSec = 0;
  if (withZone && m[8] !== undefined) {
    offsetSec = (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0)) * (m[8] === '-' ? -1 : 1);
  }
  const micros = BigInt(base - PG_EPOCH_MS - offsetSec * 1000) * 1000n + BigInt((m[7] ?? '').padEnd(6, '0') || '0');
  return micros;
}

/** numeric binary: ndigits, weight, sign, dscale, then base-10000 digits. */
function numericBinary(text: string): Buffer {
  const t = text.trim();
  if (t === 'NaN') return Buffer.from([0, 0, 0, 0, 0xc0, 0, 0, 0]);
  const m = /^([+-])?(\d*)(?:\.(\d*))?$/.exec(t);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error(`cannot encode numeric "${text}" in binary`);
  const negative = m[1] === '-';
  const intPart = (m[2] ?? '').replace(/^0+/, '');
  const frac = m[3] ?? '';
  const dscale = frac.length;
  const intPadded = intPart.padStart(Math.ceil(intPart.length / 4) * 4, '0');
  const fracPadded = frac.padEnd(Math.ceil(frac.length / 4) * 4, '0');
  let digits = [...(intPadded.match(/.{4}/g) ?? []), ...(fracPadded.match(/.{4}/g) ?? [])].map(Number);
  let weight = intPadded.length / 4 - 1;
  while (digits.length > 0 && digits[0] === 0) {
    digits.shift();
    weight--;
  }
  while (digits.length > 0 && digits[digits.length - 1] === 0) digits.pop();
  if (digits.length === 0) weight = 0;
  const b = Buffer.alloc(8 + 2 * digits.length);
  b.writeInt16BE(digits.length, 0);
  b.writeInt16BE(weight, 2);
  b.writeUInt16BE(negative && digits.length > 0 ? 0x4000 : 0, 4);
  b.writeInt16BE(dscale, 6);
  digits.forEach((d, i) => b.writeInt16BE(d, 8 + 2 * i));
  digits = [];
  return b;
}

function numericText(b: Buffer): string {
  if (b.length < 8) throw new Error('numeric binary value too short');
  const ndigits = b.readInt16BE(0);
  const weight = b.readInt16BE(2);
  const sign = b.readUInt16BE(4);
  const dscale = b.readInt16BE(6);
  if (ndigits < 0 || b.length !== 8 + 2 * ndigits || dscale < 0) throw new Error('malformed numeric binary value');
  if (sign === 0xc000) return 'NaN';
  const digits: number[] = [];
  for (let i = 0; i < ndigits; i++) digits.push(b.readInt16BE(8 + 2 * i));
  let intPart = '';
  for (let w = 0; w <= weight; w++) intPart += String(digits[w] ?? 0).padStart(4, '0');
  intPart = intPart.replace(/^0+/, '') || '0';
  let frac = '';
  for (let i = Math.max(weight + 1, 0); i < ndigits; i++) frac += String(digits[i]).padStart(4, '0');
  if (weight < -1) frac = '0000'.repeat(-weight - 1) + frac;
  frac = frac.padEnd(dscale, '0').slice(0, dscale);
  return `${sign === 0x4000 ? '-' : ''}${intPart}${dscale > 0 ? `.${frac}` : ''}`;
}
