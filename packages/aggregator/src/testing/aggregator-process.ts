/**
 * One aggregator replica as its own process, for the failover test:
 * `node dist/testing/aggregator-process.js <mysqlUrl> <redisUrl> <prefix> <nodeId>`.
 * Prints one JSON line per change of state ({ state: 'active' | 'standby', term }).
 */
import { compileConnectionOptions, createLogger, RoleContext } from '@watched/core';
import { Aggregator } from '../aggregator.js';
import { parseAggregatorOptions } from '../aggregator-options.js';

const [mysqlUrl, redisUrl, prefix, nodeId] = process.argv.slice(2);
const options = parseAggregatorOptions({
  aggregatorInterval: '200ms',
  aggregatorLeaseTtl: '1500ms',
  aggregatorDelayMinute: '0s',
  aggregatorDelayHour: '0s',
  aggregatorDelayDay: '0s',
});
const aggregator = new Aggregator(
  new RoleContext({ role: 'aggregator', connections: compileConnectionOptions({ mysqlUrl, redisUrl, prefix }), logger: createLogger({ silent: true }), nodeId }),
  options,
);
await aggregator.start();
let last = '';
const report = () => {
  const state = aggregator.isActive ? 'active' : 'standby';
  const line = JSON.stringify({ state, term: aggregator.context.term });
  if (line !== last) {
    last = line;
    process.stdout.write(line + '\n');
  }
};
report();
setInterval(report, 25);
process.on('SIGTERM', () => {
  void aggregator.close().then(() => process.exit(0));
});
