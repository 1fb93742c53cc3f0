import type { EventSink, Logger, Pool } from '@watched/core';
import { RECONCILE_GRACE_MS, type AlerterOptions } from '../alerter-options.js';
import type { AlerterStats } from '../alerter-stats.js';
import type { DeliveryScheduler } from '../delivery/delivery-scheduler.js';
import type { Silences } from '../silences.js';
import { DeliverySweep } from './delivery-sweep.js';
import { LedgerRetention } from './ledger-retention.js';
import { PeriodicTask } from './periodic-task.js';
import { Reconciler } from './reconciler.js';
import { Reminders } from './reminders.js';

/** How often the ledger retention runs (or once per retention, if shorter). */
const PURGE_EVERY_MS = 3_600_000;

/** Reminders are looked for at least this often (a repeat interval of hours still reminds on time within a minute). */
const REPEAT_CHECK_MAX_MS = 60_000;

export interface MaintenanceContext {
  pool: Pool;
  silences: Silences;
  scheduler: DeliveryScheduler;
  /** Where the reconciliation publishes what it finds; needed when `alertReconcileIntervalMs` > 0. */
  sink?: EventSink;
  /** The running options (reload replaces some of them). */
  options: () => AlerterOptions;
  stats: AlerterStats;
  logger: Logger;
}

/**
 * The alerter's background loops: the delivery sweep (always), the
 * reconciliation, reminders and the ledger retention (each when its
 * interval or retention is set). Each is a PeriodicTask: no overlapping
 * runs, a failure logged and retried at the next tick.
 */
export class Maintenance {
  private readonly tasks: PeriodicTask[] = [];

  constructor(context: MaintenanceContext) {
    const { pool, silences, scheduler, sink, stats, logger } = context;
    const options = context.options();
    const sweep = new DeliverySweep(pool, scheduler, options.alertGroupWindowMs, logger);
    this.tasks.push(new PeriodicTask({ name: 'alert sweep', everyMs: Math.max(1000, options.alertGroupWindowMs), logger, run: () => sweep.run() }));
    const every = options.alertReconcileIntervalMs;
    if (every > 0) {
      if (!sink) throw new Error('the reconciliation needs an event sink');
      const reconciler = new Reconciler(pool, sink, options.alertReconcileLookbackMs, RECONCILE_GRACE_MS, { logLevel: options.alertLogLevel });
      this.tasks.push(
        new PeriodicTask({
          name: 'alert reconciliation',
          // jittered: alerters started together do not scan the event tables together
          everyMs: every + Math.floor(Math.random() * Math.min(every, 5000)),
          logger,
          run: async () => {
            const found = await reconciler.run();
            if (found.length) logger.warn(`published again ${found.length} event transition(s) missing from the alert ledger`);
          },
        }),
      );
    }
    if (options.alertRepeatIntervalMs > 0) {
      const reminders = new Reminders(pool, silences, scheduler, context.options, stats);
      const everyMs = Math.max(200, Math.min(options.alertRepeatIntervalMs, REPEAT_CHECK_MAX_MS));
      this.tasks.push(new PeriodicTask({ name: 'alert reminders', everyMs, logger, run: () => reminders.run() }));
    }
    if (options.alertLedgerRetentionMs > 0) {
      const retention = new LedgerRetention(pool, options.alertLedgerRetentionMs, stats, logger);
      const everyMs = Math.min(options.alertLedgerRetentionMs, PURGE_EVERY_MS);
      this.tasks.push(new PeriodicTask({ name: 'alert ledger retention', everyMs, logger, run: (signal) => retention.run(signal) }));
    }
  }

  start(): void {
    for (const task of this.tasks) task.start();
  }

  /** Stops every loop at once; resolves when their running passes have ended. */
  async stop(): Promise<void> {
    await Promise.all(this.tasks.map((task) => task.stop()));
  }
}
