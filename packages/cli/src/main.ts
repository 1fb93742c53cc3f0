import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError, MigrationError, StartupError } from '@watched/core';
import { agentsCommand } from './commands/agents.js';
import { migrateCommand } from './commands/migrate.js';
import { aggregatorCommand } from './commands/aggregator.js';
import { coordinatorCommand } from './commands/coordinator.js';
import { workerCommand } from './commands/worker.js';
import { simCommand } from './commands/sim.js';
import { upCommand } from './commands/up.js';
import { statusCommand } from './commands/status.js';
import { alerterCommand } from './commands/alerter.js';
import { silenceCommand } from './commands/silence.js';

/** Exit codes: 1 runtime failure, 2 bad configuration or usage. */
export async function main(args: string[]): Promise<void> {
  try {
    await yargs(args)
      .scriptName('watched')
      .usage('$0 <command> [options]\n\nMonitoring backend for watched.agent fleets.')
      .option('config', { type: 'string', describe: 'YAML or JSON config file (camelCase or kebab-case keys)', global: true })
      .command(upCommand)
      .command(migrateCommand)
      .command(agentsCommand)
      .command(coordinatorCommand)
      .command(workerCommand)
      .command(aggregatorCommand)
      .command(simCommand)
      .command(statusCommand)
      .command(alerterCommand)
      .command(silenceCommand)
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

await main(hideBin(process.argv));
