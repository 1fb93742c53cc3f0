export { Aggregator } from './aggregator.js';
export {
  aggregatorOptionsShape,
  AggregatorOptionsSchema,
  compileAggregatorOptions,
  type AggregatorOptions,
} from './aggregator-options.js';
export { RollupPass, type RollupPassSettings, type RollupStats } from './rollup-pass.js';
export type { PassContext } from './rollup.js';
export { FencedError } from './watermarks.js';
export { bucketStart, completeBefore } from './buckets.js';
