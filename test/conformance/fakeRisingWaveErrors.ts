/**
 * RisingWave's error responses as the fake RisingWave (fakeRisingWave*.ts) sends them, from
 * RisingWave v3.0.3's source:
 *
 * - only S, C and M fields (src/utils/pgwire/src/pg_message.rs, `write_err_or_notice`);
 * - SQLSTATE XX000 unless the error carries a code; only catalog errors do: 42704 not found, 42710
 *   duplicate, 3D000 unknown database (src/utils/pgwire/src/error_or_notice.rs,
 *   src/frontend/src/catalog/mod.rs; e2e_test/error_ui/simple/sqlstate.slt);
 * - M = the protocol step's line, then the cause chain (src/utils/pgwire/src/error.rs;
 *   e2e_test/error_ui/simple/main.slt, e2e_test/error_ui/extended/main.slt);
 * - a statement timeout: `Query cancelled: timeout after <whole seconds> seconds`, a cancel:
 *   `Query cancelled: Cancelled by user` (src/frontend/src/scheduler/local.rs).
 *
 * PostgreSQL's errors (the SQL runs there) are rewritten into RisingWave's corresponding texts where
 * Wavegate's behaviour depends on them, approximately for the rest (still XX000, like RisingWave).
 */

/** The protocol step an error happened in: the first line of RisingWave's message. */
export type RwFrame = 'run' | 'prepare' | 'execute';

const FRAME_LINE: Record<RwFrame, string> = {
  run: 'Failed to run the query',
  prepare: 'Failed to prepare the statement',
  execute: 'Failed to execute the statement',
};

/** An ErrorResponse with RisingWave's three fields. */
export function rwError(severity: 'ERROR' | 'FATAL', code: string, message: string): Buffer {
  const body = Buffer.concat([
    Buffer.from('S'), Buffer.from(`${severity}\0`), Buffer.from('C'), Buffer.from(`${code}\0`),
    Buffer.from('M'), Buffer.from(`${message}\0`, 'utf8'), Buffer.from([0]),
  ]);
  const head = Buffer.alloc(5);
  head[0] = 0x45;
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** `frame` line plus the cause chain, as RisingWave's pretty report prints it. */
export function rwMessage(frame: RwFrame, causes: readonly string[]): string {
  const chain = causes.length === 1 ? `Caused by:\n  ${causes[0]}`
    : `Caused by these errors (recent errors listed first):\n${causes.map((c, i) => `  ${i + 1}: ${c}`).join('\n')}`;
  return `${FRAME_LINE[frame]}\n\n${chain}`;
}

/** RisingWave's code and causes for what PostgreSQL (or the fake itself) reported. */
export function rwCauses(err: unknown, statementTimeoutMs: number): { code: string; causes: string[] } {
  const e = err as { code?: unknown; message?: unknown; rw?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (e?.rw === true) return { code: 'XX000', causes: [message] };
  switch (e?.code) {
    case '57014':
      return { code: 'XX000', causes: [/statement timeout/.test(message)
        ? `Query cancelled: timeout after ${Math.floor(statementTimeoutMs / 1000)} seconds` : 'Query cancelled: Cancelled by user'] };
    case '42P01': {
      const name = /relation "([^"]+)" does not exist/.exec(message)?.[1] ?? '?';
      return { code: '42704', causes: ['Catalog error', `table or source not found: ${name}`] };
    }
    case '42703': {
      const name = /column "?([^" ]+)"? does not exist/.exec(message)?.[1] ?? '?';
      return { code: 'XX000', causes: [`Failed to bind expression: ${name}`, `Item not found: Invalid column: ${name}`] };
    }
    case '42601':
      return { code: 'XX000', causes: [`sql parser error: ${message}`] };
    case '42883':
      return { code: 'XX000', causes: [message] };
    case '22012':
      return { code: 'XX000', causes: ['Expr error', 'error while evaluating expression `general_div`', 'Division by zero'] };
    default:
      return { code: 'XX000', causes: [message] };
  }
}

/** The ErrorResponse RisingWave sends for `err` in protocol step `frame`. */
export function rwErrorFrom(err: unknown, frame: RwFrame, statementTimeoutMs: number): Buffer {
  const { code, causes } = rwCauses(err, statementTimeoutMs);
  return rwError('ERROR', code, rwMessage(frame, causes));
}
