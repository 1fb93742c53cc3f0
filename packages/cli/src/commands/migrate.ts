import type { CommandModule } from 'yargs';
import { aggregatorOptionsShape } from '@watched/aggregator';
import { baseOptionsShape, compileConnectionOptions, frontOptionsShape, Migrator, redactUrl } from '@watched/core';
import { requireServers } from '../dependency-checks.js';
import { printFrontAdminNotice } from '../front-admin-notice.js';
import { loggerFor, resolveOptions, withOptions } from '../options.js';
import { convertDataTables } from './partition-conversion.js';

/** The aggregator's partition options: a conversion lays partitions out as the aggregator will continue them. */
const partitionOptionsShape = {
  aggregatorPartitionSpan: aggregatorOptionsShape.aggregatorPartitionSpan,
  aggregatorPartitionsAhead: aggregatorOptionsShape.aggregatorPartitionsAhead,
};

interface MigrateArgs {
  status?: boolean;
  dryRun?: boolean;
  partition?: boolean;
}

export const migrateCommand: CommandModule<object, MigrateArgs> = {
  command: 'migrate',
  describe:
    'Create the database if missing and apply the numbered SQL files of migrations/; a database written by watched.back is converted in place first',
  builder: (yargs) =>
    withOptions(yargs, baseOptionsShape, frontOptionsShape, partitionOptionsShape)
      .option('status', { type: 'boolean', describe: 'list applied and pending migrations, change nothing' })
      .option('dry-run', {
        type: 'boolean',
        describe: 'print the statements migrate would run (the watched.back conversion included), change nothing',
      })
      .option('partition', {
        type: 'boolean',
        describe:
          'then partition every d$ table by time (retention drops partitions; resumable; writes to the table being converted wait, see docs/upgrading.md)',
      }),
  handler: async (argv) => {
    const options = resolveOptions(argv, { ...baseOptionsShape, ...frontOptionsShape, ...partitionOptionsShape });
    const logger = loggerFor(options);
    const connections = compileConnectionOptions(options);
    // Logging in is enough: migrate creates the database.
    await requireServers(connections, { mysql: 'server' });
    const { mysql } = connections;
    const migrator = new Migrator({ mysql, migrationsDir: options.migrationsDir, logger, frontAdminPassword: options.frontAdminPassword });
    if (argv.status) {
      const rows = await migrator.status();
      for (const row of rows) {
        console.log(`${row.name.padEnd(40)} ${row.state.padEnd(12)} ${row.appliedAt ?? ''}`);
      }
      if (rows.some((r) => r.state === 'edited' || r.state === 'missing-file')) process.exitCode = 1;
      return;
    }
    if (argv.dryRun) {
      for (const line of await migrator.plan()) console.log(line);
      return;
    }
    const result = await migrator.migrate();
    logger.info(
      `database ${redactUrl(options.mysqlUrl)}${result.kind === 'watched-back' ? ' (upgraded from watched.back)' : ''}: applied ${result.applied.length} migration(s)` +
        (result.applied.length ? ` (${result.applied.join(', ')})` : '') +
        `, ${result.alreadyApplied} already applied`,
    );
    printFrontAdminNotice(result.frontAdmin);
    if (argv.partition) {
      await convertDataTables({ mysql, spanMs: options.aggregatorPartitionSpan, ahead: options.aggregatorPartitionsAhead, logger });
    }
  },
};
