import type { CommandModule } from 'yargs';
import { Coordinator, coordinatorOptionsShape } from '@watched/coordinator';
import { adminOptionsShape, baseOptionsShape } from '@watched/core';
import { commandRuntime, withOptions } from '../options.js';
import { runRoles } from '../role-runtime.js';

/** `watched coordinator`: one coordinator replica (leader or standby). */
export const coordinatorCommand: CommandModule = {
  command: 'coordinator',
  describe: 'Run a coordinator replica: leader election and scheduling of poll jobs',
  builder: (yargs) => withOptions(yargs, baseOptionsShape, adminOptionsShape, coordinatorOptionsShape),
  handler: async (argv) => {
    const runtime = commandRuntime(argv, { ...baseOptionsShape, ...adminOptionsShape, ...coordinatorOptionsShape }, 'coordinator');
    const { options, logger, nodeId, connections } = runtime;
    await runRoles(runtime, (metrics) => {
      const coordinator = new Coordinator(connections, options, logger, nodeId);
      coordinator.metrics = metrics;
      // A standby is ready too: readiness says the process works, not that it leads.
      return { services: [coordinator], ready: { coordinator: () => coordinator.lifecycle === 'RUNNING' }, reloadable: [coordinator] };
    });
  },
};
