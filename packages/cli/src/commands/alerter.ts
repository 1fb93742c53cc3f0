import type { CommandModule } from 'yargs';
import { Alerter, alerterOptionsShape } from '@watched/alerter';
import { adminOptionsShape, baseOptionsShape } from '@watched/core';
import { loggerFor, resolveOptions, withOptions } from '../options.js';
import { runRoles } from '../role-runtime.js';

/** `watched alerter`: one alerter (any number may run): events to notifications through the receivers' plugins. */
export const alerterCommand: CommandModule = {
  command: 'alerter',
  describe: 'Run an alerter: route events to receivers (email, webhook, plugins), with grouping, silences and retries',
  builder: (yargs) => withOptions(yargs, baseOptionsShape, adminOptionsShape, alerterOptionsShape),
  handler: async (argv) => {
    const options = resolveOptions(argv, { ...baseOptionsShape, ...adminOptionsShape, ...alerterOptionsShape });
    const logger = loggerFor(options).child({ role: 'alerter' });
    await runRoles(options, logger, () => ({ services: [new Alerter(options, options, logger)] }));
  },
};
