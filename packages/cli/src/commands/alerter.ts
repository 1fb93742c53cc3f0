import type { CommandModule } from 'yargs';
import { Alerter, alerterOptionsShape } from '@watched/alerter';
import { adminOptionsShape, baseOptionsShape } from '@watched/core';
import { commandRuntime, withOptions } from '../options.js';
import { runRoles } from '../role-runtime.js';

/** `watched alerter`: one alerter (any number may run): events to notifications through the receivers' plugins. */
export const alerterCommand: CommandModule = {
  command: 'alerter',
  describe: 'Run an alerter: route events to receivers (email, webhook, plugins), with grouping, silences and retries',
  builder: (yargs) => withOptions(yargs, baseOptionsShape, adminOptionsShape, alerterOptionsShape),
  handler: async (argv) => {
    const runtime = commandRuntime(argv, { ...baseOptionsShape, ...adminOptionsShape, ...alerterOptionsShape }, 'alerter');
    const { options, logger, connections } = runtime;
    await runRoles(runtime, (metrics) => {
      const alerter = new Alerter(connections, options, logger);
      alerter.metrics = metrics;
      return { services: [alerter], reloadable: [alerter] };
    });
  },
};
