/**
 * `wavegate <command>`: the CLI entry (bin/wavegate.js calls {@link main}).
 *
 * Exit codes: 0 ok; 1 runtime failure; 2 bad command line (unknown command or option, missing
 * argument, `token` without WAVEGATE_JWT_SECRET); 78 bad configuration (EX_CONFIG from sysexits.h:
 * a WAVEGATE_* variable is wrong, the message names it).
 */
import { isGatewayError, GatewayErrorCode } from '../errors';
import { loadViews } from '../config/views';
import { printSchemaSdl } from '../graphql/executableSchema';
import { parseOptions, UsageError } from './args';
import { processIo, type CliIo } from './io';
import { runDoctor } from '../doctor';
import { runMigrate } from './migrate';
import { serveCommand, SERVE_USAGE } from './serve';
import { runSimulate, SIMULATE_USAGE } from './simulate';
import { runToken, TOKEN_USAGE } from './token';

/** Exit codes of {@link main}. */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  /** EX_CONFIG (sysexits.h): configuration error. */
  CONFIG: 78,
} as const;

export const USAGE = `Usage: wavegate <command> [options]

Commands:
${indent(SERVE_USAGE)}
${indent(SIMULATE_USAGE)}
${indent(TOKEN_USAGE)}
  wavegate print-schema
    Prints the GraphQL schema (SDL) the gateway serves; schema/schema.graphql is its committed copy.

  wavegate migrate plan|apply|status
    RisingWave DDL migrations; \`wavegate migrate --help\` explains them (docs/RISINGWAVE.md).
  wavegate doctor
    Checks the source database for what RisingWave's CDC needs (binlog/WAL settings, grants).

  wavegate help
    This text. \`wavegate <command> --help\` prints one command's part.

Configuration comes from WAVEGATE_* environment variables (README.md lists them).
Exit codes: 0 ok, 1 failure, 2 bad command line, 78 bad configuration.
`;

function indent(text: string): string {
  return text.split('\n').map((l) => (l === '' ? l : `  ${l}`)).join('\n');
}

async function printSchema(args: readonly string[], io: CliIo): Promise<number> {
  if (parseOptions('print-schema', args, []).help) {
    io.stdout('wavegate print-schema\n  Prints the GraphQL schema (SDL) the gateway serves, generated from the views of WAVEGATE_SCHEMA_DIR (default: the bundled schema/).\n');
    return ExitCode.OK;
  }
  const sdl = await printSchemaSdl(loadViews(io.env));
  io.stdout(sdl.endsWith('\n') ? sdl : `${sdl}\n`);
  return ExitCode.OK;
}

/** Runs one CLI command; resolves to the process exit code (it never calls process.exit). */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serveCommand(args, io);
      case 'simulate':
        return await runSimulate(args, io);
      case 'token':
        return await runToken(args, io);
      case 'print-schema':
        return await printSchema(args, io);
      case 'migrate':
        return await runMigrate(args, io);
      case 'doctor':
        return await runDoctor(args, io);
      case 'help':
      case '--help':
      case '-h':
        io.stdout(USAGE);
        return ExitCode.OK;
      case undefined:
        io.stderr(USAGE);
        return ExitCode.USAGE;
      default:
        io.stderr(`wavegate: unknown command "${command}"\n\n${USAGE}`);
        return ExitCode.USAGE;
    }
  } catch (err) {
    return report(err, io);
  }
}

/** Prints an error the way a user can act on it; configuration and usage errors without a stack. */
function report(err: unknown, io: CliIo): number {
  if (err instanceof UsageError) {
    io.stderr(`${err.message}\n`);
    return ExitCode.USAGE;
  }
  if (isGatewayError(err, GatewayErrorCode.BAD_CONFIG)) {
    io.stderr(`wavegate: bad configuration: ${err.message}\n`);
    return ExitCode.CONFIG;
  }
  if (isGatewayError(err)) {
    io.stderr(`wavegate: ${err.code}: ${err.message}\n`);
    return ExitCode.FAILURE;
  }
  io.stderr(`wavegate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return ExitCode.FAILURE;
}
