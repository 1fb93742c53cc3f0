import type { Logger, Pool } from '@watched/core';
import type { DeliveryScheduler } from '../delivery/delivery-scheduler.js';
import { orphanReceivers } from '../ledger.js';

/** Margin past the grouping window before a pending row without a job counts as orphaned. */
const ORPHAN_MARGIN_MS = 5000;

/**
 * Re-schedules receivers whose pending rows have no live delivery job (lost
 * to a crash or a Redis restart), due at once.
 */
export class DeliverySweep {
  constructor(
    private readonly pool: Pool,
    private readonly scheduler: DeliveryScheduler,
    private readonly groupWindowMs: number,
    private readonly logger: Logger,
  ) {}

  async run(): Promise<void> {
    const now = Date.now();
    const receivers = await orphanReceivers(this.pool, now - (this.groupWindowMs + ORPHAN_MARGIN_MS), now);
    for (const receiver of receivers) await this.scheduler.schedule(receiver, true);
    if (receivers.length) this.logger.info(`re-scheduled deliveries for ${receivers.length} receiver(s)`);
  }
}
