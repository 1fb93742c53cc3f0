import { Aggregator, aggregatorOptionsShape, compileAggregatorOptions } from '@watched/aggregator';
import { roleCommand, type RoleDefinition } from '../role-command.js';

/** `watched aggregator`: one aggregator replica (active or standby): rollups and retention. */
export const aggregatorRole: RoleDefinition<typeof aggregatorOptionsShape, Aggregator> = {
  command: 'aggregator',
  describe: 'Run an aggregator replica: minute/hour/day rollups and retention (one replica is active)',
  adminPort: 9466,
  shape: aggregatorOptionsShape,
  create: (options, { connections, logger, nodeId, metrics }) =>
    Object.assign(new Aggregator(connections, compileAggregatorOptions(options), logger, nodeId), { metrics }),
  reload: (aggregator, options) => aggregator.reload(compileAggregatorOptions(options)),
};

export const aggregatorCommand = roleCommand(aggregatorRole);
