import { Worker as BullWorker, type Job } from 'bullmq';
import {
  CONSUMER_RUN_RETRY_DELAY_MS,
  drainWithDeadline,
  POLL_QUEUE,
  type Membership,
  type PollJobData,
  type PollJobResult,
  type Reloadable,
  type Service,
  type RoleContext,
} from '@watched/core';
import { AgentClient } from './agent-client.js';
import { AgentLanes } from './agent-lanes.js';
import { AgentPoller } from './agent-poller.js';
import { DataTables } from './data-tables.js';
import { DiscoveryCache } from './discovery-cache.js';
import { Inventory } from './inventory.js';
import { QueueEventSink, type EventSink } from '@watched/core';
import { LoggingEventSink } from './events/logging-event-sink.js';
import { ThresholdRules } from './store/threshold-rules.js';
import { LogAlerts } from './store/log-alerts.js';
import { PollProcessor } from './poll-processor.js';
import { RowWriter } from './row-writer.js';
import { limitHeapGrowth } from './heap-growth.js';
import { SlowLane } from './slow-lane.js';
import { PollStore } from './store/poll-store.js';
import type { WorkerOptions } from './worker-options.js';

/** Counters a `watched up` status line and tests read. */
export interface WorkerStats {
  jobs: number;
  polls: number;
  failedPolls: number;
  rows: number;
  failedJobs: number;
}

/** After cancelling jobs still running at the drain deadline: how long BullMQ may take to record their retries. */
const CANCEL_GRACE_MS = 5000;

/**
 * The worker role: a BullMQ consumer of poll jobs. Stateless: any worker can
 * take any job, and everything it caches is re-read from MySQL on a miss.
 */
export class PollWorker implements Service, Reloadable<WorkerOptions> {
  readonly name = 'worker';
  readonly stats: WorkerStats = { jobs: 0, polls: 0, failedPolls: 0, rows: 0, failedJobs: 0 };
  private bull?: BullWorker<PollJobData, PollJobResult>;
  private membership?: Membership;
  private rules?: ThresholdRules;
  private slow?: SlowLane;
  private active = 0;

  /** Where opened/closed events go; set before start (the alerter, tests). Default: the log. */
  events?: EventSink;
  /** `context` is this role's (`role: 'worker'`): its connections, logger, identity and metrics. */
  constructor(
    readonly context: RoleContext,
    private options: WorkerOptions,
  ) {}

  /**
   * SIGHUP: the threshold rules are read again at the next poll (whatever
   * changed), and the concurrency and rules refresh period change live.
   * The other options need a restart.
   */
  reload(options: WorkerOptions): readonly string[] {
    this.options = { ...this.options, workerConcurrency: options.workerConcurrency, rulesRefreshMs: options.rulesRefreshMs };
    if (this.bull) this.bull.concurrency = options.workerConcurrency;
    this.rules?.refresh(options.rulesRefreshMs);
    return ['workerConcurrency', 'rulesRefresh'];
  }

  /** Jobs running now. */
  get activeJobs(): number {
    return this.active;
  }

  /** Agents in this worker's slow lane now (queued or being polled). */
  get slowLaneAgents(): number {
    return this.slow?.size ?? 0;
  }

  start(): Promise<void> {
    return this.context.start(async () => {
      const { context: ctx, options } = this;
      const logger = ctx.logger;
      limitHeapGrowth(options.heapGrowthPercent);
      const pool = ctx.mysql({ connectionLimit: Math.max(4, options.workerConcurrency * 2) });
      const events = this.events ?? this.defaultEventSink();
      const client = ctx.adopt('agent client', new AgentClient(options), (c) => c.close());
      const poller = new AgentPoller({
        client,
        dataTables: new DataTables(pool, logger, options.maxDataTables),
        inventory: new Inventory(pool),
        discovery: new DiscoveryCache(options),
        logger,
        limits: options.agentLimits,
      });
      const store = new PollStore({
        pool,
        logger,
        writer: new RowWriter({ method: options.writeMethod, insertBatchRows: options.insertBatchRows, logger }),
        rules: (this.rules = new ThresholdRules(pool, options.rulesRefreshMs)),
        events,
        logAlerts: new LogAlerts(pool, events, options.alertLogLevel, logger),
        missingAfterMs: options.missingAfterMs,
        agentFailureThreshold: options.agentFailureThreshold,
        metrics: this.context.metrics,
      });
      const lanes = new AgentLanes(options);
      // Closed after the consumer (it hands agents over) and before the pool (it writes their outcomes).
      this.slow = ctx.adopt(
        'slow lane',
        new SlowLane({ poller, store, lanes, logger, concurrency: options.slowLaneConcurrency, metrics: this.context.metrics }),
        (lane) => lane.close(),
      );
      const processor = new PollProcessor({
        pool,
        poller,
        store,
        logger,
        lanes,
        slowLane: this.slow,
        agentConcurrency: options.agentConcurrency,
        agentSlowAfterMs: options.agentSlowAfterMs,
        writeBatchRows: options.writeBatchRows,
      });
      // Heartbeats on the command connection: the consumer's is blocked in BRPOPLPUSH-style waits.
      // Joined before the consumer exists, so it leaves after the consumer drained.
      this.membership = ctx.membership({
        intervalMs: options.heartbeatIntervalMs,
        details: () => ({ state: ctx.lifecycle, active: this.active, concurrency: this.options.workerConcurrency, slowLane: this.slowLaneAgents, ...this.stats }),
      });
      this.bull = this.consumer(processor);
    });
  }

  /** The BullMQ consumer of poll jobs, on a blocking connection of its own; drained first on close. */
  private consumer(processor: PollProcessor): BullWorker<PollJobData, PollJobResult> {
    const { context: ctx, options } = this;
    const bull = new BullWorker<PollJobData, PollJobResult>(
      POLL_QUEUE,
      async (job: Job<PollJobData, PollJobResult>, _token?: string, signal?: AbortSignal) => {
        this.active += 1;
        try {
          return await abortable(processor.process(job.data), signal);
        } finally {
          this.active -= 1;
        }
      },
      {
        connection: ctx.openRedis('consumer', { blocking: true }),
        prefix: ctx.keys.bullPrefix,
        concurrency: options.workerConcurrency,
        autorun: false,
        // Recorded as the job's processedBy: which worker (and pid) ran it.
        name: ctx.nodeId,
        lockDuration: options.lockDurationMs,
        stalledInterval: options.stalledIntervalMs,
        maxStalledCount: options.maxStalledCount,
        runRetryDelay: CONSUMER_RUN_RETRY_DELAY_MS,
      },
    );
    bull.on('completed', (job, result) => {
      this.stats.jobs += 1;
      this.stats.polls += result.agents;
      this.stats.failedPolls += result.failed;
      this.stats.rows += result.rows;
      this.context.metrics?.groupFailedAgents.set({ group: job.data.group }, result.failed);
      ctx.logger.debug(`job ${job.id} done`, result);
    });
    bull.on('failed', (job, err) => {
      this.stats.failedJobs += 1;
      this.context.metrics?.jobsFailed.inc({ group: job?.data.group ?? 'unknown' });
      ctx.failures.report(`job ${job?.id} (attempt ${job?.attemptsMade})`, err, 'error');
    });
    bull.on('error', (err) => ctx.failures.report('poll queue consumer', err, 'error'));
    // This worker's stalled check found a job whose worker stopped renewing its lock (died, or lost Redis): back in the queue.
    bull.on('stalled', (jobId) => ctx.logger.warn(`job ${jobId} stalled (its worker stopped renewing its lock): back in the queue`));
    ctx.adopt('poll consumer', bull, (b) => this.drain(b));
    void bull.run().catch((err: Error) => ctx.logger.error(`worker stopped: ${err.message}`));
    return bull;
  }

  /** The alerter's queue when `publishAlerts` is on, else the log. */
  private defaultEventSink(): EventSink {
    if (!this.options.publishAlerts) return new LoggingEventSink(this.context.logger);
    // On the command connection, which fails fast (the consumer's is blocking and would wait forever).
    const sink = new QueueEventSink(this.context.redis, this.context.keys);
    return this.context.adopt('alert publisher', sink, (s) => s.close());
  }

  /**
   * Stops taking jobs, lets running ones finish within `shutdownTimeout`,
   * then hands back those still running (they fail with a retry, so another
   * worker polls them again; the cursor and natural keys make that write
   * nothing twice). The rest of the close stack (membership, connections)
   * follows.
   */
  private async drain(bull: BullWorker<PollJobData, PollJobResult>): Promise<void> {
    const { logger } = this.context;
    const timeoutMs = this.options.shutdownTimeoutMs;
    const closed = bull.close().catch((err: Error) => logger.error(`closing the queue consumer: ${err.message}`));
    if (this.active > 0) logger.info(`stopping: waiting up to ${timeoutMs} ms for ${this.active} running jobs`);
    if ((await drainWithDeadline(closed, timeoutMs)) === 'done') return;
    logger.warn(`${this.active} jobs still running after ${timeoutMs} ms: handing them back`);
    bull.cancelAllJobs('worker shutting down');
    // Cancelled jobs fail with a retry at once; give BullMQ a moment to record that, then stop anyway.
    if ((await drainWithDeadline(closed, CANCEL_GRACE_MS)) === 'done') return;
    // Not close(true): BullMQ keeps the first close's promise and returns it, so that would wait as long as
    // the close already stuck (unbounded). A job not recorded as failed stays locked: once its lock
    // expires, the stalled check of another worker retries it.
    logger.warn(`the queue consumer did not close within ${CANCEL_GRACE_MS} ms of handing its jobs back: disconnecting it (unrecorded jobs are retried once their lock expires)`);
    await drainWithDeadline(bull.disconnect(), CANCEL_GRACE_MS);
  }

  /** Stops taking jobs and drains them (see `drain`), unregisters, closes connections. Idempotent. */
  close(): Promise<void> {
    return this.context.close(() => this.membership?.beat());
  }
}

/** Settles with `work`, or rejects as soon as `signal` aborts (BullMQ's cancelJob/cancelAllJobs). */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(new Error(`job cancelled: ${String(signal.reason ?? 'aborted')}`));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error(`job cancelled: ${String(signal.reason ?? 'aborted')}`));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
