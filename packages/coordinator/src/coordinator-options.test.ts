import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@watched/core';
import { compileCoordinatorOptions } from './coordinator-options.js';

describe('compileCoordinatorOptions', () => {
  it('fills the defaults and names every duration in milliseconds', () => {
    expect(compileCoordinatorOptions()).toEqual({
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

  it("takes durations as text or, as the loader returns them, in milliseconds; ignores the other roles' options; returns a frozen value", () => {
    const merged = { tickInterval: '200ms', leaseTtl: 2000, workerConcurrency: 4 };
    const options = compileCoordinatorOptions(merged);
    expect([options.tickIntervalMs, options.leaseTtlMs]).toEqual([200, 2000]);
    expect(Object.keys(options)).not.toContain('workerConcurrency');
    expect(Object.isFrozen(options)).toBe(true);
  });

  it('refuses a tick interval not shorter than the lease TTL (the lease would expire between ticks), naming the field', () => {
    expect(() => compileCoordinatorOptions({ tickInterval: '10s', leaseTtl: '10s' })).toThrow(ConfigError);
    expect(() => compileCoordinatorOptions({ tickInterval: '15s' })).toThrow(/invalid option tickInterval: must be shorter than leaseTtl/);
    expect(compileCoordinatorOptions({ tickInterval: '9s' }).tickIntervalMs).toBe(9000);
  });

  it('refuses periods of 0 where a loop would spin or Redis refuse the expiry', () => {
    expect(() => compileCoordinatorOptions({ tickInterval: '0s' })).toThrow(/invalid option tickInterval/);
    expect(() => compileCoordinatorOptions({ heartbeatInterval: '0s' })).toThrow(/invalid option heartbeatInterval/);
    // 0 is a documented value where it means "off".
    expect(compileCoordinatorOptions({ rebalanceInterval: '0s' }).rebalanceIntervalMs).toBe(0);
  });
});
