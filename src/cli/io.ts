import { createLogger, type Logger, type LogLevel } from '../log';

/**
 * Everything a CLI command touches outside itself: output streams, environment, logger and shutdown
 * signals. `main` gets the process's by default; tests pass their own so nothing reaches the console.
 */
export interface CliIo {
  /** A command's result (a token, the schema, a summary). */
  stdout(text: string): void;
  /** Human messages: errors, usage, the start-up banner. */
  stderr(text: string): void;
  /** Where configuration is read from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * The command's logger. `serve` logs JSON lines to stdout (a service's output is its log); one-shot
   * commands log to stderr so stdout holds only their result.
   */
  logger(level: LogLevel, stream: 'stdout' | 'stderr'): Logger;
  /** Calls `handler` on the first SIGINT or SIGTERM. Returns a function that removes the handler. */
  onShutdownSignal(handler: (signal: NodeJS.Signals) => void): () => void;
}

/** The real process: stdout/stderr, process.env, pino, SIGINT/SIGTERM. */
export function processIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    env: process.env,
    logger: (level, stream) => createLogger(level, stream === 'stderr' ? process.stderr : undefined),
    onShutdownSignal: (handler) => {
      let fired = false;
      const once = (signal: NodeJS.Signals) => {
        if (fired) return;
        fired = true;
        remove();
        handler(signal);
      };
      // Handlers go after the first signal, so a second Ctrl-C kills a stuck shutdown the default way.
      const remove = () => {
        process.off('SIGINT', once);
        process.off('SIGTERM', once);
      };
      process.on('SIGINT', once);
      process.on('SIGTERM', once);
      return remove;
    },
  };
}
