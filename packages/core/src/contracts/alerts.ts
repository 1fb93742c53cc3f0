import { z } from 'zod';
import type { RowDataPacket } from '../mysql.js';
import { EventType } from './event-types.js';

/**
 * The alerting contract between the producers of event transitions (the
 * worker's ingestion, the alerter's reconciliation) and the alerter that
 * consumes them: the queue, its job names and payloads, and the alert log
 * level both sides read.
 */

/** The BullMQ queue the alerter consumes: event jobs (one per transition) and deliver jobs. */
export const ALERTS_QUEUE = 'alerts';

/** Name of the jobs that carry one event transition (payload: a MonitoringEvent). */
export const ALERT_EVENT_JOB = 'event';

/** Name of a delivery job (one message to one receiver, grouping what is pending); the alerter adds and takes them. */
export const ALERT_DELIVER_JOB = 'deliver';

/** What a deliver job carries. */
export interface DeliverJobData {
  receiver: string;
}

/**
 * An event opened or closed by ingestion (or found again by the
 * reconciliation), handed to alerting after its transaction commits. The
 * producer builds it; the alerter checks every job's payload against this
 * schema on arrival.
 */
export const monitoringEventSchema = z.object({
  kind: z.enum(['threshold', 'agent-failed', 'host-missing', 'service-failed', 'service-missing', 'log-event']),
  transition: z.enum(['opened', 'closed']),
  /** Row id in its table. */
  id: z.number().int().nonnegative(),
  table: z.enum(['h$res_events', 's$res_events', 'agt$events', 'c$state_events', 's$log_events']),
  /** When the transition happened (epoch ms): start for an opening, end for a closing. */
  time: z.number(),
  detail: z.record(z.string(), z.unknown()).default({}),
});
export type MonitoringEvent = z.output<typeof monitoringEventSchema>;

/**
 * Deterministic job id of one transition: while the job is retained, publishing
 * the same transition again adds nothing. BullMQ refuses most ids with ':'.
 */
export function alertJobId(event: Pick<MonitoringEvent, 'table' | 'id' | 'transition'>): string {
  return `alert-${event.table}-${event.id}-${event.transition}`;
}

/**
 * The alerting pipeline's entry point. Ingestion calls it after commit, so
 * an event is announced only once it exists; the alerter deduplicates by
 * (table, id, transition) because a crash between commit and `publish` means
 * the event is found again by the next run (at-least-once).
 */
export interface EventSink {
  publish(events: MonitoringEvent[]): Promise<void>;
}

/** The transition of one stored log line (`s$log_events` row; log events only open: each line is one alert). */
export function logAlertEvent(r: RowDataPacket): MonitoringEvent {
  return {
    kind: 'log-event',
    transition: 'opened',
    id: Number(r.id),
    table: 's$log_events',
    time: Number(r.timestamp),
    detail: { servId: Number(r.serv_id), eventType: Number(r.event_type), source: r.source_name, text: r.text ?? '' },
  };
}

const LEVEL_NAMES: Record<string, number> = {
  off: 0,
  none: 0,
  critical: EventType.Critical,
  error: EventType.Error,
  warning: EventType.Warning,
  notice: EventType.Notice,
  information: EventType.Information,
  info: EventType.Information,
};

/**
 * `--alert-log-level`: log lines of this `c$event_types` severity or worse
 * (Critical 1 ... Information 5) become alerts; `off` turns it off. A name
 * or the type id; returned as the id (0 = off). Shared by the worker (which
 * publishes) and the alerter (whose reconciler looks for lost publishes).
 */
export const alertLogLevelOption = z
  .union([z.string(), z.number()])
  .default('Error')
  .transform((value, ctx) => {
    const text = String(value).trim().toLowerCase();
    const level = /^[0-5]$/.test(text) ? Number(text) : LEVEL_NAMES[text];
    if (level === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected off, Critical, Error, Warning, Notice, Information or 0-5, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return level;
  })
  .describe('log lines of this severity or worse become alerts (Critical, Error, Warning, Notice, Information, off)');
