import yargs from 'yargs';
import { ConfigError, describeError, MigrationError, scrubProcessOutput, shutdownSignalsToCommand, StartupError } from '@watched/core';
import { WATCHED_COMMANDS } from './commands.js';
import { joinDashedValues, usageErrorLine } from './usage-errors.js';

/** Thrown by yargs' fail handler: a usage error, printed as one line with exit code 2. */
class UsageError extends Error {}

/**
 * What the CLI prints for an error that ends a command, and its exit code:
 * always one line (never a stack, never a library's error object), 2 for
 * bad configuration or usage, 1 for anything else.
 */
export function failureOf(err: unknown, args: readonly string[]): { line: string; exitCode: number } {
  if (err instanceof UsageError) return { line: usageErrorLine(err.message, args), exitCode: 2 };
  if (err instanceof ConfigError) return { line: `watched: ${describeError(err)}`, exitCode: 2 };
  if (err instanceof MigrationError || err instanceof StartupError) return { line: `watched: ${describeError(err)}`, exitCode: 1 };
  return { line: `watched: ${describeError(err)}`, exitCode: 1 };
}

/** The `watched` command (bin/watched.js runs it). Exit codes: 1 runtime failure, 2 bad configuration or usage. */
export async function main(rawArgs: string[]): Promise<void> {
  // Whatever prints from here on (a library's console.error included) passes the secret registry.
  scrubProcessOutput();
  const exitCode = await run(rawArgs);
  if (exitCode !== undefined) process.exit(exitCode);
}

/**
 * Runs one command line; a failure is printed as its one line and its exit
 * code returned (undefined: the command ended normally, its own exit code stands).
 */
export async function run(rawArgs: string[]): Promise<number | undefined> {
  const args = joinDashedValues(rawArgs);
  try {
    await yargs(args)
      .scriptName('watched')
      .usage('$0 <command> [options]\n\nMonitoring backend for watched.agent fleets.')
      .option('config', { type: 'string', describe: 'YAML or JSON config file (camelCase or kebab-case keys)', global: true })
      .command(WATCHED_COMMANDS)
      .demandCommand(1, 'name a command')
      // The command runs now: the loading's SIGTERM/SIGINT guard (exit 0) gives way, without a moment unguarded.
      .middleware(() => shutdownSignalsToCommand())
      .strict()
      .fail((message, err) => {
        if (err) throw err;
        throw new UsageError(message);
      })
      .help()
      .wrap(Math.min(120, process.stdout.columns ?? 100))
      .parseAsync();
    return undefined;
  } catch (err) {
    const { line, exitCode } = failureOf(err, args);
    console.error(line);
    return exitCode;
  }
}

/** For bin/watched.js: hands its loading guard of SIGTERM/SIGINT over without dropping a signal already delivered. */
export { guardShutdownSignals } from '@watched/core';
