import { Queue, type JobsOptions } from 'bullmq';
import type { RedisKeys } from '../keys.js';
import type { Redis } from '../redis.js';
import { ALERT_EVENT_JOB, ALERTS_QUEUE, alertJobId, type EventSink, type MonitoringEvent } from '../contracts/alerts.js';
import { retriedJobOptions, type RetriedJobOptions } from '../contracts/job-options.js';

/** How the alerter retries an event job and how long the queue keeps it. */
export type QueueEventSinkOptions = Partial<RetriedJobOptions>;

const DEFAULTS: RetriedJobOptions = {
  /** Attempts of the alerter on one event before the job is kept as failed. */
  attempts: 10,
  /** First retry delay, doubled each attempt. */
  backoffMs: 2000,
  /** How long completed jobs (and so their ids, which deduplicate) are kept: 1 day. */
  completedRetentionMs: 24 * 3600_000,
  /** How long failed jobs stay visible: 7 days. */
  failedRetentionMs: 7 * 24 * 3600_000,
};

/**
 * Hands event transitions to the alerter through the `alerts` queue, one job
 * per transition with a deterministic id. Used by the worker after
 * ingestion's transaction commits, and by the alerter's reconciliation for
 * transitions it finds missing. `publish` rejects when Redis refuses; both
 * callers log that and go on (the rows are committed: the reconciliation
 * finds them again at a later pass, and the alerter dedups what arrives
 * twice). The Redis connection is the caller's: `close()` closes the queue,
 * not it.
 */
export class QueueEventSink implements EventSink {
  private readonly queue: Queue<MonitoringEvent>;
  private readonly jobOptions: JobsOptions;
  private closing?: Promise<void>;

  constructor(connection: Redis, keys: Pick<RedisKeys, 'bullPrefix'>, options: QueueEventSinkOptions = {}) {
    this.jobOptions = retriedJobOptions({
      attempts: options.attempts ?? DEFAULTS.attempts,
      backoffMs: options.backoffMs ?? DEFAULTS.backoffMs,
      completedRetentionMs: options.completedRetentionMs ?? DEFAULTS.completedRetentionMs,
      failedRetentionMs: options.failedRetentionMs ?? DEFAULTS.failedRetentionMs,
    });
    this.queue = new Queue<MonitoringEvent>(ALERTS_QUEUE, { connection, prefix: keys.bullPrefix });
    // Its errors are the connection's, which the caller's client reports (and BullMQ prints raw errors, AUTH arguments included, when no listener takes them); publish rejects to its caller.
    (this.queue as Queue).on('error', () => undefined);
  }

  async publish(events: MonitoringEvent[]): Promise<void> {
    if (!events.length) return;
    await this.queue.addBulk(
      events.map((event) => ({ name: ALERT_EVENT_JOB, data: event, opts: { ...this.jobOptions, jobId: alertJobId(event) } })),
    );
  }

  /** Closes the queue (idempotent). */
  close(): Promise<void> {
    this.closing ??= this.queue.close();
    return this.closing;
  }
}
