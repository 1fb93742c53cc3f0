import type { CommandModule } from 'yargs';
import { Aggregator, aggregatorOptionsShape, compileAggregatorOptions } from '@watched/aggregator';
import { adminOptionsShape, baseOptionsShape } from '@watched/core';
import { commandRuntime, withOptions } from '../options.js';
import { runRoles } from '../role-runtime.js';

/** `watched aggregator`: one aggregator replica (active or standby): rollups and retention. */
export const aggregatorCommand: CommandModule = {
  command: 'aggregator',
  describe: 'Run an aggregator replica: minute/hour/day rollups and retention (one replica is active)',
  builder: (yargs) => withOptions(yargs, baseOptionsShape, adminOptionsShape, aggregatorOptionsShape),
  handler: async (argv) => {
    const runtime = commandRuntime(argv, { ...baseOptionsShape, ...adminOptionsShape, ...aggregatorOptionsShape }, 'aggregator');
    const { options, logger, nodeId, connections } = runtime;
    await runRoles(runtime, (metrics) => {
      const aggregator = new Aggregator(connections, compileAggregatorOptions(options), logger, nodeId);
      aggregator.metrics = metrics;
      return { services: [aggregator], reloadable: [{ reload: (o) => aggregator.reload(compileAggregatorOptions(o)) }] };
    });
  },
};
