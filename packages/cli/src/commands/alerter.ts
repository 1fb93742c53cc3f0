import { Alerter, alerterOptionsShape, compileAlerterOptions } from '@watched/alerter';
import { roleCommand, type RoleDefinition } from '../role-command.js';

/** `watched alerter`: one alerter (any number may run): events to notifications through the receivers' plugins. */
export const alerterRole: RoleDefinition<typeof alerterOptionsShape, Alerter> = {
  command: 'alerter',
  describe: 'Run an alerter: route events to receivers (email, webhook, plugins), with grouping, silences and retries',
  adminPort: 9467,
  shape: alerterOptionsShape,
  create: (options, { connections, logger, nodeId, metrics }) =>
    Object.assign(new Alerter(connections, compileAlerterOptions(options), logger, [], nodeId), { metrics }),
  reload: (alerter, options) => alerter.reload(compileAlerterOptions(options)),
};

export const alerterCommand = roleCommand(alerterRole);
