import type { CommandModule } from 'yargs';
import { Aggregator, aggregatorOptionsShape } from '@watched/aggregator';
import { adminOptionsShape, baseOptionsShape } from '@watched/core';
import { loggerFor, resolveOptions, withOptions } from '../options.js';
import { runRoles } from '../role-runtime.js';

/** `watched aggregator`: one aggregator replica (active or standby): rollups and retention. */
export const aggregatorCommand: CommandModule = {
  command: 'aggregator',
  describe: 'Run an aggregator replica: minute/hour/day rollups and retention (one replica is active)',
  builder: (yargs) => withOptions(yargs, baseOptionsShape, adminOptionsShape, aggregatorOptionsShape),
  handler: async (argv) => {
    const options = resolveOptions(argv, { ...baseOptionsShape, ...adminOptionsShape, ...aggregatorOptionsShape });
    const logger = loggerFor(options).child({ role: 'aggregator' });
    await runRoles(options, logger, () => ({ services: [new Aggregator(options, options, logger)] }));
  },
};
