import type { Logger, Pool } from '@watched/core';
import type { AlerterStats } from '../alerter-stats.js';
import { purgeLedger } from '../ledger.js';

/** Batches of 1,000 transitions removed per run at most (the next run continues). */
const MAX_BATCHES = 100;

/**
 * Ledger retention: removes transitions older than --alert-ledger-retention
 * that owe nothing, in bounded batches; stops between batches when the
 * alerter stops.
 */
export class LedgerRetention {
  constructor(
    private readonly pool: Pool,
    private readonly retentionMs: number,
    private readonly stats: AlerterStats,
    private readonly logger: Logger,
  ) {}

  async run(signal?: AbortSignal): Promise<void> {
    const before = Date.now() - this.retentionMs;
    let removed = 0;
    for (let batch = 0; batch < MAX_BATCHES && !signal?.aborted; batch += 1) {
      const n = await purgeLedger(this.pool, before);
      removed += n;
      if (n === 0) break;
    }
    this.stats.purged += removed;
    if (removed) this.logger.info(`alert ledger: removed ${removed} delivered transition(s) older than the retention`);
  }
}
