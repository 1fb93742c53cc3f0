import { Queue, UnrecoverableError, Worker as BullWorker, type Job } from 'bullmq';
import {
  ALERTS_QUEUE,
  ALERT_DELIVER_JOB,
  ALERT_EVENT_JOB,
  IllegalStateError,
  QueueEventSink,
  RedisKeys,
  createMysqlPool,
  createRedis,
  type DeliverJobData,
  type Logger,
  type Pool,
  type Redis,
  type Reloadable,
  type Service,
  type ServiceState,
  type WatchedMetrics,
} from '@watched/core';
import type { AlerterOptions } from './alerter-options.js';
import { AlerterStats } from './alerter-stats.js';
import { DeliveryHandler } from './delivery/delivery-handler.js';
import { DeliveryScheduler } from './delivery/delivery-scheduler.js';
import { EventHandler } from './delivery/event-handler.js';
import { Maintenance } from './maintenance/maintenance.js';
import type { AlertPlugin } from './plugin.js';
import { Receivers } from './receivers.js';
import { Silences } from './silences.js';

export interface AlerterConnections {
  mysqlUrl: string;
  redisUrl: string;
  prefix: string;
}

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
  /** Prometheus metrics to update (`watched_alerts_sent_total`, `watched_alerts_failed_total`); set before start. */
  metrics?: WatchedMetrics;
  private state: ServiceState = 'INITIALIZED';
  private readonly receivers: Receivers;
  private pool?: Pool;
  private redis?: Redis;
  private queueRedis?: Redis;
  private queue?: Queue;
  private bull?: BullWorker;
  private sink?: QueueEventSink;
  private maintenance?: Maintenance;
  private closing?: Promise<void>;

  constructor(
    private readonly connections: AlerterConnections,
    /** Compiled by compileAlerterOptions. */
    private options: AlerterOptions,
    private readonly logger: Logger,
    /** Plugins given in code (besides the built-ins and `alertPlugins` modules). */
    extraPlugins: AlertPlugin[] = [],
  ) {
    this.receivers = new Receivers(logger, extraPlugins);
  }

  async start(): Promise<void> {
    if (this.state !== 'INITIALIZED') throw new IllegalStateError(`alerter cannot start in state ${this.state}`);
    try {
      await this.receivers.open(this.options);
      const current = () => this.options;
      const pool = createMysqlPool(this.connections.mysqlUrl, { connectionLimit: Math.max(4, this.options.alertConcurrency + 2) });
      this.pool = pool;
      const silences = new Silences(pool);
      const keys = new RedisKeys(this.connections.prefix);
      this.queueRedis = createRedis(this.connections.redisUrl, { connectionName: 'watched-alerter-queue' });
      this.queue = new Queue(ALERTS_QUEUE, { connection: this.queueRedis, prefix: keys.bullPrefix });
      const scheduler = new DeliveryScheduler(this.queue, current);
      const context = { pool, stats: this.stats, logger: this.logger, options: current };
      const events = new EventHandler({ ...context, silences, scheduler });
      const deliveries = new DeliveryHandler({ ...context, receivers: this.receivers, metrics: this.metrics });
      this.redis = createRedis(this.connections.redisUrl, { blocking: true, connectionName: 'watched-alerter' });
      this.bull = new BullWorker(
        ALERTS_QUEUE,
        (job: Job, _token, signal) => {
          if (job.name === ALERT_EVENT_JOB) return events.handle(job.data);
          if (job.name === ALERT_DELIVER_JOB) return deliveries.handle(job as Job<DeliverJobData>, signal);
          throw new UnrecoverableError(`unknown alert job name ${job.name}`);
        },
        {
          connection: this.redis,
          prefix: keys.bullPrefix,
          concurrency: this.options.alertConcurrency,
          autorun: false,
          // a plugin call may take up to the send timeout: keep the lock longer than that
          lockDuration: Math.max(30_000, this.options.alertSendTimeoutMs * 2),
        },
      );
      this.bull.on('failed', (job, err) => {
        const final = job ? job.attemptsMade >= (job.opts.attempts ?? 1) : true;
        const log = final ? this.logger.error.bind(this.logger) : this.logger.warn.bind(this.logger);
        log(`alert job ${job?.id} failed (attempt ${job?.attemptsMade}${final ? ', no more retries' : ', will retry'}): ${err.message}`);
      });
      this.bull.on('error', (err) => this.logger.error(`alerter queue error: ${err.message}`));
      void this.bull.run().catch((err: Error) => this.logger.error(`alerter stopped: ${err.message}`));
      if (this.options.alertReconcileIntervalMs > 0) this.sink = new QueueEventSink(this.queueRedis, this.connections.prefix);
      this.maintenance = new Maintenance({ ...context, silences, scheduler, sink: this.sink });
      this.maintenance.start();
      this.state = 'RUNNING';
      this.logger.info('alerter started', { receivers: this.receivers.names, groupWindowMs: this.options.alertGroupWindowMs });
    } catch (err) {
      this.state = 'FAILED';
      await this.release();
      throw err;
    }
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
   * takes them back). Then closes the plugins and the connections. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.state === 'RUNNING') this.state = 'STOPPING';
      // No maintenance pass starts from now on; one running finishes while the jobs drain.
      const maintenanceStopped = this.maintenance?.stop();
      const bull = this.bull;
      if (bull) {
        const closed = bull.close().catch((err: Error) => this.logger.error(`closing the alert consumer: ${err.message}`));
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), CLOSE_TIMEOUT_MS)));
        const outcome = await Promise.race([closed.then(() => 'closed' as const), deadline]);
        clearTimeout(timer);
        if (outcome === 'deadline') {
          this.logger.warn(`alert jobs still running after ${CLOSE_TIMEOUT_MS} ms: leaving them to be retried`);
          await bull.close(true).catch(() => undefined);
        }
      }
      await maintenanceStopped;
      await this.sink?.close().catch(() => undefined);
      await this.release();
      this.state = 'STOPPED';
    })();
    return this.closing;
  }

  private async release(): Promise<void> {
    await this.receivers.close();
    await this.queue?.close().catch(() => undefined);
    await this.queueRedis?.quit().catch(() => undefined);
    await this.redis?.quit().catch(() => undefined);
    await this.pool?.end().catch(() => undefined);
  }
}
