import type { EventSink, Logger, PeriodicTaskOptions, Pool } from '@watched/core';
import { RECONCILE_GRACE_MS, type AlerterOptions } from '../alerter-options.js';
import type { AlerterStats } from '../alerter-stats.js';
import type { DeliveryScheduler } from '../delivery/delivery-scheduler.js';
import type { Silences } from '../silences.js';
import { DeliverySweep } from './delivery-sweep.js';
import { LedgerRetention } from './ledger-retention.js';
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
  /** Starts a periodic task that stops with the role (`RoleContext.task`). */
  task: (options: Omit<PeriodicTaskOptions, 'logger'>) => unknown;
}

/**
 * The alerter's background loops: the delivery sweep (always), the
 * reconciliation, reminders and the ledger retention (each when its
 * interval or retention is set), each started as a PeriodicTask that stops
 * with the role: no overlapping runs, a failure logged and retried at the next tick.
 */
export function startMaintenance(context: MaintenanceContext): void {
  const { pool, silences, scheduler, sink, stats, logger } = context;
  // Background upkeep: never keeps the process alive on its own.
  const every = (ms: number) => ({ intervalMs: () => ms, unref: true });
  const options = context.options();
  const sweep = new DeliverySweep(pool, scheduler, options.alertGroupWindowMs, logger);
  context.task({ name: 'alert sweep', ...every(Math.max(1000, options.alertGroupWindowMs)), run: () => sweep.run() });
  const reconcileEvery = options.alertReconcileIntervalMs;
  if (reconcileEvery > 0) {
    if (!sink) throw new Error('the reconciliation needs an event sink');
    const reconciler = new Reconciler(pool, sink, options.alertReconcileLookbackMs, RECONCILE_GRACE_MS, { logLevel: options.alertLogLevel });
    context.task({
      name: 'alert reconciliation',
      // jittered: alerters started together do not scan the event tables together
      ...every(reconcileEvery + Math.floor(Math.random() * Math.min(reconcileEvery, 5000))),
      run: async () => {
        const found = await reconciler.run();
        if (found.length) logger.warn(`published again ${found.length} event transition(s) missing from the alert ledger`);
      },
    });
  }
  if (options.alertRepeatIntervalMs > 0) {
    const reminders = new Reminders(pool, silences, scheduler, context.options, stats);
    context.task({ name: 'alert reminders', ...every(Math.max(200, Math.min(options.alertRepeatIntervalMs, REPEAT_CHECK_MAX_MS))), run: () => reminders.run() });
  }
  if (options.alertLedgerRetentionMs > 0) {
    const retention = new LedgerRetention(pool, options.alertLedgerRetentionMs, stats, logger);
    context.task({ name: 'alert ledger retention', ...every(Math.min(options.alertLedgerRetentionMs, PURGE_EVERY_MS)), run: (signal) => retention.run(signal) });
  }
}
