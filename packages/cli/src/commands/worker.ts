import { compileWorkerOptions, PollWorker, workerOptionsShape } from '@watched/worker';
import { roleCommand, type RoleDefinition } from '../role-command.js';

/** Room after the worker's drain deadline for handing jobs back and closing connections. */
const CLOSE_MARGIN_MS = 10_000;

/** `watched worker`: one stateless poll worker. */
export const workerRole: RoleDefinition<typeof workerOptionsShape, PollWorker> = {
  command: 'worker',
  describe: 'Run a worker: consume poll jobs, fetch agents, write to MySQL',
  adminPort: 9465,
  shape: workerOptionsShape,
  create: (options, { connections, logger, nodeId, metrics }) =>
    Object.assign(new PollWorker(connections, compileWorkerOptions(options), logger, nodeId), { metrics }),
  reload: (worker, options) => worker.reload(compileWorkerOptions(options)),
  shutdownTimeoutMs: (options) => options.shutdownTimeout + CLOSE_MARGIN_MS,
};

export const workerCommand = roleCommand(workerRole);
