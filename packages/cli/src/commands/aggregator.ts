import type { CommandModule } from 'yargs';
import { Aggregator } from '@watched/aggregator';
import { baseOptionsShape, runServices } from '@watched/core';
import { loggerFor, resolveOptions, withOptions } from '../options.js';

/** `watched aggregator`: the rollup role. */
export const aggregatorCommand: CommandModule = {
  command: 'aggregator',
  describe: 'Run the aggregator: minute/hour/day rollups and retention',
  builder: (yargs) => withOptions(yargs, baseOptionsShape),
  handler: async (argv) => {
    const options = resolveOptions(argv, baseOptionsShape);
    const logger = loggerFor(options).child({ role: 'aggregator' });
    await runServices([new Aggregator(logger)], { logger });
  },
};
