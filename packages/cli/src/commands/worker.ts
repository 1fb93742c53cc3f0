import type { CommandModule } from 'yargs';
import { baseOptionsShape, runServices } from '@watched/core';
import { PollWorker, workerOptionsShape } from '@watched/worker';
import { loggerFor, resolveOptions, withOptions } from '../options.js';

/** `watched worker`: one stateless poll worker. */
export const workerCommand: CommandModule = {
  command: 'worker',
  describe: 'Run a worker: consume poll jobs, fetch agents, write to MySQL',
  builder: (yargs) => withOptions(yargs, baseOptionsShape, workerOptionsShape),
  handler: async (argv) => {
    const options = resolveOptions(argv, { ...baseOptionsShape, ...workerOptionsShape });
    const logger = loggerFor(options).child({ role: 'worker' });
    await runServices([new PollWorker(options, options, logger)], { logger });
  },
};
