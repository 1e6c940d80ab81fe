import type { Logger } from '../../log';
import type { StatementExecutor } from '../executor';
import type { LoginThrottle } from '../throttle';
import type { SqlUser } from '../users';
import type { StatementAudit } from './audit';
import type { LocalStatements } from './localStatements';
import type { TotalMemory } from './memory';
import type { Output } from './output';
import type { StatementRunner } from './runner';
import type { Session } from './session';
import type { TransactionState } from './transaction';

/**
 * What a session is built from (its transport, the listener's cancel registry and settings) and
 * what its query handlers share once the client is authenticated. Interfaces only.
 */

/** What the session needs from the connection. */
export interface SessionTransport {
  /** Sends bytes; resolves when the socket can take more. */
  write(data: Buffer): Promise<void>;
  /** Ends the connection (after flushing what was written). */
  close(): void;
  /**
   * Sends `answer` ('S') and switches the connection to TLS (server side of the handshake);
   * undefined when no certificate is configured.
   */
  startTls?: (answer: Buffer) => Promise<void>;
  /** Whether the connection is already encrypted. */
  readonly encrypted: boolean;
  /** Peer address and port, for logs. */
  readonly remote: string;
  /** The key the login back-off counts this peer's failures under (admission.ts addressKey). */
  readonly address: string;
  /**
   * The login succeeded: take an authenticated slot. Returns why not (the listener's session limit
   * is reached: FATAL 53300), or undefined when the session may start.
   */
  admit(): string | undefined;
  /** Stop / resume reading from the client (backpressure when it sends faster than we answer). */
  pause(): void;
  resume(): void;
}

/** A session's backend key (BackendKeyData), which a CancelRequest must quote. */
export interface BackendKey {
  readonly pid: number;
  readonly secret: number;
}

/** Backend keys and cancellation across sessions (owned by the listener). */
export interface CancelRegistry {
  /** Issues a backend key for a session. */
  register(session: Session): BackendKey;
  unregister(pid: number): void;
  /** Cancels the running statement of the session with this key, if the key matches. */
  cancel(pid: number, secret: number): void;
}

/** Settings shared by all sessions of one listener. */
export interface SessionOptions {
  readonly users: ReadonlyMap<string, SqlUser>;
  /** Secret for mock SCRAM salts of unknown users. */
  readonly mockSecret: Buffer;
  readonly executor: StatementExecutor;
  readonly registry: CancelRegistry;
  readonly log: Logger;
  readonly audit: Logger;
  /** Upper bound of a statement's run time, in milliseconds. */
  readonly statementTimeoutMs: number;
  readonly maxRows: number;
  /** Largest frontend message accepted, in bytes. */
  readonly maxMessageBytes: number;
  /** Time allowed from connect to authenticated, in milliseconds. */
  readonly authTimeoutMs: number;
  /** Failed-login counters shared by the listener's sessions (back-off before answering a proof). */
  readonly throttle: LoginThrottle;
  /** The memory budget of all sessions (prepared statements and portals). */
  readonly memory: TotalMemory;
  /** The memory budget of one session, in bytes. */
  readonly sessionMemoryBytes: number;
  /** ParameterStatus values reported at startup (server_version, TimeZone, ...). */
  readonly serverParams: Readonly<Record<string, string>>;
}

/** What the simple and extended query handlers share, for one authenticated session. */
export interface QueryContext {
  /** Who is logged in: the guard applies this user's row policy. */
  readonly user: SqlUser;
  readonly maxRows: number;
  readonly executor: StatementExecutor;
  readonly log: Logger;
  readonly out: Output;
  readonly tx: TransactionState;
  readonly runner: StatementRunner;
  readonly audit: StatementAudit;
  /** SET, SHOW, transaction control, DISCARD, DEALLOCATE. */
  readonly local: LocalStatements;
}
