import { z } from 'zod';
import { ConfigError, duration, integer, MIN_PARTITION_SPAN_MS, parseDurationMs, parseOptions, roleOptionsShape, stripUndefined } from '@watched/core';
import type { RollupPassSettings } from './rollup-pass.js';

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

/**
 * Raw options of the aggregator role, keyed by flag name (prefixed so they
 * never clash with other roles in `watched up`); each one's description is
 * its `.describe()`. Nothing but compileAggregatorOptions reads these.
 */
export const aggregatorOptionsShape = {
  ...roleOptionsShape,
  aggregatorInterval: duration('30s').describe('how often the active aggregator runs a rollup pass'),
  // A dead active aggregator is replaced after about this long.
  aggregatorLeaseTtl: duration('15s').describe('aggregator lease time-to-live (failover time)'),
  // Chunks are rounded down to whole buckets of their level (at least one).
  aggregatorMinuteChunk: duration('10m').describe('span of d$ data rolled up per minute-level statement'),
  aggregatorHourChunk: duration('2h').describe('span of am$ data rolled up per hour-level statement'),
  aggregatorDayChunk: duration('1d').describe('span of ah$ data rolled up per day-level statement'),
  aggregatorLateWindow: duration('2h').describe('window below the minute watermark checked for late raw rows'),
  // Each check counts the window's index entries, hence not every pass.
  aggregatorLateCheckInterval: duration('10m').describe('how often the late-row window is checked, per data type'),
  aggregatorDeleteBatch: integer(5000, 1, 1_000_000).describe('rows per retention DELETE batch (rollup tables, d$ tables not partitioned, orphan sweep)'),
  // Raw data is kept between its retention and the retention plus one span (whole partitions go).
  aggregatorPartitionSpan: duration('1d').describe('time span of one d$ partition (retention drops whole partitions)'),
  aggregatorPartitionsAhead: integer(3, 1, 1000).describe('d$ partitions kept ready past the current one'),
  aggregatorRawRetention: optionalDuration().describe("retention of raw d$ rows (overrides c$aggregate_config 'default'.retention_d)"),
  aggregatorOrphanSweepInterval: duration('5m').describe('how often d$ rows of deleted hosts and services are swept'),
  aggregatorOrphanSweepBudget: duration('5s').describe('time budget of one orphan sweep (it goes on at the next pass)'),
  // Absent: c$aggregate_config decides ('default' row; per-type rows always win).
  aggregatorDelayMinute: optionalDuration().describe("delay after a minute ends before it is rolled up (overrides c$aggregate_config 'default'.delay_am)"),
  aggregatorDelayHour: optionalDuration().describe("delay after an hour ends before it is rolled up (overrides c$aggregate_config 'default'.delay_ah)"),
  aggregatorDelayDay: optionalDuration().describe("delay after a day ends before it is rolled up (overrides c$aggregate_config 'default'.delay_ad)"),
};

export const AggregatorOptionsSchema = z.object(aggregatorOptionsShape);
/** The options as given in code (durations as `'30s'` or seconds), for parseAggregatorOptions. */
export type RawAggregatorOptions = Partial<z.input<typeof AggregatorOptionsSchema>>;
/** The options as loadOptions returns them (defaults filled, durations in ms, flag names). */
export type LoadedAggregatorOptions = z.output<typeof AggregatorOptionsSchema>;

/** The aggregator's options compiled: defaults filled, durations in ms (`...Ms`), combinations checked. */
export interface AggregatorOptions {
  readonly aggregatorIntervalMs: number;
  readonly aggregatorLeaseTtlMs: number;
  readonly aggregatorMinuteChunkMs: number;
  readonly aggregatorHourChunkMs: number;
  readonly aggregatorDayChunkMs: number;
  readonly aggregatorLateWindowMs: number;
  readonly aggregatorLateCheckIntervalMs: number;
  readonly aggregatorDeleteBatch: number;
  readonly aggregatorPartitionSpanMs: number;
  readonly aggregatorPartitionsAhead: number;
  /** Undefined: c$aggregate_config decides. */
  readonly aggregatorRawRetentionMs?: number;
  readonly aggregatorOrphanSweepIntervalMs: number;
  readonly aggregatorOrphanSweepBudgetMs: number;
  /** Undefined: c$aggregate_config decides. */
  readonly aggregatorDelayMinuteMs?: number;
  readonly aggregatorDelayHourMs?: number;
  readonly aggregatorDelayDayMs?: number;
  readonly heartbeatIntervalMs: number;
}

/**
 * The lease is renewed every third of its TTL and trusted until a fifth (at
 * least 200 ms) before it ends: below this an aggregator could never be active.
 */
const MIN_LEASE_TTL_MS = 1000;

/**
 * Compiles loaded options (loadOptions' output): rejects combinations the
 * role cannot run with, each a ConfigError naming the field, and names
 * durations `...Ms`. The CLI calls it at start-up and on every reload.
 */
export function compileAggregatorOptions(loaded: LoadedAggregatorOptions): AggregatorOptions {
  const o = loaded;
  if (o.aggregatorLeaseTtl < MIN_LEASE_TTL_MS) {
    throw new ConfigError('aggregatorLeaseTtl', `must be at least ${MIN_LEASE_TTL_MS} ms, got ${o.aggregatorLeaseTtl} ms`);
  }
  // A heartbeat's Redis expiry is three periods (Membership): Redis refuses an expiry of 0.
  if (!(o.heartbeatInterval > 0)) throw new ConfigError('heartbeatInterval', 'must be longer than 0');
  if (o.aggregatorPartitionSpan < MIN_PARTITION_SPAN_MS || o.aggregatorPartitionSpan % MIN_PARTITION_SPAN_MS !== 0) {
    throw new ConfigError('aggregatorPartitionSpan', `must be a whole number of minutes (at least 1m), got ${o.aggregatorPartitionSpan} ms`);
  }
  if (!(o.aggregatorOrphanSweepBudget > 0)) throw new ConfigError('aggregatorOrphanSweepBudget', 'must be longer than 0');
  return {
    aggregatorIntervalMs: o.aggregatorInterval,
    aggregatorLeaseTtlMs: o.aggregatorLeaseTtl,
    aggregatorMinuteChunkMs: o.aggregatorMinuteChunk,
    aggregatorHourChunkMs: o.aggregatorHourChunk,
    aggregatorDayChunkMs: o.aggregatorDayChunk,
    aggregatorLateWindowMs: o.aggregatorLateWindow,
    aggregatorLateCheckIntervalMs: o.aggregatorLateCheckInterval,
    aggregatorDeleteBatch: o.aggregatorDeleteBatch,
    aggregatorPartitionSpanMs: o.aggregatorPartitionSpan,
    aggregatorPartitionsAhead: o.aggregatorPartitionsAhead,
    aggregatorOrphanSweepIntervalMs: o.aggregatorOrphanSweepInterval,
    aggregatorOrphanSweepBudgetMs: o.aggregatorOrphanSweepBudget,
    heartbeatIntervalMs: o.heartbeatInterval,
    ...stripUndefined({
      aggregatorDelayMinuteMs: o.aggregatorDelayMinute,
      aggregatorDelayHourMs: o.aggregatorDelayHour,
      aggregatorDelayDayMs: o.aggregatorDelayDay,
      aggregatorRawRetentionMs: o.aggregatorRawRetention,
    }),
  };
}

/** For code that builds an aggregator (tests, bench): parses raw values as flags are parsed, then compileAggregatorOptions. */
export function parseAggregatorOptions(raw: RawAggregatorOptions = {}): AggregatorOptions {
  return compileAggregatorOptions(parseOptions(AggregatorOptionsSchema, raw));
}

/** What one rollup pass runs with, from the compiled options. */
export function rollupPassSettings(o: AggregatorOptions, chunksPerPass: number): RollupPassSettings {
  return {
    chunk: { am: o.aggregatorMinuteChunkMs, ah: o.aggregatorHourChunkMs, ad: o.aggregatorDayChunkMs },
    lateWindow: o.aggregatorLateWindowMs,
    lateCheckInterval: o.aggregatorLateCheckIntervalMs,
    deleteBatch: o.aggregatorDeleteBatch,
    delays: stripUndefined({ am: o.aggregatorDelayMinuteMs, ah: o.aggregatorDelayHourMs, ad: o.aggregatorDelayDayMs }),
    partitions: { spanMs: o.aggregatorPartitionSpanMs, ahead: o.aggregatorPartitionsAhead },
    orphanSweep: { interval: o.aggregatorOrphanSweepIntervalMs, budget: o.aggregatorOrphanSweepBudgetMs },
    chunksPerPass,
    ...stripUndefined({ rawRetention: o.aggregatorRawRetentionMs }),
  };
}
