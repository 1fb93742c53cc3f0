import { UnrecoverableError } from 'bullmq';
import { monitoringEventSchema, type Logger, type Pool } from '@watched/core';
import type { AlerterOptions } from '../alerter-options.js';
import type { AlerterStats } from '../alerter-stats.js';
import { enrichEvent } from '../enrich.js';
import { recordEvent } from '../ledger.js';
import { routeByConfig, routeByPermissions } from '../routing.js';
import type { Silences } from '../silences.js';
import type { DeliveryScheduler } from './delivery-scheduler.js';

/** What an event job reads, at each job (routes change on reload). */
export type EventHandlerOptions = Pick<AlerterOptions, 'alertRoutes' | 'alertPermissionReceiver'>;

export interface EventHandlerContext {
  pool: Pool;
  silences: Silences;
  scheduler: DeliveryScheduler;
  options: () => EventHandlerOptions;
  stats: AlerterStats;
  logger: Logger;
}

/** What an event job returns (kept by BullMQ, read by tests). */
export interface EventJobResult {
  /** First time this transition was recorded. */
  fresh: boolean;
  /** Receivers that still owe it a message. */
  receivers: string[];
  silenceId: number | null;
}

/**
 * Event jobs, one per transition: enrich, silence or route, record once in
 * the ledger (deduplicated by table, id and transition), schedule the
 * receivers' deliveries.
 */
export class EventHandler {
  constructor(private readonly context: EventHandlerContext) {}

  async handle(data: unknown): Promise<EventJobResult> {
    const { pool, silences, stats, logger } = this.context;
    const options = this.context.options();
    const parsed = monitoringEventSchema.safeParse(data);
    if (!parsed.success) throw new UnrecoverableError(`invalid event payload: ${parsed.error.message}`);
    const now = Date.now();
    const event = await enrichEvent(pool, parsed.data);
    const silence = await silences.match(event, now);
    let receivers: string[] = [];
    if (!silence) {
      receivers = routeByConfig(options.alertRoutes, event);
      if (options.alertPermissionReceiver !== undefined) {
        for (const r of await routeByPermissions(pool, event)) if (!receivers.includes(r)) receivers.push(r);
      }
    }
    const result = await recordEvent(pool, event, now, silence?.id ?? null, receivers);
    if (!result.fresh) {
      stats.duplicates += 1;
    } else {
      stats.events += 1;
      if (silence) {
        stats.silenced += 1;
        logger.info(`silenced by #${silence.id}: ${event.summary}`);
      } else if (!receivers.length) {
        stats.unrouted += 1;
        logger.debug(`no receiver: ${event.summary}`);
      }
    }
    // Also on a duplicate: the first run may have died between MySQL and Redis.
    for (const receiver of result.pending) await this.context.scheduler.schedule(receiver);
    return { fresh: result.fresh, receivers: result.pending, silenceId: result.silenceId };
  }
}
