import type { CommandModule } from 'yargs';
import { Coordinator, coordinatorOptionsShape } from '@watched/coordinator';
import { adminOptionsShape, baseOptionsShape } from '@watched/core';
import { loggerFor, resolveOptions, withOptions } from '../options.js';
import { runRoles } from '../role-runtime.js';

/** `watched coordinator`: one coordinator replica (leader or standby). */
export const coordinatorCommand: CommandModule = {
  command: 'coordinator',
  describe: 'Run a coordinator replica: leader election and scheduling of poll jobs',
  builder: (yargs) => withOptions(yargs, baseOptionsShape, adminOptionsShape, coordinatorOptionsShape),
  handler: async (argv) => {
    const options = resolveOptions(argv, { ...baseOptionsShape, ...adminOptionsShape, ...coordinatorOptionsShape });
    const logger = loggerFor(options).child({ role: 'coordinator' });
    await runRoles(options, logger, (metrics) => {
      const coordinator = new Coordinator(options, options, logger);
      coordinator.metrics = metrics;
      // A standby is ready too: readiness says the process works, not that it leads.
      return { services: [coordinator], ready: { coordinator: () => coordinator.lifecycle === 'RUNNING' } };
    });
  },
};
