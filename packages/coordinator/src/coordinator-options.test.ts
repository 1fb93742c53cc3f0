import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@watched/core';
import { compileCoordinatorOptions, CoordinatorOptionsSchema, parseCoordinatorOptions } from './coordinator-options.js';

describe('compileCoordinatorOptions', () => {
  it('fills the defaults and names every duration in milliseconds', () => {
    expect(parseCoordinatorOptions()).toEqual({
      groupSize: 50,
      tickIntervalMs: 1000,
      agentRefreshMs: 5000,
      leaseTtlMs: 10_000,
      jobAttempts: 5,
      jobRetentionMs: 3_600_000,
      rebalanceIntervalMs: 300_000,
      balanceTolerance: 0.1,
      heartbeatIntervalMs: 5000,
    });
  });

  it("takes durations as text (parse) or, as the loader returns them, in milliseconds (compile); ignores the other roles' options; returns a frozen value", () => {
    const parsed = parseCoordinatorOptions({ tickInterval: '200ms', leaseTtl: '2s' });
    expect([parsed.tickIntervalMs, parsed.leaseTtlMs]).toEqual([200, 2000]);
    const loaded = { ...CoordinatorOptionsSchema.parse({}), tickInterval: 200, leaseTtl: 2000, workerConcurrency: 4 };
    const options = compileCoordinatorOptions(loaded);
    expect([options.tickIntervalMs, options.leaseTtlMs]).toEqual([200, 2000]);
    expect(Object.keys(options)).not.toContain('workerConcurrency');
    expect(Object.isFrozen(options)).toBe(true);
  });

  it('refuses periods of 0 where a loop would spin or Redis refuse the expiry, naming the field', () => {
    expect(() => parseCoordinatorOptions({ tickInterval: '0s' })).toThrow(ConfigError);
    expect(() => parseCoordinatorOptions({ tickInterval: '0s' })).toThrow(/invalid option tickInterval/);
    expect(() => parseCoordinatorOptions({ heartbeatInterval: '0s' })).toThrow(/invalid option heartbeatInterval/);
    // 0 is a documented value where it means "off".
    expect(parseCoordinatorOptions({ rebalanceInterval: '0s' }).rebalanceIntervalMs).toBe(0);
  });
});
