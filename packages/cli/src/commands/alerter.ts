import type { CommandModule } from 'yargs';
import { Alerter, alerterOptionsShape, compileAlerterOptions } from '@watched/alerter';
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
    const { options, logger } = runtime;
    await runRoles(runtime, (metrics) => {
      const alerter = new Alerter(options, compileAlerterOptions(options), logger);
      alerter.metrics = metrics;
      return { services: [alerter], reloadable: [{ reload: (o) => alerter.reload(compileAlerterOptions(o)) }] };
    });
  },
};
