import { describe, expect, it } from '@jest/globals';
import { compileWorkerOptions, parseWorkerOptions, WorkerOptionsSchema } from './worker-options.js';

describe('worker options', () => {
  it('fills defaults and names every duration in ms', () => {
    expect(parseWorkerOptions()).toMatchObject({ agentConnectTimeoutMs: 5000, agentTimeoutMs: 30_000, missingAfterMs: 900_000, shutdownTimeoutMs: 20_000, discoveryRefreshMs: 3_600_000 });
    expect(parseWorkerOptions({ agentTimeout: '5s' }).agentTimeoutMs).toBe(5000);
    // The loaded form (what loadOptions returns) compiles the same way.
    expect(compileWorkerOptions(WorkerOptionsSchema.parse({ missingAfter: 60 })).missingAfterMs).toBe(60_000);
    // Product defaults of the write path and the heap: LOAD DATA, growth bounded to 30% past the live heap.
    expect(parseWorkerOptions()).toMatchObject({ writeMethod: 'load-data', heapGrowthPercent: 30 });
  });

  it('rejects conflicting and unusable values, naming the field', () => {
    // Bounded by the whole call's deadline, as --agent-timeout alone would be taken to mean.
    expect(parseWorkerOptions({ agentConnectTimeout: '10s', agentTimeout: '5s' }).agentConnectTimeoutMs).toBe(5000);
    expect(() => parseWorkerOptions({ stalledInterval: 0 })).toThrow(/stalledInterval: expected a duration like 500ms, 10s, 5m, 1h, longer than 0, got 0/);
    expect(() => parseWorkerOptions({ workerConcurrency: 0 })).toThrow(/workerConcurrency/);
    expect(() => parseWorkerOptions({ writeMethod: 'copy' as never })).toThrow(/writeMethod/);
    expect(() => parseWorkerOptions({ heapGrowthPercent: -1 })).toThrow(/heapGrowthPercent/);
  });

  it('derives the per-agent limits from --worker-memory and the concurrency, and keeps what is set', () => {
    // (1 GiB - 256 MiB base) / (4 jobs x 16 agents) = 12 MiB per agent in flight: response S/6, parsed 2S/3, prepared S/3.
    const defaults = parseWorkerOptions();
    expect(defaults.agentMaxResponseBytes).toBe(2 * 1024 * 1024);
    expect(defaults.agentLimits).toEqual({
      maxResources: 2048,
      maxValues: 131_072,
      maxRows: 43_690,
      maxLogLines: 16_384,
      maxNames: 2048,
      maxParsedBytes: 8 * 1024 * 1024,
      maxPreparedBytes: 4 * 1024 * 1024,
      maxNewDataTables: 20,
    });
    // Twice the agents in flight: half of each.
    expect(parseWorkerOptions({ agentConcurrency: 32 }).agentLimits.maxResources).toBe(1024);
    const set = parseWorkerOptions({ agentMaxResources: 50_000, agentMaxResponseBytes: 32 * 1024 * 1024 });
    expect(set.agentLimits.maxResources).toBe(50_000);
    // Raised limits raise the memory bounds they imply, so a raised limit is the one that applies.
    expect(set.agentLimits.maxPreparedBytes).toBe(50_000 * 2048);
    expect(set.agentLimits.maxParsedBytes).toBe(96 * 1024 * 1024);
    expect(() => parseWorkerOptions({ agentMaxValues: 0 })).toThrow(/agentMaxValues/);
    expect(() => parseWorkerOptions({ workerMemory: 1000 })).toThrow(/workerMemory/);
  });
});
