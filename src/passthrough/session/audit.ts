import { createHash } from 'node:crypto';
import type { Logger } from '../../log';
import type { SqlUser } from '../users';

/**
 * The audit log (the `passthrough.audit` logger, docs/SQL.md "Audit log"): one line per login, per
 * refused login and per statement, with the user, the statement only as a SHA-256 of its text,
 * rows, duration and outcome. Never a password.
 */

/** Which protocol carried a statement. */
export type QueryProtocol = 'simple' | 'extended';

/** Logs a successful login; `delayMs` = how long the login back-off held the answer (omitted when 0). */
export function auditLogin(audit: Logger, user: SqlUser, pid: number, remote: string, tls: boolean, delayMs = 0): void {
  audit.info({ user: user.name, role: user.role, pid, remote, tls, outcome: 'ok', ...(delayMs > 0 ? { delayMs } : {}) }, 'sql login');
}

/**
 * Logs a refused login (wrong password and unknown user alike; `reason` tells them apart in the log
 * only); `delayMs` = how long the login back-off held the answer (omitted when 0).
 */
export function auditLoginRefused(audit: Logger, user: string, remote: string, reason: string, delayMs = 0): void {
  audit.warn({ user, remote, reason, outcome: 'auth_failed', ...(delayMs > 0 ? { delayMs } : {}) }, 'sql login refused');
}

/** The statement lines of one authenticated session. */
export class StatementAudit {
  constructor(private readonly audit: Logger, private readonly user: SqlUser, private readonly pid: number) {}

  /** One statement: `sqlstate` undefined = it succeeded; `started` is its Date.now() at start. */
  statement(text: string, rows: number, started: number, sqlstate: string | undefined, protocol: QueryProtocol): void {
    this.audit.info({
      user: this.user.name, role: this.user.role, pid: this.pid, protocol,
      stmt: createHash('sha256').update(text).digest('hex'), rows, ms: Date.now() - started,
      outcome: sqlstate === undefined ? 'ok' : 'error', ...(sqlstate !== undefined ? { sqlstate } : {}),
    }, 'sql statement');
  }
}
