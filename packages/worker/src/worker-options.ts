import { z } from 'zod';
import { boolean, duration, filePath, integer, TLS_VERSIONS } from '@watched/core';
import { alertLogLevelOption } from './store/log-alerts.js';

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
  agentMaxResponseBytes: integer(32 * 1024 * 1024, 1024).describe('largest agent response accepted, in bytes'),
  /** CA bundle (PEM) agents' certificates must chain to, for agents with use_ssl; default: the system CAs. */
  agentTlsCa: filePath('CA bundle (PEM) that signs the certificates of agents with use_ssl (default: system CAs)'),
  /** Client certificate (PEM) the worker presents to agents with use_ssl (mTLS). */
  agentTlsCert: filePath('client certificate (PEM) presented to agents with use_ssl (mTLS)'),
  /** Key of that certificate; a file only, so it never sits in the environment. */
  agentTlsKey: filePath('key (PEM) of the agent client certificate'),
  /** Lowest TLS version accepted from agents. */
  agentTlsMinVersion: z.enum(TLS_VERSIONS).default('TLSv1.2').describe('lowest TLS version accepted from agents: TLSv1.2 or TLSv1.3'),
  /** How long a discovery document is trusted before it is read again. */
  discoveryRefresh: duration('1h').describe('how long an agent discovery document is trusted (e.g. 1h)'),
  /** Rows per multi-row INSERT statement. */
  insertBatchRows: integer(1000, 1, 100_000).describe('rows per multi-row INSERT'),
  /**
   * Rows of several agents of one job written in one transaction (one commit
   * instead of one per agent); an agent's rows and cursor are never split.
   */
  writeBatchRows: integer(20_000, 1, 1_000_000).describe('rows of several agents written in one transaction'),
  /** Threshold rules are re-read this often, so edits in the front apply without a restart. */
  rulesRefresh: duration('30s').describe('how often threshold rules (h$/s$event_factory) are re-read'),
  /** Consecutive failed polls of an agent that open an agent-failed event. */
  agentFailureThreshold: integer(3, 1, 1000).describe('consecutive failed polls that open an agent-failed event'),
  /** Events go to the alerter's queue; without an alerter running, leave this off or the queue only grows. */
  publishAlerts: boolean(true).describe('hand opened/closed events to the alerter queue (off: only log them)'),
  /** Log lines of this severity or worse (c$event_types) become alerts; `off` = none. */
  alertLogLevel: alertLogLevelOption,
  /** Upstream's front calls process/socket rows older than 900 s missing: the same default. */
  missingAfter: duration('15m').describe('how long a host or service may go unreported before a missing event opens'),
  /**
   * On SIGTERM: how long running jobs may take to finish; after that they are
   * handed back (failed with a retry, so another worker takes them).
   * Keep it below the process's hard shutdown deadline (30 s).
   */
  shutdownTimeout: duration('20s').describe('on SIGTERM, how long running jobs may finish before being handed back'),
  /** BullMQ job lock: a killed worker's job is seen as stalled once its lock is older than this. */
  lockDuration: duration('30s').describe('job lock duration; a killed worker\'s job is retried after about this'),
  /** How often this worker looks for stalled jobs (of any dead worker) and puts them back to wait. */
  stalledInterval: duration('30s').describe('how often stalled jobs of dead workers are looked for'),
  /** A job that stalls more often than this (it keeps killing workers) is failed. */
  maxStalledCount: integer(2, 0, 100).describe('times a job may stall before it is failed'),
  /** Membership heartbeat period; a worker missing three heartbeats is gone from `watched status`. */
  heartbeatInterval: duration('5s').describe('membership heartbeat period (gone after 3 missed)'),
};

export const WorkerOptionsSchema = z.object(workerOptionsShape);
export type WorkerOptions = z.output<typeof WorkerOptionsSchema>;

/** Fills defaults for callers that build a worker in code (tests, `watched up`). */
export function compileWorkerOptions(options: Partial<z.input<typeof WorkerOptionsSchema>> = {}): WorkerOptions {
  return WorkerOptionsSchema.parse(options);
}
