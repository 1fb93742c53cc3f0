import yargs from 'yargs';
import { ConfigError, MigrationError, StartupError } from '@watched/core';
import { WATCHED_COMMANDS } from './commands.js';

/** The `watched` command (bin/watched.js runs it). Exit codes: 1 runtime failure, 2 bad configuration or usage. */
export async function main(args: string[]): Promise<void> {
  try {
    await yargs(args)
      .scriptName('watched')
      .usage('$0 <command> [options]\n\nMonitoring backend for watched.agent fleets.')
      .option('config', { type: 'string', describe: 'YAML or JSON config file (camelCase or kebab-case keys)', global: true })
      .command(WATCHED_COMMANDS)
      .demandCommand(1, 'name a command; see --help')
      .strict()
      .fail((message, err, y) => {
        if (err) throw err;
        console.error(`${message}\n`);
        y.showHelp();
        process.exit(2);
      })
      .help()
      .wrap(Math.min(120, process.stdout.columns ?? 100))
      .parseAsync();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`watched: ${err.message}`);
      process.exit(2);
    }
    if (err instanceof MigrationError || err instanceof StartupError) {
      console.error(`watched: ${err.message}`);
      process.exit(1);
    }
    console.error(`watched: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  }
}

