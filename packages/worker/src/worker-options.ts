import { z } from 'zod';
import { duration, integer } from '@watched/core';

/** Options of the worker role (flags `--worker-concurrency`, env `WATCHED_WORKER_CONCURRENCY`, ...). */
export const workerOptionsShape = {
  /** Poll jobs processed at once by one worker process. */
  workerConcurrency: integer(4, 1, 256).describe('poll jobs processed at once by one worker'),
  /** Agents of one job polled in parallel. */
  agentConcurrency: integer(16, 1, 1024).describe('agents of one job polled in parallel'),
  /** Time to establish the TCP (and TLS) connection to an agent. */
  agentConnectTimeout: duration('5s').describe('connect timeout per agent call (e.g. 5s)'),
  /** Whole-request deadline for one agent call (a hanging agent costs at most this). */
  agentTimeout: duration('30s').describe('total timeout per agent call (e.g. 30s)'),
  /** Responses larger than this are cut off and counted as an error for that agent. */
  agentMaxResponseBytes: integer(64 * 1024 * 1024, 1024).describe('largest agent response accepted, in bytes'),
  /** How long a discovery document is trusted before it is read again. */
  discoveryRefresh: duration('1h').describe('how long an agent discovery document is trusted (e.g. 1h)'),
  /** Rows per multi-row INSERT statement. */
  insertBatchRows: integer(1000, 1, 100_000).describe('rows per multi-row INSERT'),
};

export const WorkerOptionsSchema = z.object(workerOptionsShape);
export type WorkerOptions = z.output<typeof WorkerOptionsSchema>;

/** Fills defaults for callers that build a worker in code (tests, `watched up`). */
export function compileWorkerOptions(options: Partial<z.input<typeof WorkerOptionsSchema>> = {}): WorkerOptions {
  return WorkerOptionsSchema.parse(options);
}
