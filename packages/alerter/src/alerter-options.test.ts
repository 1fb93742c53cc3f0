import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@watched/core';
import { parseAlerterOptions, type RawAlerterOptions } from './alerter-options.js';

const ops = { name: 'ops', plugin: 'email', options: {} };

/** The ConfigError a compile throws (fails the test if it throws none). */
function refusal(input: RawAlerterOptions): ConfigError {
  try {
    parseAlerterOptions(input);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('compiled without an error');
}

describe('compileAlerterOptions', () => {
  it('fills defaults and names every duration in milliseconds', () => {
    const options = parseAlerterOptions({ alertGroupWindow: '300ms', alertRepeatInterval: '4h', alertLogLevel: 'warning' });
    expect(options).toMatchObject({
      alertGroupWindowMs: 300,
      alertRepeatIntervalMs: 4 * 3_600_000,
      alertBackoffMs: 5000,
      alertSendTimeoutMs: 60_000,
      alertReconcileIntervalMs: 60_000,
      alertReconcileLookbackMs: 3_600_000,
      alertJobRetentionMs: 86_400_000,
      alertLedgerRetentionMs: 30 * 86_400_000,
      alertFailedRetentionMs: 7 * 86_400_000,
      alertAttempts: 12,
      alertConcurrency: 4,
      alertLogLevel: 3,
      alertRepeatSeverities: ['Critical'],
      alertReceivers: [],
      alertRoutes: [],
      alertPlugins: [],
    });
    expect(options.alertPermissionReceiver).toBeUndefined();
    expect(Object.keys(options).filter((k) => /Window$|Interval$|Backoff$|Timeout$|Lookback$|Retention$/.test(k))).toEqual([]);
  });

  it('refuses a ledger retention not longer than the reconciliation lookback plus the grace', () => {
    expect(refusal({ alertLedgerRetention: '30m' }).field).toBe('alertLedgerRetention');
    expect(refusal({ alertLedgerRetention: '61m', alertReconcileLookback: '1h' }).field).toBe('alertLedgerRetention');
    expect(parseAlerterOptions({ alertLedgerRetention: '62m', alertReconcileLookback: '1h' }).alertLedgerRetentionMs).toBe(62 * 60_000);
    expect(parseAlerterOptions({ alertLedgerRetention: '0' }).alertLedgerRetentionMs).toBe(0); // forever
  });

  it('refuses routes naming a receiver that is not defined', () => {
    const err = refusal({ alertReceivers: [ops], alertRoutes: [{ receivers: ['ops', 'pager'] }] });
    expect(err.field).toBe('alertRoutes');
    expect(err.message).toMatch(/unknown receiver pager/);
  });

  it('refuses a permission receiver that is not defined', () => {
    const err = refusal({ alertReceivers: [ops], alertPermissionReceiver: 'front' });
    expect(err.field).toBe('alertPermissionReceiver');
    expect(err.message).toMatch(/unknown receiver front/);
    expect(parseAlerterOptions({ alertReceivers: [ops], alertPermissionReceiver: 'ops' }).alertPermissionReceiver).toBe('ops');
  });

  it('refuses a receiver defined twice', () => {
    const err = refusal({ alertReceivers: [ops, { ...ops, plugin: 'webhook' }] });
    expect(err.field).toBe('alertReceivers');
    expect(err.message).toMatch(/receiver ops is defined twice/);
  });
});
