import type { CommandModule } from 'yargs';
import { baseOptionsShape, Migrator, redactUrl } from '@watched/core';
import { loggerFor, resolveOptions, withBaseOptions } from '../options.js';

interface MigrateArgs {
  status?: boolean;
}

export const migrateCommand: CommandModule<object, MigrateArgs> = {
  command: 'migrate',
  describe: 'Create the database if missing and apply the numbered SQL files of migrations/',
  builder: (yargs) =>
    withBaseOptions(yargs).option('status', { type: 'boolean', describe: 'list applied and pending migrations, change nothing' }),
  handler: async (argv) => {
    const options = resolveOptions(argv, baseOptionsShape);
    const logger = loggerFor(options);
    const migrator = new Migrator({ mysqlUrl: options.mysqlUrl, migrationsDir: options.migrationsDir, logger });
    if (argv.status) {
      const rows = await migrator.status();
      for (const row of rows) {
        console.log(`${row.name.padEnd(40)} ${row.state.padEnd(12)} ${row.appliedAt ?? ''}`);
      }
      if (rows.some((r) => r.state === 'edited' || r.state === 'missing-file')) process.exitCode = 1;
      return;
    }
    const result = await migrator.migrate();
    logger.info(
      `database ${redactUrl(options.mysqlUrl)}: applied ${result.applied.length} migration(s)` +
        (result.applied.length ? ` (${result.applied.join(', ')})` : '') +
        `, ${result.alreadyApplied} already applied`,
    );
  },
};
