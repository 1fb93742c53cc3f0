import { Worker as BullWorker, type Job } from 'bullmq';
import {
  createMysqlPool,
  createRedis,
  IllegalStateError,
  POLL_QUEUE,
  RedisKeys,
  type Logger,
  type PollJobData,
  type PollJobResult,
  type Pool,
  type Redis,
  type Service,
  type ServiceState,
} from '@watched/core';
import { AgentClient } from './agent-client.js';
import { AgentPoller } from './agent-poller.js';
import { DataTables } from './data-tables.js';
import { DiscoveryCache } from './discovery-cache.js';
import { Inventory } from './inventory.js';
import { PollProcessor } from './poll-processor.js';
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
export class PollWorker implements Service {
  readonly name = 'worker';
  readonly stats: WorkerStats = { jobs: 0, polls: 0, failedPolls: 0, rows: 0, failedJobs: 0 };
  private state: ServiceState = 'INITIALIZED';
  private pool?: Pool;
  private redis?: Redis;
  private bull?: BullWorker<PollJobData, PollJobResult>;
  private client?: AgentClient;
  private closing?: Promise<void>;

  constructor(
    private readonly connections: WorkerConnections,
    private readonly options: WorkerOptions,
    private readonly logger: Logger,
  ) {}

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
    });
    const poller = new AgentPoller({
      pool: this.pool,
      client: this.client,
      dataTables: new DataTables(this.pool, this.logger),
      inventory: new Inventory(this.pool),
      discovery: new DiscoveryCache(this.options.discoveryRefresh),
      logger: this.logger,
      insertBatchRows: this.options.insertBatchRows,
    });
    const processor = new PollProcessor({
      pool: this.pool,
      poller,
      logger: this.logger,
      agentConcurrency: this.options.agentConcurrency,
    });
    const keys = new RedisKeys(this.connections.prefix);
    this.bull = new BullWorker<PollJobData, PollJobResult>(
      POLL_QUEUE,
      async (job: Job<PollJobData, PollJobResult>) => processor.process(job.data),
      { connection: this.redis, prefix: keys.bullPrefix, concurrency: this.options.workerConcurrency, autorun: false },
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
      this.logger.error(`job ${job?.id} failed (attempt ${job?.attemptsMade}): ${err.message}`);
    });
    this.bull.on('error', (err) => this.logger.error(`worker queue error: ${err.message}`));
    void this.bull.run().catch((err: Error) => this.logger.error(`worker stopped: ${err.message}`));
    this.state = 'RUNNING';
    this.logger.info('worker started', { concurrency: this.options.workerConcurrency });
  }

  /** Stops taking jobs, lets running ones finish, closes connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'STOPPING';
      await this.bull?.close().catch((err: Error) => this.logger.error(`closing the queue consumer: ${err.message}`));
      this.client?.close();
      await this.pool?.end().catch(() => undefined);
      await this.redis?.quit().catch(() => undefined);
      this.state = 'STOPPED';
    })();
    return this.closing;
  }
}
