import type { JobsOptions } from 'bullmq';
import { pollJobId, type PollJobData } from '@watched/core';
import type { CoordinatorOptions } from './coordinator-options.js';
import type { DueSlot } from './due-slots.js';

/** One entry of `Queue.addBulk`. */
export interface PollJob {
  name: 'poll';
  data: PollJobData;
  opts: JobsOptions;
}

/**
 * The poll jobs of `ready` slots, stamped with the leader's term. The job id
 * is the group and slot, so a slot enqueued again (a new leader, two leaders
 * for a moment) is the same job; finished jobs are kept `jobRetentionMs`, so
 * their ids keep refusing a second enqueue meanwhile.
 */
export function pollJobs(ready: readonly DueSlot[], term: number, options: Pick<CoordinatorOptions, 'jobAttempts' | 'jobRetentionMs'>): PollJob[] {
  return ready.map(({ group, slot }) => ({
    name: 'poll',
    data: { group: group.id, slot, agentIds: group.agentIds, term },
    opts: {
      jobId: pollJobId(group.id, slot),
      attempts: options.jobAttempts,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: Math.ceil(options.jobRetentionMs / 1000) },
      removeOnFail: { age: 24 * 3600 },
    },
  }));
}
