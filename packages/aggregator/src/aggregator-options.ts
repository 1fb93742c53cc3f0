import { z } from 'zod';
import { duration, integer, parseDurationMs, roleOptionsShape } from '@watched/core';

/** A duration option without default: when absent, c$aggregate_config decides. */
function optionalDuration() {
  return z
    .union([z.string(), z.number()])
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === '') return undefined;
      const ms = parseDurationMs(value);
      if (!Number.isFinite(ms) || ms < 0) {
        ctx.addIssue({ code: 'custom', message: `expected a duration like 30m, 2h, 1d, got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return ms;
    });
}

/** Options of the aggregator role (names prefixed so they never clash with other roles in `watched up`). */
export const aggregatorOptionsShape = {
  ...roleOptionsShape,
  /** How often the active aggregator looks for complete buckets, late rows and expired data. */
  aggregatorInterval: duration('30s').describe('how often the active aggregator runs a rollup pass'),
  /** Lease time-to-live: a dead active aggregator is replaced after about this long. */
  aggregatorLeaseTtl: duration('15s').describe('aggregator lease time-to-live (failover time)'),
  /** Source span of one minute-level statement (rounded to whole minutes). */
  aggregatorMinuteChunk: duration('10m').describe('span of d$ data rolled up per minute-level statement'),
  /** Source span of one hour-level statement (rounded to whole hours). */
  aggregatorHourChunk: duration('2h').describe('span of am$ data rolled up per hour-level statement'),
  /** Source span of one day-level statement (rounded to whole days). */
  aggregatorDayChunk: duration('1d').describe('span of ah$ data rolled up per day-level statement'),
  /** How far below the minute watermark raw rows are compared with the rollup to find late rows. */
  aggregatorLateWindow: duration('2h').describe('window below the minute watermark checked for late raw rows'),
  /** Late-row checks of one data type are at least this far apart (each counts the window's index entries). */
  aggregatorLateCheckInterval: duration('10m').describe('how often the late-row window is checked, per data type'),
  /** Rows per retention DELETE statement. */
  aggregatorDeleteBatch: integer(5000, 1, 1_000_000).describe('rows per retention DELETE batch'),
  /** Overrides the 'default' row of c$aggregate_config (per-type rows still win). */
  aggregatorDelayMinute: optionalDuration().describe("delay after a minute ends before it is rolled up (overrides c$aggregate_config 'default'.delay_am)"),
  aggregatorDelayHour: optionalDuration().describe("delay after an hour ends before it is rolled up (overrides c$aggregate_config 'default'.delay_ah)"),
  aggregatorDelayDay: optionalDuration().describe("delay after a day ends before it is rolled up (overrides c$aggregate_config 'default'.delay_ad)"),
};

export const AggregatorOptionsSchema = z.object(aggregatorOptionsShape);
export type AggregatorOptions = z.output<typeof AggregatorOptionsSchema>;

/** Fills defaults and converts durations to ms; nothing else reads raw options. */
export function compileAggregatorOptions(options: Partial<z.input<typeof AggregatorOptionsSchema>> = {}): AggregatorOptions {
  return AggregatorOptionsSchema.parse(options);
}
