import { Queue } from 'bullmq';
import {
  createMysqlPool,
  createRedis,
  defaultNodeId,
  errorMessage,
  IllegalStateError,
  LeaderLease,
  POLL_QUEUE,
  RedisKeys,
  type Logger,
  type PollJobData,
  type Pool,
  type Redis,
  type Service,
  type ServiceState,
} from '@watched/core';
import type { CoordinatorOptions } from './coordinator-options.js';
import { Scheduler, type SchedulerStats } from './scheduler.js';

export interface CoordinatorConnections {
  mysqlUrl: string;
  redisUrl: string;
  prefix: string;
}

/**
 * The coordinator role: every replica competes for the leader lease; the
 * leader alone runs the scheduler. A standby keeps trying, so it takes over
 * once the lease expires or is released.
 */
export class Coordinator implements Service {
  readonly name = 'coordinator';
  readonly nodeId: string;
  private state: ServiceState = 'INITIALIZED';
  private pool?: Pool;
  private redis?: Redis;
  private queue?: Queue<PollJobData>;
  private lease?: LeaderLease;
  private scheduler?: Scheduler;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private closing?: Promise<void>;
  private lastLeaseRefresh = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly connections: CoordinatorConnections,
    private readonly options: CoordinatorOptions,
    private readonly logger: Logger,
    nodeId = defaultNodeId(),
  ) {
    this.nodeId = nodeId;
  }

  get isLeader(): boolean {
    return this.lease?.isLeader() ?? false;
  }

  get term(): number {
    return this.lease?.term ?? 0;
  }

  get stats(): SchedulerStats | undefined {
    return this.scheduler?.stats;
  }

  async start(): Promise<void> {
    if (this.state !== 'INITIALIZED') throw new IllegalStateError(`coordinator cannot start from ${this.state}`);
    const keys = new RedisKeys(this.connections.prefix);
    this.pool = createMysqlPool(this.connections.mysqlUrl, { connectionLimit: 2 });
    this.redis = createRedis(this.connections.redisUrl, { connectionName: 'watched-coordinator' });
    this.queue = new Queue<PollJobData>(POLL_QUEUE, { connection: this.redis, prefix: keys.bullPrefix });
    this.queue.on('error', (err) => this.logger.error(`poll queue error: ${err.message}`));
    this.lease = new LeaderLease({
      redis: this.redis,
      key: keys.leaderLease,
      nodeId: this.nodeId,
      ttlMs: this.options.leaseTtl,
      logger: this.logger,
    });
    this.scheduler = new Scheduler(this.pool, this.queue, this.options, this.logger);
    this.state = 'RUNNING';
    this.schedule(0);
    this.logger.info('coordinator started', { nodeId: this.nodeId });
  }

  private schedule(delayMs: number): void {
    if (this.state !== 'RUNNING') return;
    this.timer = setTimeout(() => {
      this.running = this.loop().finally(() => this.schedule(this.options.tickInterval));
    }, delayMs);
  }

  private async loop(): Promise<void> {
    const now = performance.now();
    try {
      const lease = this.lease!;
      // Renew at a third of the TTL; a standby also tries at that pace.
      if (!lease.isLeader() || now - this.lastLeaseRefresh >= this.options.leaseTtl / 3) {
        await lease.refresh();
        this.lastLeaseRefresh = now;
      }
      if (lease.isLeader() && this.state === 'RUNNING') {
        await this.scheduler!.tick(Date.now(), lease.term);
      }
    } catch (err) {
      this.logger.error(`scheduling tick failed: ${errorMessage(err)}`);
    }
  }

  /** Stops ticking, hands the lease over at once, closes connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'STOPPING';
      clearTimeout(this.timer);
      await this.running;
      await this.lease?.release();
      await this.queue?.close().catch(() => undefined);
      await this.redis?.quit().catch(() => undefined);
      await this.pool?.end().catch(() => undefined);
      this.state = 'STOPPED';
    })();
    return this.closing;
  }
}
