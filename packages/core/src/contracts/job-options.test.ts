import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../errors.js';
import { retriedJobOptions } from './job-options.js';

describe('retriedJobOptions', () => {
  it('builds attempts, exponential backoff and removal by age in seconds, rounded up', () => {
    expect(retriedJobOptions({ attempts: 12, backoffMs: 5000, completedRetentionMs: 86_400_000, failedRetentionMs: 1500 })).toEqual({
      attempts: 12,
      backoff: { type: 'exponential', delay: 5000 },
      removeOnComplete: { age: 86_400 },
      removeOnFail: { age: 2 },
    });
  });

  it('refuses invalid values naming the field', () => {
    const valid = { attempts: 1, backoffMs: 0, completedRetentionMs: 0, failedRetentionMs: 0 };
    expect(() => retriedJobOptions({ ...valid, attempts: 0 })).toThrow(ConfigError);
    expect(() => retriedJobOptions({ ...valid, attempts: 1.5 })).toThrow(/invalid option attempts/);
    expect(() => retriedJobOptions({ ...valid, backoffMs: -1 })).toThrow(/invalid option backoffMs/);
    expect(() => retriedJobOptions({ ...valid, completedRetentionMs: Number.NaN })).toThrow(/invalid option completedRetentionMs/);
    expect(() => retriedJobOptions({ ...valid, failedRetentionMs: Number.POSITIVE_INFINITY })).toThrow(/invalid option failedRetentionMs/);
  });
});
