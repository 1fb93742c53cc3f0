import type { CommandModule } from 'yargs';
import { Aggregator } from '@watched/aggregator';
import { Coordinator, coordinatorOptionsShape } from '@watched/coordinator';
import { baseOptionsShape, runServices } from '@watched/core';
import { PollWorker, workerOptionsShape } from '@watched/worker';
import { loggerFor, resolveOptions, withOptions } from '../options.js';

/** `watched coordinator`: one coordinator replica (leader or standby). */
export const coordinatorCommand: CommandModule = {
  command: 'coordinator',
  describe: 'Run a coordinator replica: leader election and scheduling of poll jobs',
  builder: (yargs) => withOptions(yargs, baseOptionsShape, coordinatorOptionsShape),
  handler: async (argv) => {
    const options = resolveOptions(argv, { ...baseOptionsShape, ...coordinatorOptionsShape });
    const logger = loggerFor(options).child({ role: 'coordinator' });
    await runServices([new Coordinator(options, options, logger)], { logger });
  },
};

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
