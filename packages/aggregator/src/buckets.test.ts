import { describe, expect, it } from '@jest/globals';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '@watched/core';
import { parseAggregatorOptions } from './aggregator-options.js';
import { bucketStart, completeBefore } from './buckets.js';

describe('buckets and options', () => {
  it('computes bucket starts and the end of complete buckets as SQL does', () => {
    const t = Date.UTC(2026, 0, 10, 13, 47, 12, 345) + 0.25;
    expect(bucketStart(t, MINUTE_MS)).toBe(Date.UTC(2026, 0, 10, 13, 47));
    expect(bucketStart(t, HOUR_MS)).toBe(Date.UTC(2026, 0, 10, 13));
    expect(bucketStart(t, DAY_MS)).toBe(Date.UTC(2026, 0, 10));
    // minute [13:16, 13:17) is complete 30 min after it ends: at 13:47:12 buckets before 13:17 are.
    expect(completeBefore(t, MINUTE_MS, 30 * MINUTE_MS)).toBe(Date.UTC(2026, 0, 10, 13, 17));
    expect(completeBefore(t, DAY_MS, DAY_MS)).toBe(Date.UTC(2026, 0, 9));
  });

  it('fills defaults, converts durations and leaves the delays to c$aggregate_config unless set', () => {
    const o = parseAggregatorOptions();
    expect(o).toMatchObject({ aggregatorIntervalMs: 30_000, aggregatorLeaseTtlMs: 15_000, aggregatorMinuteChunkMs: 600_000, aggregatorDeleteBatch: 5000 });
    expect(o.aggregatorDelayMinuteMs).toBeUndefined();
    expect(parseAggregatorOptions({ aggregatorDelayMinute: '5m', aggregatorDelayDay: 3600 }).aggregatorDelayDayMs).toBe(3_600_000);
    expect(() => parseAggregatorOptions({ aggregatorDelayHour: 'soon' })).toThrow(/aggregatorDelayHour|duration/);
    expect(() => parseAggregatorOptions({ aggregatorLeaseTtl: '200ms' })).toThrow(/aggregatorLeaseTtl: must be at least 1000 ms/);
  });
});
