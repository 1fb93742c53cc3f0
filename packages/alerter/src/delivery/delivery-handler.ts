import { UnrecoverableError, type Job } from 'bullmq';
import { errorMessage, type DeliverJobData, type Logger, type Pool, type WatchedMetrics } from '@watched/core';
import type { AlerterOptions } from '../alerter-options.js';
import type { AlerterStats } from '../alerter-stats.js';
import { claimDeliveries, failDeliveries, markSent } from '../ledger.js';
import type { Notification } from '../notification.js';
import type { Receivers } from '../receivers.js';
import { htmlOf, subjectOf, textOf } from '../render.js';
import { PERMISSION_PREFIX } from '../routing.js';
import { sendWithTimeout } from './send-with-timeout.js';

/** Rows of one receiver put in one message at most (a bigger backlog makes several). */
const MAX_EVENTS_PER_MESSAGE = 500;

/** What a deliver job reads, at each job (the backoff changes on reload). */
export type DeliveryHandlerOptions = Pick<AlerterOptions, 'alertPermissionReceiver' | 'alertBackoffMs' | 'alertSendTimeoutMs'>;

export interface DeliveryHandlerContext {
  pool: Pool;
  receivers: Receivers;
  options: () => DeliveryHandlerOptions;
  stats: AlerterStats;
  logger: Logger;
  /** `watched_alerts_sent_total`, `watched_alerts_failed_total`. */
  metrics?: WatchedMetrics;
}

/** What a deliver job returns. */
export interface DeliveryJobResult {
  messages: number;
  events: number;
}

/**
 * Deliver jobs: sends what one receiver is owed as messages through its
 * plugin. Rows are claimed in MySQL under the job's id (so two alerters never
 * put a row in two messages, and a retry of the same job takes its rows
 * back), sent with a timeout, then marked sent; a failed send marks them
 * failed, held until the job's next attempt, or given up after its last one.
 */
export class DeliveryHandler {
  constructor(private readonly context: DeliveryHandlerContext) {}

  async handle(job: Job<DeliverJobData>, signal?: AbortSignal): Promise<DeliveryJobResult> {
    const { pool, stats, logger, metrics } = this.context;
    const options = this.context.options();
    const { receiver } = job.data;
    const token = job.id ?? `anon-${Date.now()}`;
    const isPermission = receiver.startsWith(PERMISSION_PREFIX);
    const configured = isPermission ? (options.alertPermissionReceiver ?? '') : receiver;
    const running = this.context.receivers.get(configured);
    const plugin = running?.plugin ?? 'unknown';
    const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const holdMs = options.alertSendTimeoutMs * 2;
    let messages = 0;
    let events = 0;
    for (;;) {
      const now = Date.now();
      const claimed = await claimDeliveries(pool, receiver, token, now, now + holdMs, MAX_EVENTS_PER_MESSAGE);
      if (!claimed.length) break;
      const list = claimed.map((c) => c.event);
      try {
        if (!running) throw new UnrecoverableError(`receiver ${receiver} is not configured (any more)`);
        const notification: Notification = {
          receiver,
          recipients: isPermission ? [receiver.slice(PERMISSION_PREFIX.length)] : undefined,
          events: list,
          subject: subjectOf(list),
          text: textOf(list),
          html: htmlOf(list),
        };
        await sendWithTimeout(running.sender, notification, options.alertSendTimeoutMs, signal);
      } catch (err) {
        stats.sendFailures += 1;
        const unrecoverable = err instanceof UnrecoverableError;
        const nextDelay = options.alertBackoffMs * 2 ** job.attemptsMade;
        const given = final || unrecoverable;
        const rows = await failDeliveries(pool, token, errorMessage(err), given, Date.now(), Date.now() + nextDelay + holdMs);
        if (given && rows > 0) {
          stats.givenUp += rows;
          metrics?.alertsFailed.inc({ plugin }, rows);
        }
        throw err;
      }
      await markSent(pool, claimed.map((c) => c.id), Date.now());
      metrics?.alertsSent.inc({ plugin }, claimed.length);
      messages += 1;
      events += list.length;
      stats.messages += 1;
      logger.info(`sent ${list.length} event(s) to ${receiver}: ${notificationSubject(list)}`);
    }
    return { messages, events };
  }
}

function notificationSubject(events: { summary: string }[]): string {
  return events.length === 1 ? events[0].summary : `${events.length} events`;
}
