import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import { ALERT_DELIVER_JOB, retriedJobOptions, type DeliverJobData } from '@watched/core';
import type { AlerterOptions } from '../alerter-options.js';

/** What scheduling reads, at each call (attempts and backoff change on reload). */
export type DeliverySchedulerOptions = Pick<
  AlerterOptions,
  'alertAttempts' | 'alertBackoffMs' | 'alertJobRetentionMs' | 'alertFailedRetentionMs' | 'alertGroupWindowMs'
>;

/**
 * Adds deliver jobs: at most one pending per receiver (BullMQ deduplication
 * id `deliver-<receiver hash>`), due one window after the first transition
 * that needed it: every transition arriving meanwhile (or while it waits for
 * a retry) leaves in the same message. One arriving while it runs gets a
 * follow-up job (`keepLastIfActive`).
 */
export class DeliveryScheduler {
  constructor(
    private readonly queue: Queue,
    private readonly options: () => DeliverySchedulerOptions,
  ) {}

  /** `immediately`: no grouping window (the sweep re-schedules rows that waited long enough). */
  async schedule(receiver: string, immediately = false): Promise<void> {
    const o = this.options();
    await this.queue.add(ALERT_DELIVER_JOB, { receiver } satisfies DeliverJobData, {
      ...retriedJobOptions({
        attempts: o.alertAttempts,
        backoffMs: o.alertBackoffMs,
        completedRetentionMs: o.alertJobRetentionMs,
        failedRetentionMs: o.alertFailedRetentionMs,
      }),
      delay: immediately ? 0 : o.alertGroupWindowMs,
      deduplication: { id: `deliver-${receiverHash(receiver)}`, keepLastIfActive: true },
    });
  }
}

function receiverHash(receiver: string): string {
  return createHash('sha256').update(receiver).digest('hex').slice(0, 16);
}
