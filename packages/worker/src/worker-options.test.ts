import { describe, expect, it } from '@jest/globals';
import { compileWorkerOptions, parseWorkerOptions, WorkerOptionsSchema } from './worker-options.js';

describe('worker options', () => {
  it('fills defaults and names every duration in ms', () => {
    expect(parseWorkerOptions()).toMatchObject({ agentConnectTimeoutMs: 5000, agentTimeoutMs: 30_000, missingAfterMs: 900_000, shutdownTimeoutMs: 20_000, discoveryRefreshMs: 3_600_000 });
    expect(parseWorkerOptions({ agentTimeout: '5s' }).agentTimeoutMs).toBe(5000);
    // The loaded form (what loadOptions returns) compiles the same way.
    expect(compileWorkerOptions(WorkerOptionsSchema.parse({ missingAfter: 60 })).missingAfterMs).toBe(60_000);
  });

  it('rejects conflicting and unusable values, naming the field', () => {
    // Bounded by the whole call's deadline, as --agent-timeout alone would be taken to mean.
    expect(parseWorkerOptions({ agentConnectTimeout: '10s', agentTimeout: '5s' }).agentConnectTimeoutMs).toBe(5000);
    expect(() => parseWorkerOptions({ stalledInterval: 0 })).toThrow(/stalledInterval: expected a duration like 500ms, 10s, 5m, 1h, longer than 0, got 0/);
    expect(() => parseWorkerOptions({ workerConcurrency: 0 })).toThrow(/workerConcurrency/);
  });
});
