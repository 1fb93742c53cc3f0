import type { Pool } from '@watched/core';
import type { AlerterOptions } from '../alerter-options.js';
import type { AlerterStats } from '../alerter-stats.js';
import type { DeliveryScheduler } from '../delivery/delivery-scheduler.js';
import { addReminder, repeatCandidates, stillOpen } from '../ledger.js';
import type { AlertEvent } from '../notification.js';
import type { Silences } from '../silences.js';

/** What a reminder pass reads, at each pass (the severities change on reload). */
export type RemindersOptions = Pick<AlerterOptions, 'alertRepeatSeverities' | 'alertRepeatIntervalMs'>;

/**
 * Reminders: an opening of a repeat severity whose newest message to a
 * receiver is older than the repeat interval, still open in its table and
 * not silenced now, gets one more delivery row (round n+1, unique: two
 * alerters add it once) and a delivery job.
 */
export class Reminders {
  constructor(
    private readonly pool: Pool,
    private readonly silences: Silences,
    private readonly scheduler: DeliveryScheduler,
    private readonly options: () => RemindersOptions,
    private readonly stats: AlerterStats,
  ) {}

  async run(): Promise<void> {
    const now = Date.now();
    const { alertRepeatSeverities, alertRepeatIntervalMs } = this.options();
    const candidates = await repeatCandidates(this.pool, alertRepeatSeverities, now - alertRepeatIntervalMs);
    for (const c of candidates) {
      if (!(await stillOpen(this.pool, c.table, c.id))) continue;
      if (await this.silences.match(JSON.parse(c.payload) as AlertEvent, now)) continue;
      if (await addReminder(this.pool, c, c.round + 1, now)) {
        this.stats.reminders += 1;
        await this.scheduler.schedule(c.receiver);
      }
    }
  }
}
