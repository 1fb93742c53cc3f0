import { describe, expect, it } from '@jest/globals';
import { parseCoordinatorOptions } from './coordinator-options.js';
import { pollJobs } from './poll-jobs.js';

describe('pollJobs', () => {
  it('one job per ready slot: id of group and slot, stamped with the term, kept as long as the retention says', () => {
    const options = parseCoordinatorOptions({ jobAttempts: 3, jobRetention: '90m' });
    const group = { id: 'f60000-g2', pollIntervalMs: 60_000, offsetMs: 0, agentIds: [4, 9], costMs: 0 };
    const [job, ...rest] = pollJobs([{ group, slot: 1_800_000_000_000 }], 12, options);
    expect(rest).toEqual([]);
    expect(job).toEqual({
      name: 'poll',
      data: { group: 'f60000-g2', slot: 1_800_000_000_000, agentIds: [4, 9], term: 12 },
      opts: {
        jobId: 'poll-f60000-g2-1800000000000',
        attempts: 3,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: 5400 },
        removeOnFail: { age: 86_400 },
      },
    });
  });
});
