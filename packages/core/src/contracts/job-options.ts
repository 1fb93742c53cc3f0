import type { JobsOptions } from 'bullmq';
import { ConfigError } from '../errors.js';

/** How BullMQ retries a job and how long it keeps it afterwards. */
export interface RetriedJobOptions {
  /** Runs of the job before it is kept as failed (an integer, at least 1). */
  attempts: number;
  /** First retry delay, doubled at each attempt (exponential backoff). */
  backoffMs: number;
  /**
   * How long a completed job is kept. Its id is kept as long: a job added
   * again with the same id meanwhile is ignored, which is what makes
   * deterministic job ids deduplicate.
   */
  completedRetentionMs: number;
  /** How long a failed job stays visible (status, inspection). */
  failedRetentionMs: number;
}

/**
 * The one builder of BullMQ job options for retried jobs (alert events,
 * deliveries, polls): attempts with exponential backoff, and removal by age.
 * BullMQ counts retention ages in seconds: milliseconds round up, so a
 * retention never ends earlier than asked. Invalid values throw a
 * ConfigError naming the field.
 */
export function retriedJobOptions(options: RetriedJobOptions): JobsOptions {
  const { attempts, backoffMs, completedRetentionMs, failedRetentionMs } = options;
  if (!Number.isInteger(attempts) || attempts < 1) throw new ConfigError('attempts', `expected an integer of at least 1, got ${attempts}`);
  for (const [field, ms] of Object.entries({ backoffMs, completedRetentionMs, failedRetentionMs })) {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new ConfigError(field, `expected a duration in ms of at least 0, got ${ms}`);
  }
  return {
    attempts,
    backoff: { type: 'exponential', delay: backoffMs },
    removeOnComplete: { age: Math.ceil(completedRetentionMs / 1000) },
    removeOnFail: { age: Math.ceil(failedRetentionMs / 1000) },
  };
}
