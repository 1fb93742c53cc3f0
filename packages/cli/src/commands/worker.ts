import type { CommandModule } from 'yargs';
import { adminOptionsShape, baseOptionsShape } from '@watched/core';
import { PollWorker, workerOptionsShape } from '@watched/worker';
import { loggerFor, resolveOptions, withOptions } from '../options.js';
import { runRoles } from '../role-runtime.js';

/** Room after the worker's drain deadline for handing jobs back and closing connections. */
const CLOSE_MARGIN_MS = 10_000;

/** `watched worker`: one stateless poll worker. */
export const workerCommand: CommandModule = {
  command: 'worker',
  describe: 'Run a worker: consume poll jobs, fetch agents, write to MySQL',
  builder: (yargs) => withOptions(yargs, baseOptionsShape, adminOptionsShape, workerOptionsShape),
  handler: async (argv) => {
    const options = resolveOptions(argv, { ...baseOptionsShape, ...adminOptionsShape, ...workerOptionsShape });
    const logger = loggerFor(options).child({ role: 'worker' });
    await runRoles(options, logger, (metrics) => {
      const worker = new PollWorker(options, options, logger);
      worker.metrics = metrics;
      return {
        services: [worker],
        ready: { worker: () => worker.lifecycle === 'RUNNING' },
        shutdownTimeoutMs: options.shutdownTimeout + CLOSE_MARGIN_MS,
      };
    });
  },
};
