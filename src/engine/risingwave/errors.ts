import { sqlState } from './pg';

/**
 * RisingWave's errors, read the way RisingWave writes them (v3.0.3), and their PostgreSQL meaning.
 *
 * RisingWave puts a SQLSTATE only on catalog errors: 42704 (not found), 42710 (duplicate) and 3D000
 * (unknown database); everything else is XX000, a statement timeout included
 * (https://github.com/risingwavelabs/risingwave/blob/v3.0.3/src/utils/pgwire/src/error_or_notice.rs
 * `unwrap_or(PostgresErrorCode::InternalError)`; the codes are provided in
 * https://github.com/risingwavelabs/risingwave/blob/v3.0.3/src/frontend/src/catalog/mod.rs and
 * tested in https://github.com/risingwavelabs/risingwave/blob/v3.0.3/e2e_test/error_ui/simple/sqlstate.slt).
 * So what went wrong has to be read from the message, whose shape is fixed: a first line naming the
 * protocol step (https://github.com/risingwavelabs/risingwave/blob/v3.0.3/src/utils/pgwire/src/error.rs),
 * then the cause chain, one cause or numbered ones, most recent first:
 *
 *     Failed to run the query                                 Failed to execute the statement
 *
 *     Caused by:                                              Caused by these errors (recent errors listed first):
 *       Query cancelled: timeout after 5 seconds                1: Expr error
 *                                                               2: error while evaluating expression `general_div('1', '0')`
 *                                                               3: Division by zero
 *
 * (https://github.com/risingwavelabs/risingwave/blob/v3.0.3/e2e_test/error_ui/simple/main.slt and
 * .../e2e_test/error_ui/extended/main.slt). A PostgreSQL standing in for RisingWave sends none of
 * this; its errors are left as they are.
 */

/** First lines of a RisingWave query error: simple query, Parse, Execute (pgwire/src/error.rs). */
const FRAMES: ReadonlySet<string> = new Set(['Failed to run the query', 'Failed to prepare the statement', 'Failed to execute the statement']);

/** A RisingWave error message taken apart. */
export interface RisingWaveMessage {
  /** The first line, e.g. `Failed to run the query`. */
  readonly frame: string;
  /** The first line of each cause, outermost first, e.g. `['Catalog error', 'table or source not found: nope']`. */
  readonly causes: readonly string[];
}

/** Takes a RisingWave error message apart; undefined when it does not have RisingWave's shape. */
export function parseRisingWaveMessage(message: string): RisingWaveMessage | undefined {
  const lines = message.split('\n');
  const frame = lines[0] ?? '';
  if (!FRAMES.has(frame) || !/^Caused by/.test(lines[2] ?? '')) return undefined;
  const causes: string[] = [];
  // A cause starts with exactly two spaces; deeper-indented or unindented lines continue it
  // (the parser error's "LINE 1: ..." and caret lines).
  for (const line of lines.slice(3)) {
    const m = /^ {2}(?:\d+: )?(\S.*)$/.exec(line);
    if (m !== null) causes.push(m[1]!);
  }
  return causes.length > 0 ? { frame, causes } : undefined;
}

/** Why a statement stopped on RisingWave, when it was stopped rather than failed. */
export type StopReason = 'timeout' | 'cancelled';

/**
 * Was the statement stopped: by the statement timeout (`Query cancelled: timeout after N seconds`,
 * https://github.com/risingwavelabs/risingwave/blob/v3.0.3/src/frontend/src/scheduler/local.rs and
 * .../scheduler/distributed/query.rs; PostgreSQL: 57014 "...statement timeout"), or by a KILL or
 * CancelRequest (`Cancelled by user` in local mode, `cancelled by user` in distributed mode,
 * .../scheduler/distributed/query_manager.rs; PostgreSQL: 57014 "...user request")?
 */
export function stopReason(err: unknown): StopReason | undefined {
  const state = sqlState(err);
  const message = err instanceof Error ? err.message : '';
  if (state === '57014') return /statement timeout/.test(message) ? 'timeout' : 'cancelled';
  if (state !== 'XX000') return undefined;
  if (/Query cancelled: timeout after \d+ seconds/.test(message)) return 'timeout';
  if (/Query cancelled: [Cc]ancelled by user/.test(message)) return 'cancelled';
  return undefined;
}

/**
 * The PostgreSQL SQLSTATE for a RisingWave cause, first rule matching any cause wins (specific
 * before generic). Texts: https://github.com/risingwavelabs/risingwave/blob/v3.0.3/src/frontend/src/error.rs
 * (`Bind error:`, `Failed to bind expression:`, `Item not found:`, `Invalid input syntax:`,
 * `Not supported:`, `Invalid Parameter Value:`, `Expr error`),
 * .../src/expr/core/src/error.rs (`Division by zero`, `Numeric out of range`, `Parse error:`,
 * `Unsupported function:`), .../src/error/src/common.rs (`Feature is not yet implemented:`,
 * `function ... does not exist`), .../src/sqlparser/src/parser.rs (`sql parser error:`).
 * Anything not listed (storage, RPC, internal errors) stays XX000 and is masked by the callers.
 */
const CAUSE_CODES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^sql parser error:/, '42601'],
  [/^function .* does not exist/, '42883'],
  [/^Item not found: Invalid column/, '42703'],
  [/^Division by zero$/, '22012'],
  [/^(?:Numeric out of range|Casting to .* out of range)/, '22003'],
  [/^(?:Invalid input syntax:|Parse error:)/, '22P02'],
  [/^Invalid Parameter Value:/, '22023'],
  [/^(?:Not supported:|Feature is not yet implemented:|Unsupported function:|Unsupported cast:)/, '0A000'],
  [/^(?:Bind error:|Failed to bind expression:|Item not found:|Invalid reference:)/, '42000'],
  [/^Expr error$/, '22000'],
];

/**
 * An engine SQL error in PostgreSQL's terms: the SQLSTATE PostgreSQL would use and RisingWave's
 * cause chain as one line (without the `Failed to run the query / Caused by` framing). The
 * original error is its `cause`.
 */
export class EngineSqlError extends Error {
  override readonly name = 'EngineSqlError';
  constructor(readonly code: string, message: string, options: { cause: unknown }) {
    super(message, options);
  }
}

/**
 * `err` in PostgreSQL's terms when RisingWave sent it: catalog errors keep their code, XX000 gets the
 * code of its cause (see {@link CAUSE_CODES}) or stays XX000. Returns `err` itself when it is not a
 * RisingWave error (e.g. PostgreSQL standing in).
 */
export function asPostgresError(err: unknown): unknown {
  const state = sqlState(err);
  const parsed = err instanceof Error && state !== undefined ? parseRisingWaveMessage(err.message) : undefined;
  if (parsed === undefined || state === undefined) return err;
  const text = parsed.causes.join(': ');
  if (state !== 'XX000') return new EngineSqlError(state, text, { cause: err });
  for (const [test, code] of CAUSE_CODES) {
    if (parsed.causes.some((c) => test.test(c))) return new EngineSqlError(code, text, { cause: err });
  }
  return new EngineSqlError('XX000', text, { cause: err });
}
