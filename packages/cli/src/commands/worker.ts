import type { CommandModule } from 'yargs';
import { adminOptionsShape, baseOptionsShape } from '@watched/core';
import { compileWorkerOptions, PollWorker, workerOptionsShape } from '@watched/worker';
import { commandRuntime, withOptions } from '../options.js';
import { runRoles } from '../role-runtime.js';

/** Room after the worker's drain deadline for handing jobs back and closing connections. */
const CLOSE_MARGIN_MS = 10_000;

/** `watched worker`: one stateless poll worker. */
export const workerCommand: CommandModule = {
  command: 'worker',
  describe: 'Run a worker: consume poll jobs, fetch agents, write to MySQL',
  builder: (yargs) => withOptions(yargs, baseOptionsShape, adminOptionsShape, workerOptionsShape),
  handler: async (argv) => {
    const runtime = commandRuntime(argv, { ...baseOptionsShape, ...adminOptionsShape, ...workerOptionsShape }, 'worker');
    const { options, logger, nodeId, connections } = runtime;
    await runRoles(runtime, (metrics) => {
      const worker = new PollWorker(connections, compileWorkerOptions(options), logger, nodeId);
      worker.metrics = metrics;
      return {
        services: [worker],
        reloadable: [{ reload: (o) => worker.reload(compileWorkerOptions(o)) }],
        ready: { worker: () => worker.lifecycle === 'RUNNING' },
        shutdownTimeoutMs: options.shutdownTimeout + CLOSE_MARGIN_MS,
      };
    });
  },
};
