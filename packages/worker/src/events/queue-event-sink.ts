import { Queue, type JobsOptions } from 'bullmq';
import { RedisKeys, stripUndefined, type Redis } from '@watched/core';
import type { EventSink, MonitoringEvent } from './event-sink.js';

/** The BullMQ queue the alerter consumes: one job per event transition. */
export const ALERTS_QUEUE = 'alerts';

/** Name of the jobs the sink adds (the alerter adds its own delivery jobs to the same queue). */
export const ALERT_EVENT_JOB = 'event';

/**
 * Deterministic job id of one transition: while the job is retained, publishing
 * the same transition again adds nothing. BullMQ refuses most ids with ':'.
 */
export function alertJobId(event: Pick<MonitoringEvent, 'table' | 'id' | 'transition'>): string {
  return `alert-${event.table}-${event.id}-${event.transition}`;
}

export interface QueueEventSinkOptions {
  /** Attempts of the alerter on one event before the job is kept as failed (default 10). */
  attempts?: number;
  /** First retry delay, doubled each attempt (default 2000 ms). */
  backoffMs?: number;
  /** How long completed jobs (and so their ids) are kept (default 1 day). */
  completedRetentionMs?: number;
  /** How long failed jobs stay visible (default 7 days). */
  failedRetentionMs?: number;
}

const DEFAULTS: Required<QueueEventSinkOptions> = {
  attempts: 10,
  backoffMs: 2000,
  completedRetentionMs: 24 * 3600_000,
  failedRetentionMs: 7 * 24 * 3600_000,
};

/**
 * Hands event transitions to the alerter through the `alerts` queue. Called
 * after ingestion's transaction commits; a failure here fails the poll job,
 * whose retry finds the same events again (the alerter dedups them anyway).
 * The Redis connection is the caller's: `close()` closes the queue, not it.
 */
export class QueueEventSink implements EventSink {
  private readonly queue: Queue<MonitoringEvent>;
  private readonly jobOptions: JobsOptions;
  private closing?: Promise<void>;

  constructor(connection: Redis, prefix: string, options: QueueEventSinkOptions = {}) {
    const opts = { ...DEFAULTS, ...stripUndefined(options) };
    if (!Number.isInteger(opts.attempts) || opts.attempts < 1) throw new Error(`invalid option attempts: ${opts.attempts}`);
    if (!(opts.backoffMs >= 0)) throw new Error(`invalid option backoffMs: ${opts.backoffMs}`);
    this.queue = new Queue<MonitoringEvent>(ALERTS_QUEUE, { connection, prefix: new RedisKeys(prefix).bullPrefix });
    this.jobOptions = {
      attempts: opts.attempts,
      backoff: { type: 'exponential', delay: opts.backoffMs },
      removeOnComplete: { age: Math.ceil(opts.completedRetentionMs / 1000) },
      removeOnFail: { age: Math.ceil(opts.failedRetentionMs / 1000) },
    };
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
