import { Worker as BullWorker, type Job } from 'bullmq';
import {
  createMysqlPool,
  createRedis,
  defaultNodeId,
  IllegalStateError,
  Membership,
  POLL_QUEUE,
  RedisKeys,
  type Logger,
  type PollJobData,
  type PollJobResult,
  type Pool,
  type Redis,
  type Service,
  type Reloadable,
  type ServiceState,
  type WatchedMetrics,
} from '@watched/core';
import { AgentClient } from './agent-client.js';
import { AgentPoller } from './agent-poller.js';
import { DataTables } from './data-tables.js';
import { DiscoveryCache } from './discovery-cache.js';
import { Inventory } from './inventory.js';
import { LoggingEventSink, type EventSink } from './events/event-sink.js';
import { QueueEventSink } from './events/queue-event-sink.js';
import { ThresholdRules } from './store/threshold-rules.js';
import { LogAlerts } from './store/log-alerts.js';
import { PollProcessor } from './poll-processor.js';
import { PollStore } from './store/poll-store.js';
import type { WorkerOptions } from './worker-options.js';

export interface WorkerConnections {
  mysqlUrl: string;
  redisUrl: string;
  prefix: string;
}

/** Counters a `watched up` status line and tests read. */
export interface WorkerStats {
  jobs: number;
  polls: number;
  failedPolls: number;
  rows: number;
  failedJobs: number;
}

/**
 * The worker role: a BullMQ consumer of poll jobs. Stateless: any worker can
 * take any job, and everything it caches is re-read from MySQL on a miss.
 */
export class PollWorker implements Service, Reloadable<WorkerOptions> {
  readonly name = 'worker';
  readonly stats: WorkerStats = { jobs: 0, polls: 0, failedPolls: 0, rows: 0, failedJobs: 0 };
  private state: ServiceState = 'INITIALIZED';
  private pool?: Pool;
  private redis?: Redis;
  private bull?: BullWorker<PollJobData, PollJobResult>;
  private client?: AgentClient;
  private membership?: Membership;
  private alertSink?: QueueEventSink;
  private alertRedis?: Redis;
  private memberRedis?: Redis;
  private closing?: Promise<void>;
  private rules?: ThresholdRules;
  private active = 0;
  readonly nodeId: string;

  /** Where opened/closed events go; set before start (the alerter, tests). Default: the log. */
  events?: EventSink;
  /** Prometheus metrics to update (polls, durations, rows, failed jobs); set before start. */
  metrics?: WatchedMetrics;

  constructor(
    private readonly connections: WorkerConnections,
    private options: WorkerOptions,
    private readonly logger: Logger,
    nodeId = defaultNodeId(),
  ) {
    this.nodeId = nodeId;
  }

  /**
   * SIGHUP: the threshold rules are read again at the next poll (whatever
   * changed), and the concurrency and rules refresh period change live.
   * The other options need a restart.
   */
  reload(options: WorkerOptions): readonly string[] {
    this.options = { ...this.options, workerConcurrency: options.workerConcurrency, rulesRefresh: options.rulesRefresh };
    if (this.bull) this.bull.concurrency = options.workerConcurrency;
    this.rules?.refresh(options.rulesRefresh);
    return ['workerConcurrency', 'rulesRefresh'];
  }

  /** The lifecycle state (tests, status). */
  get lifecycle(): ServiceState {
    return this.state;
  }

  /** Jobs running now. */
  get activeJobs(): number {
    return this.active;
  }

  async start(): Promise<void> {
    if (this.state !== 'INITIALIZED') throw new IllegalStateError(`worker cannot start from ${this.state}`);
    this.pool = createMysqlPool(this.connections.mysqlUrl, {
      connectionLimit: Math.max(4, this.options.workerConcurrency * 2),
    });
    this.redis = createRedis(this.connections.redisUrl, { blocking: true, connectionName: 'watched-worker' });
    this.client = new AgentClient({
      connectTimeoutMs: this.options.agentConnectTimeout,
      timeoutMs: this.options.agentTimeout,
      maxResponseBytes: this.options.agentMaxResponseBytes,
      tls: { ca: this.options.agentTlsCa, cert: this.options.agentTlsCert, key: this.options.agentTlsKey, minVersion: this.options.agentTlsMinVersion },
    });
    const events = this.events ?? this.defaultEventSink();
    const poller = new AgentPoller({
      client: this.client,
      dataTables: new DataTables(this.pool, this.logger),
      inventory: new Inventory(this.pool),
      discovery: new DiscoveryCache({ refreshMs: this.options.discoveryRefresh }),
      logger: this.logger,
    });
    const store = new PollStore({
      pool: this.pool,
      logger: this.logger,
      insertBatchRows: this.options.insertBatchRows,
      rules: (this.rules = new ThresholdRules(this.pool, this.options.rulesRefresh)),
      events,
      logAlerts: new LogAlerts(this.pool, events, this.options.alertLogLevel, this.logger),
      missingAfterMs: this.options.missingAfter,
      agentFailureThreshold: this.options.agentFailureThreshold,
      metrics: this.metrics,
    });
    const processor = new PollProcessor({
      pool: this.pool,
      poller,
      store,
      logger: this.logger,
      agentConcurrency: this.options.agentConcurrency,
      writeBatchRows: this.options.writeBatchRows,
    });
    const keys = new RedisKeys(this.connections.prefix);
    this.bull = new BullWorker<PollJobData, PollJobResult>(
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
        connection: this.redis,
        prefix: keys.bullPrefix,
        concurrency: this.options.workerConcurrency,
        autorun: false,
        // Recorded as the job's processedBy: which worker (and pid) ran it.
        name: this.nodeId,
        lockDuration: this.options.lockDuration,
        stalledInterval: this.options.stalledInterval,
        maxStalledCount: this.options.maxStalledCount,
      },
    );
    this.bull.on('completed', (job, result) => {
      this.stats.jobs += 1;
      this.stats.polls += result.agents;
      this.stats.failedPolls += result.failed;
      this.stats.rows += result.rows;
      this.logger.debug(`job ${job.id} done`, result);
    });
    this.bull.on('failed', (job, err) => {
      this.stats.failedJobs += 1;
      this.metrics?.jobsFailed.inc();
      this.logger.error(`job ${job?.id} failed (attempt ${job?.attemptsMade}): ${err.message}`);
    });
    this.bull.on('error', (err) => this.logger.error(`worker queue error: ${err.message}`));
    void this.bull.run().catch((err: Error) => this.logger.error(`worker stopped: ${err.message}`));
    // Heartbeats on their own connection: the consumer's is blocked in BRPOPLPUSH-style waits.
    this.memberRedis = this.redis.duplicate({ connectionName: 'watched-worker-membership', maxRetriesPerRequest: 3 });
    this.membership = new Membership({
      redis: this.memberRedis,
      prefix: keys.prefix,
      role: 'worker',
      nodeId: this.nodeId,
      intervalMs: this.options.heartbeatInterval,
      logger: this.logger,
      details: () => ({ state: this.state, active: this.active, concurrency: this.options.workerConcurrency, ...this.stats }),
    });
    this.state = 'RUNNING';
    this.membership.start();
    this.logger.info('worker started', { concurrency: this.options.workerConcurrency });
  }

  /** The alerter's queue when `publishAlerts` is on, else the log. */
  private defaultEventSink(): EventSink {
    if (!this.options.publishAlerts) return new LoggingEventSink(this.logger);
    // Its own connection: the consumer's is blocking, and this one must fail fast rather than wait forever.
    this.alertRedis = createRedis(this.connections.redisUrl, { connectionName: 'watched-worker-events' });
    this.alertSink = new QueueEventSink(this.alertRedis, this.connections.prefix);
    return this.alertSink;
  }

  /**
   * Stops taking jobs, lets running ones finish within `shutdownTimeout`,
   * then hands back those still running (they fail with a retry, so another
   * worker polls them again; the cursor and natural keys make that write
   * nothing twice), unregisters and closes connections. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'STOPPING';
      void this.membership?.beat();
      const bull = this.bull;
      if (bull) {
        const closed = bull.close().catch((err: Error) => this.logger.error(`closing the queue consumer: ${err.message}`));
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<'deadline'>((resolve) => {
          timer = setTimeout(() => resolve('deadline'), this.options.shutdownTimeout);
        });
        if (this.active > 0) this.logger.info(`stopping: waiting up to ${this.options.shutdownTimeout} ms for ${this.active} running jobs`);
        const outcome = await Promise.race([closed.then(() => 'closed' as const), deadline]);
        clearTimeout(timer);
        if (outcome === 'deadline') {
          this.logger.warn(`${this.active} jobs still running after ${this.options.shutdownTimeout} ms: handing them back`);
          bull.cancelAllJobs('worker shutting down');
          // Cancelled jobs fail with a retry at once; give BullMQ a moment to record that, then stop anyway.
          const grace = new Promise<void>((resolve) => {
            timer = setTimeout(resolve, 5000);
          });
          await Promise.race([closed, grace]);
          clearTimeout(timer);
          await bull.close(true).catch(() => undefined);
        }
      }
      await this.membership?.stop();
      await this.memberRedis?.quit().catch(() => undefined);
      await this.alertSink?.close().catch(() => undefined);
      await this.alertRedis?.quit().catch(() => undefined);
      this.client?.close();
      await this.pool?.end().catch(() => undefined);
      await this.redis?.quit().catch(() => undefined);
      this.state = 'STOPPED';
    })();
    return this.closing;
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
