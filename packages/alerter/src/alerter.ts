import { UnrecoverableError, Worker as BullWorker, type Job } from 'bullmq';
import {
  ALERTS_QUEUE,
  ALERT_DELIVER_JOB,
  ALERT_EVENT_JOB,
  CONSUMER_RUN_RETRY_DELAY_MS,
  drainWithDeadline,
  QueueEventSink,
  type DeliverJobData,
  type Reloadable,
  type Service,
  type RoleContext,
} from '@watched/core';
import type { AlerterOptions } from './alerter-options.js';
import { AlerterStats } from './alerter-stats.js';
import { DeliveryHandler } from './delivery/delivery-handler.js';
import { DeliveryScheduler } from './delivery/delivery-scheduler.js';
import { EventHandler } from './delivery/event-handler.js';
import { startMaintenance } from './maintenance/maintenance.js';
import type { AlertPlugin } from './plugin.js';
import { Receivers } from './receivers.js';
import { Silences } from './silences.js';

/** Longest wait for running jobs on close (below the process's 30 s shutdown deadline). */
const CLOSE_TIMEOUT_MS = 15_000;

/** The options `reload` applies live (named as the flags: the reloader compares raw options). */
const LIVE_OPTIONS = ['alertRoutes', 'alertRepeatSeverities', 'alertAttempts', 'alertBackoff'] as const;

/**
 * The alerter role. Consumes the `alerts` queue: `event` jobs (one per event
 * transition, from the worker's QueueEventSink) are enriched, checked against
 * silences, routed to receivers and recorded in MySQL (deduplicated by table,
 * id and transition: EventHandler); `deliver` jobs (one per receiver and
 * grouping window) send what a receiver is owed as one message through its
 * plugin, and are retried with exponential backoff while the plugin fails
 * (DeliveryHandler). Maintenance runs the sweep, reminders, the ledger
 * retention and the reconciliation. Any number of alerters may run: MySQL
 * claims keep a row in one message at a time. This class wires the parts
 * and runs their lifecycle.
 */
export class Alerter implements Service, Reloadable<AlerterOptions> {
  readonly name = 'alerter';
  readonly stats = new AlerterStats();
  private readonly receivers: Receivers;

  /** `context` is this role's (`role: 'alerter'`): its connections, logger, identity and metrics. */
  constructor(
    readonly context: RoleContext,
    /** Compiled by compileAlerterOptions. */
    private options: AlerterOptions,
    /** Plugins given in code (besides the built-ins and `alertPlugins` modules). */
    extraPlugins: AlertPlugin[] = [],
  ) {
    this.receivers = new Receivers(context.logger, extraPlugins);
  }

  start(): Promise<void> {
    return this.context.start(async () => {
      const { context: ctx } = this;
      const logger = ctx.logger;
      const receivers = ctx.adopt('receivers', this.receivers, (r) => r.close());
      await receivers.open(this.options);
      const current = () => this.options;
      const pool = ctx.mysql({ connectionLimit: Math.max(4, this.options.alertConcurrency + 2) });
      const silences = new Silences(pool);
      const queue = ctx.queue(ALERTS_QUEUE);
      const scheduler = new DeliveryScheduler(queue, current);
      const context = { pool, stats: this.stats, logger, options: current };
      const events = new EventHandler({ ...context, silences, scheduler });
      const deliveries = new DeliveryHandler({ ...context, receivers, metrics: this.context.metrics });
      const sink =
        this.options.alertReconcileIntervalMs > 0 ? ctx.adopt('alert publisher', new QueueEventSink(ctx.redis, ctx.keys), (s) => s.close()) : undefined;
      ctx.membership({ intervalMs: this.options.heartbeatIntervalMs, details: () => ({ ...this.stats }) });
      const bull = new BullWorker(
        ALERTS_QUEUE,
        (job: Job, _token, signal) => {
          if (job.name === ALERT_EVENT_JOB) return events.handle(job.data);
          if (job.name === ALERT_DELIVER_JOB) return deliveries.handle(job as Job<DeliverJobData>, signal);
          throw new UnrecoverableError(`unknown alert job name ${job.name}`);
        },
        {
          connection: ctx.openRedis('consumer', { blocking: true }),
          prefix: ctx.keys.bullPrefix,
          concurrency: this.options.alertConcurrency,
          autorun: false,
          // a plugin call may take up to the send timeout: keep the lock longer than that
          lockDuration: Math.max(30_000, this.options.alertSendTimeoutMs * 2),
          runRetryDelay: CONSUMER_RUN_RETRY_DELAY_MS,
        },
      );
      bull.on('failed', (job, err) => {
        const final = job ? job.attemptsMade >= (job.opts.attempts ?? 1) : true;
        const log = final ? logger.error.bind(logger) : logger.warn.bind(logger);
        log(`alert job ${job?.id} failed (attempt ${job?.attemptsMade}${final ? ', no more retries' : ', will retry'}): ${err.message}`);
      });
      bull.on('error', (err) => ctx.failures.report('alert queue consumer', err, 'error'));
      ctx.adopt('alert consumer', bull, (b) => this.drain(b));
      void bull.run().catch((err: Error) => logger.error(`alerter stopped: ${err.message}`));
      // Its tasks stop (a running pass finishes) before the consumer drains.
      startMaintenance({ ...context, silences, scheduler, sink, task: (options) => ctx.task(options) });
      logger.info('alerter receivers', { receivers: receivers.names, groupWindowMs: this.options.alertGroupWindowMs });
    });
  }

  /**
   * SIGHUP: routes (checked against the running receivers: a route naming an
   * unknown one refuses the lot), reminder severities, delivery attempts and
   * backoff change live; receivers and plugins need a restart.
   */
  reload(options: AlerterOptions): readonly string[] {
    this.receivers.checkRoutes(options.alertRoutes, ' (receivers change after a restart)');
    const { alertRoutes, alertRepeatSeverities, alertAttempts, alertBackoffMs } = options;
    this.options = { ...this.options, alertRoutes, alertRepeatSeverities, alertAttempts, alertBackoffMs };
    return LIVE_OPTIONS;
  }

  /**
   * Stops taking jobs and waits for running ones up to CLOSE_TIMEOUT_MS (a
   * send is bounded by the send timeout); past that, they are left to stall
   * and be retried elsewhere (their rows stay held by the same job id, which
   * takes them back).
   */
  private async drain(bull: BullWorker): Promise<void> {
    const closed = bull.close().catch((err: Error) => this.context.logger.error(`closing the alert consumer: ${err.message}`));
    if ((await drainWithDeadline(closed, CLOSE_TIMEOUT_MS)) === 'done') return;
    this.context.logger.warn(`alert jobs still running after ${CLOSE_TIMEOUT_MS} ms: leaving them to be retried`);
    await bull.close(true).catch(() => undefined);
  }

  /** Stops maintenance and the consumer (see `drain`), then closes the plugins and the connections. Idempotent. */
  close(): Promise<void> {
    return this.context.close();
  }
}
