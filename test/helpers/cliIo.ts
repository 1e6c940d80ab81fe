import type { CliIo } from '../../src/cli/io';
import { recordingLogger, type RecordingLogger } from '../../src/log';

/** What {@link captureIo} returns: the io, what it captured, and the test's hand on the shutdown signal. */
export interface CapturedIo {
  readonly io: CliIo;
  readonly out: { stdout: string; stderr: string };
  readonly log: RecordingLogger;
  /** Sends the shutdown signal the command registered for (a no-op when none is registered). */
  signal(s?: NodeJS.Signals): void;
  /** Has the command registered a shutdown handler (and not removed it)? */
  listening(): boolean;
}

/** A CliIo that captures stdout/stderr and logs, reads `env`, and lets the test send SIGTERM. */
export function captureIo(env: Record<string, string> = {}): CapturedIo {
  const out = { stdout: '', stderr: '' };
  const log = recordingLogger();
  let handler: ((signal: NodeJS.Signals) => void) | undefined;
  const io: CliIo = {
    stdout: (s) => void (out.stdout += s),
    stderr: (s) => void (out.stderr += s),
    env,
    logger: () => log,
    onShutdownSignal: (h) => {
      handler = h;
      return () => void (handler = undefined);
    },
  };
  return { io, out, log, signal: (s = 'SIGTERM') => handler?.(s), listening: () => handler !== undefined };
}
