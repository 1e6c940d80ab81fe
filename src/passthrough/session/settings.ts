import type { QueryResult, ResultColumn } from '../executor';
import { sessionLimitExceeded, SqlRefusal, SqlState } from '../sqlstate';
import { Oid } from '../types';

/**
 * The session's run-time settings: what SET and RESET change, SHOW answers, and startup parameters
 * and `-c` options set. Nothing is forwarded to the engine: the passthrough is the server the client
 * talks to, so it keeps Postgres' defaults itself and refuses the few values it cannot honour
 * (another client encoding, standard_conforming_strings off). `statement_timeout` may only lower
 * the listener's limit.
 */

/**
 * Session-level settings answered by SHOW, with the values a fresh session has. Maps, not object
 * literals: setting names come from clients, and `constructor` must not find Object's.
 */
const BASE_SETTINGS: ReadonlyMap<string, string> = new Map(Object.entries({
  server_encoding: 'UTF8', client_encoding: 'UTF8', datestyle: 'ISO, MDY', integer_datetimes: 'on',
  standard_conforming_strings: 'on', intervalstyle: 'postgres', is_superuser: 'off', search_path: '"$user", public',
  transaction_isolation: 'read committed', default_transaction_isolation: 'read committed', transaction_read_only: 'on',
  default_transaction_read_only: 'on', extra_float_digits: '1', max_identifier_length: '63', block_size: '8192',
  max_index_keys: '32', bytea_output: 'hex', lc_collate: 'C.UTF-8', lc_ctype: 'C.UTF-8', application_name: '',
}));

/** Settings whose change is reported with ParameterStatus (setting name → reported name). */
const REPORTED: ReadonlyMap<string, string> = new Map([['application_name', 'application_name']]);

const CLIENT_ENCODINGS = new Set(['utf8', 'utf-8', 'unicode', 'sql_ascii', 'auto']);

/** Most distinct settings a client can make a session remember. */
const MAX_SETTINGS = 200;

/** A ParameterStatus to send after a SET. */
export interface ParameterReport {
  readonly name: string;
  readonly value: string;
}

/** The settings of one session. */
export class SessionSettings {
  private readonly values = new Map<string, string>();

  /** `maxStatementTimeoutMs`: the listener's statement timeout, which SET can lower but not raise. */
  constructor(private readonly maxStatementTimeoutMs: number) {}

  /** Startup: the defaults, then what the engine reports (server_version, TimeZone). */
  initialise(serverParams: Readonly<Record<string, string>>): void {
    for (const [k, v] of BASE_SETTINGS) this.values.set(k, v);
    for (const [k, v] of Object.entries(serverParams)) this.values.set(k.toLowerCase(), v);
    this.values.set('statement_timeout', formatMs(this.maxStatementTimeoutMs));
  }

  /** The current value of `name`, if it is set. */
  get(name: string): string | undefined {
    return this.values.get(name);
  }

  /** Records the login name (SHOW session_authorization); not settable by SET. */
  setSessionUser(name: string): void {
    this.values.set('session_authorization', name);
  }

  /**
   * `SET name = value` (also startup parameters and `-c` options). Throws {@link SqlRefusal} for a
   * value the passthrough cannot honour. Returns the ParameterStatus to send, for a reported setting.
   */
  apply(name: string, value: string): ParameterReport | undefined {
    const v = value.trim();
    switch (name) {
      case 'client_encoding':
        if (!CLIENT_ENCODINGS.has(v.toLowerCase().replace(/^'|'$/g, ''))) {
          throw new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, `client encoding "${v}" is not supported: the SQL passthrough speaks UTF8`);
        }
        return undefined;
      case 'standard_conforming_strings':
        if (!/^(on|true|1|yes)$/i.test(v)) throw new SqlRefusal(SqlState.FEATURE_NOT_SUPPORTED, 'standard_conforming_strings must stay on');
        return undefined;
      case 'statement_timeout': {
        const ms = parseDurationMs(v);
        if (ms === undefined || ms < 0) throw new SqlRefusal(SqlState.INVALID_PARAMETER_VALUE, `invalid value for parameter "statement_timeout": "${v}"`);
        this.values.set(name, formatMs(ms > 0 ? Math.min(ms, this.maxStatementTimeoutMs) : this.maxStatementTimeoutMs));
        return undefined;
      }
      default: {
        if (!this.values.has(name) && this.values.size >= MAX_SETTINGS) throw sessionLimitExceeded('settings', MAX_SETTINGS);
        this.values.set(name, v);
        const reported = REPORTED.get(name);
        return reported === undefined ? undefined : { name: reported, value: v };
      }
    }
  }

  /** `RESET name` / `SET name TO DEFAULT`: back to the default, or unset when there is none. */
  reset(name: string): void {
    const base = BASE_SETTINGS.get(name) ?? (name === 'statement_timeout' ? formatMs(this.maxStatementTimeoutMs) : undefined);
    if (base !== undefined) this.values.set(name, base);
    else this.values.delete(name);
  }

  /** `RESET ALL` (and DISCARD ALL): the defaults again; other settings keep their values. */
  resetAll(): void {
    for (const [k, v] of BASE_SETTINGS) this.values.set(k, v);
    this.values.set('statement_timeout', formatMs(this.maxStatementTimeoutMs));
  }

  /** `SHOW name` / `SHOW ALL`; 42704 for a setting that is not set. */
  show(name: string): QueryResult {
    if (name === 'all') {
      const rows = [...this.values.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v, null]);
      return { columns: showColumns('all'), rows };
    }
    const value = this.values.get(name);
    if (value === undefined) throw new SqlRefusal(SqlState.UNDEFINED_OBJECT, `unrecognized configuration parameter "${name}"`);
    return { columns: showColumns(name), rows: [[value]] };
  }

  /** The statement timeout in effect, in milliseconds. */
  timeoutMs(): number {
    const requested = parseDurationMs(this.values.get('statement_timeout') ?? '0') ?? 0;
    return requested > 0 ? Math.min(requested, this.maxStatementTimeoutMs) : this.maxStatementTimeoutMs;
  }
}

/** The result columns of `SHOW name` (all text), known without running it (Describe). */
export function showColumns(name: string): ResultColumn[] {
  return name === 'all' ? ['name', 'setting', 'description'].map((n) => ({ name: n, typeOid: Oid.text })) : [{ name, typeOid: Oid.text }];
}

/** Milliseconds of a duration setting: `5000`, `'5s'`, `1min`, `250ms`. */
function parseDurationMs(v: string): number | undefined {
  const m = /^'?\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h|d)?\s*'?$/i.exec(v.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? 'ms').toLowerCase();
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'min' ? 60_000 : unit === 'h' ? 3_600_000 : 86_400_000;
  return Math.round(Number(m[1]) * factor);
}

function formatMs(ms: number): string {
  if (ms === 0) return '0';
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
