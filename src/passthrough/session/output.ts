import type { QueryResult, ResultColumn } from '../executor';
import { encode, type ErrorFields, type FieldDescription, type FormatCode } from '../protocol';
import { SqlRefusal, SqlState } from '../sqlstate';
import { typeSize } from '../types';
import { textToBinary } from '../values';
import type { SessionTransport } from './context';

/**
 * Output buffering: backend messages are collected and written in one piece when the session has
 * finished a message that needs an answer now (ReadyForQuery, Flush, an authentication step), or
 * when more than {@link FLUSH_AT} bytes are waiting (a large result streams instead of piling up).
 * Also encodes result rows and column descriptions in the formats the client asked for.
 */

/** Bytes buffered before they are written without waiting for the end of the message. */
const FLUSH_AT = 65_536;

/** The backend messages waiting to be written, for one session. */
export class Output {
  private pending: Buffer[] = [];

  /** `isClosed`: once true, buffered output is dropped instead of written. */
  constructor(private readonly t: SessionTransport, private readonly isClosed: () => boolean) {}

  /** Buffers messages. */
  push(...msgs: Buffer[]): void {
    this.pending.push(...msgs);
  }

  /** Writes what is buffered; resolves when the transport can take more. */
  async flush(): Promise<void> {
    if (this.pending.length === 0 || this.isClosed()) {
      this.pending = [];
      return;
    }
    const data = Buffer.concat(this.pending);
    this.pending = [];
    await this.t.write(data);
  }

  /** Flushes when more than {@link FLUSH_AT} bytes wait. */
  async flushIfFull(): Promise<void> {
    if (this.pending.reduce((n, b) => n + b.length, 0) > FLUSH_AT) await this.flush();
  }

  /** Buffers an ErrorResponse for a refused or failed statement. */
  error(err: SqlRefusal): void {
    this.push(encode.error(errorFields('ERROR', err)));
  }

  /** Buffers a NoticeResponse with severity WARNING. */
  warning(code: string, message: string): void {
    this.push(encode.error({ severity: 'WARNING', code, message }));
  }

  /** Buffers DataRows `from` .. `to` (exclusive) of `result`, flushing as they pile up. */
  async rows(result: QueryResult, from: number, to: number, formats: readonly FormatCode[]): Promise<void> {
    for (let i = from; i < to; i++) {
      const row = result.rows[i]!;
      this.push(encode.dataRow(row.map((v, c) => {
        if (v === null) return null;
        return formatOf(formats, c) === 1 ? binaryValue(result.columns[c]!.typeOid, v) : Buffer.from(v, 'utf8');
      })));
      await this.flushIfFull();
    }
  }
}

function errorFields(severity: ErrorFields['severity'], e: SqlRefusal): ErrorFields {
  return {
    severity, code: e.sqlState, message: e.message,
    ...(e.extra.detail !== undefined ? { detail: e.extra.detail } : {}),
    ...(e.extra.hint !== undefined ? { hint: e.extra.hint } : {}),
    ...(e.extra.position !== undefined ? { position: e.extra.position } : {}),
  };
}

/** Format of column or parameter `i`: none given = text, one = all, else per position. */
export function formatOf(formats: readonly FormatCode[], i: number): FormatCode {
  if (formats.length === 0) return 0;
  return formats.length === 1 ? formats[0]! : formats[i] ?? 0;
}

/** RowDescription fields of `columns` in `formats`. */
export function fields(columns: readonly ResultColumn[], formats: readonly FormatCode[]): FieldDescription[] {
  return columns.map((c, i) => ({ name: c.name, typeOid: c.typeOid, typeSize: typeSize(c.typeOid), format: formatOf(formats, i) }));
}

function binaryValue(oid: number, text: string): Buffer {
  try {
    return textToBinary(oid, text);
  } catch (err) {
    throw new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, `cannot send a value of type ${oid} in binary: ${err instanceof Error ? err.message : String(err)}`);
  }
}
