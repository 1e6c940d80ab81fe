import pino from 'pino';

/** Structured, namespaced logger. Injected everywhere; Wavegate code never writes to the console. */
export interface Logger {
  debug(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
  /** A child logger whose lines carry `ns` (e.g. `engine.embedded`). */
  child(ns: string): Logger;
}

/** Log levels accepted by `WAVEGATE_LOG_LEVEL`. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Keys whose values are never logged (tokens, passwords, secrets). */
const REDACT = [
  'secret', 'password', 'token', 'authorization',
  '*.secret', '*.password', '*.token', '*.authorization', 'headers.authorization',
];

/** A pino-backed logger writing JSON lines to stdout (or `destination`). */
export function createLogger(level: LogLevel = 'info', destination?: pino.DestinationStream): Logger {
  const base = pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { app: 'wavegate' } },
    destination ?? pino.destination({ dest: 1, sync: false }));
  return wrap(base);
}

function wrap(p: pino.Logger): Logger {
  return {
    debug: (f, m) => p.debug(f, m),
    info: (f, m) => p.info(f, m),
    warn: (f, m) => p.warn(f, m),
    error: (f, m) => p.error(f, m),
    child: (ns) => wrap(p.child({ ns })),
  };
}

/** A logger that drops everything; for tests that do not assert on logs. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

/** A logger that records lines in memory, for tests that assert on what was logged. */
export interface RecordingLogger extends Logger {
  readonly lines: Array<{ level: string; ns: string; msg: string; fields: Record<string, unknown> }>;
}

/** Creates a {@link RecordingLogger}. Children share the parent's `lines`. */
export function recordingLogger(): RecordingLogger {
  const lines: RecordingLogger['lines'] = [];
  const make = (ns: string): RecordingLogger => ({
    lines,
    debug: (fields, msg) => void lines.push({ level: 'debug', ns, msg, fields }),
    info: (fields, msg) => void lines.push({ level: 'info', ns, msg, fields }),
    warn: (fields, msg) => void lines.push({ level: 'warn', ns, msg, fields }),
    error: (fields, msg) => void lines.push({ level: 'error', ns, msg, fields }),
    child: (child) => make(ns ? `${ns}.${child}` : child),
  });
  return make('');
}
