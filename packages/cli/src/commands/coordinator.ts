import type { CommandModule } from 'yargs';
import { Coordinator, coordinatorOptionsShape } from '@watched/coordinator';
import { baseOptionsShape, runServices } from '@watched/core';
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
