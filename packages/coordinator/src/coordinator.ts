import { Queue } from 'bullmq';
import {
  createMysqlPool,
  createRedis,
  defaultNodeId,
  errorMessage,
  IllegalStateError,
  LeaderLease,
  Membership,
  POLL_QUEUE,
  RedisKeys,
  TermStore,
  type Logger,
  type PollJobData,
  type Pool,
  type Redis,
  type Reloadable,
  type Service,
  type ServiceState,
  type WatchedMetrics,
  type RoleConnections,
} from '@watched/core';
import type { CoordinatorOptions } from './coordinator-options.js';
import { Scheduler, type SchedulerStats } from './scheduler.js';

export type CoordinatorConnections = RoleConnections;

/** A standby tries this long after the lease's expiry (Redis expires keys on access, so at once; a margin for clocks is not needed). */
const LEASE_EXPIRY_SLACK_MS = 5;

/** Channel on which a leader announces a graceful release, so a standby takes over at once. */
export function leaseReleasedChannel(prefix: string): string {
  return `${prefix}:leader:released`;
}

/**
 * The coordinator role: every replica competes for the leader lease; the
 * leader alone runs the scheduler. A standby keeps trying every tick, and at
 * once when the leader announces a graceful release, so it takes over as soon
 * as the lease expires (crash) or is released (SIGTERM).
 */
export class Coordinator implements Service, Reloadable<CoordinatorOptions> {
  readonly name = 'coordinator';
  readonly nodeId: string;
  private state: ServiceState = 'INITIALIZED';
  private pool?: Pool;
  private redis?: Redis;
  private subscriber?: Redis;
  private queue?: Queue<PollJobData>;
  private lease?: LeaderLease;
  private scheduler?: Scheduler;
  private membership?: Membership;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private closing?: Promise<void>;
  private lastLeaseRefresh = Number.NEGATIVE_INFINITY;
  private wasLeader = false;
  private leaseKey?: string;
  /** Our own copy, shared with the scheduler: `reload` changes some fields in place. */
  private readonly options: CoordinatorOptions;

  /** Prometheus metrics to update (leader gauge, skipped slots, queue depth); set before start. */
  metrics?: WatchedMetrics;

  constructor(
    private readonly connections: CoordinatorConnections,
    options: CoordinatorOptions,
    private readonly logger: Logger,
    nodeId = defaultNodeId(),
  ) {
    this.nodeId = nodeId;
    this.options = { ...options };
  }

  /** Options the scheduler reads at each use, so they change live on SIGHUP; the others (group size, lease) need a restart. */
  static readonly LIVE_OPTIONS = ['tickInterval', 'agentRefresh', 'jobAttempts', 'jobRetention'] as const;

  reload(options: CoordinatorOptions): readonly string[] {
    for (const key of Coordinator.LIVE_OPTIONS) this.options[key] = options[key];
    return Coordinator.LIVE_OPTIONS;
  }

  /** The lifecycle state (readiness, tests). */
  get lifecycle(): ServiceState {
    return this.state;
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
    this.leaseKey = keys.leaderLease;
    this.pool = createMysqlPool(this.connections.mysql, { connectionLimit: 2 });
    this.redis = createRedis(this.connections.redis, { connectionName: 'watched-coordinator' });
    this.queue = new Queue<PollJobData>(POLL_QUEUE, { connection: this.redis, prefix: keys.bullPrefix });
    this.queue.on('error', (err) => this.logger.error(`poll queue error: ${err.message}`));
    this.lease = new LeaderLease({
      redis: this.redis,
      key: keys.leaderLease,
      nodeId: this.nodeId,
      ttlMs: this.options.leaseTtl,
      logger: this.logger,
      terms: new TermStore(this.pool, keys.leaderLease),
    });
    this.scheduler = new Scheduler(
      this.pool,
      this.queue,
      this.redis,
      { leaderLease: keys.leaderLease, schedule: keys.schedule },
      this.options,
      this.logger,
    );
    this.membership = new Membership({
      redis: this.redis,
      prefix: keys.prefix,
      role: 'coordinator',
      nodeId: this.nodeId,
      intervalMs: this.options.heartbeatInterval,
      logger: this.logger,
      details: () => ({ leader: this.isLeader, term: this.term, ...this.scheduler?.stats }),
    });
    this.subscriber = this.redis.duplicate({ connectionName: 'watched-coordinator-sub' });
    this.subscriber.on('error', (err: Error) => this.logger.debug(`lease subscription: ${err.message}`));
    this.subscriber.on('message', () => this.wakeUp());
    await this.subscriber.subscribe(leaseReleasedChannel(keys.prefix)).catch((err: Error) => {
      this.logger.warn(`cannot subscribe to lease releases (takeover waits for the next tick): ${err.message}`);
    });
    this.state = 'RUNNING';
    this.membership.start();
    this.schedule(0);
    this.logger.info('coordinator started', { nodeId: this.nodeId });
  }

  private schedule(delayMs: number): void {
    if (this.state !== 'RUNNING') return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.loop().then(
        (delayMs) => this.schedule(delayMs),
        () => this.schedule(this.options.tickInterval),
      );
    }, delayMs);
  }

  /** The leader released the lease: a standby tries at once instead of at its next tick. */
  private wakeUp(): void {
    if (this.state !== 'RUNNING' || this.isLeader || this.timer === undefined) return;
    this.schedule(0);
  }

  /** One tick; resolves with the delay until the next one. */
  private async loop(): Promise<number> {
    const now = performance.now();
    try {
      const lease = this.lease!;
      // Renew at a third of the TTL; a standby tries every tick, or sooner when the lease expires sooner.
      if (!lease.isLeader() || now - this.lastLeaseRefresh >= this.options.leaseTtl / 3) {
        await lease.refresh();
        this.lastLeaseRefresh = now;
      }
      const leading = lease.isLeader();
      this.metrics?.setLeader('coordinator', leading ? lease.term : null);
      if (leading !== this.wasLeader) {
        this.wasLeader = leading;
        void this.membership?.beat();
        this.metrics?.groupLag.reset(); // lag is the leader's to report
      }
      if (leading && this.state === 'RUNNING') {
        const result = await this.scheduler!.tick(Date.now(), lease);
        if (this.metrics) {
          this.metrics.schedulerSkippedSlots.inc(result.skipped);
          const counts = await this.queue!.getJobCounts('waiting', 'delayed', 'active');
          for (const [state, n] of Object.entries(counts)) this.metrics.queueDepth.set({ state }, n);
          this.metrics.groupLag.reset(); // groups removed from the plan disappear
          for (const [group, lagMs] of this.scheduler!.lags(Date.now())) this.metrics.groupLag.set({ group }, lagMs / 1000);
        }
      }
      if (!leading) return await this.untilLeaseExpiry();
    } catch (err) {
      this.logger.error(`scheduling tick failed: ${errorMessage(err)}`);
    }
    return this.options.tickInterval;
  }

  /**
   * A standby's next try: when the leader's lease expires if that is sooner
   * than a tick, so a crashed leader is replaced within a few milliseconds of
   * its lease's expiry rather than up to a tick later (crash failover <= TTL + 2 s).
   */
  private async untilLeaseExpiry(): Promise<number> {
    const ttl = await this.redis!.pttl(this.leaseKey!).catch(() => -1); // Redis down: the lease refresh has said so already
    return ttl > 0 ? Math.min(this.options.tickInterval, ttl + LEASE_EXPIRY_SLACK_MS) : this.options.tickInterval;
  }

  /** Stops ticking, hands the lease over at once (and says so), unregisters, closes connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'STOPPING';
      clearTimeout(this.timer);
      await this.running;
      const wasHeld = this.lease?.token !== undefined;
      await this.lease?.release();
      if (wasHeld) {
        await this.redis?.publish(leaseReleasedChannel(this.connections.prefix), this.nodeId).catch(() => undefined);
        this.logger.info(`released the lease of term ${this.term}`);
      }
      await this.membership?.stop();
      await this.subscriber?.quit().catch(() => undefined);
      await this.queue?.close().catch(() => undefined);
      await this.redis?.quit().catch(() => undefined);
      await this.pool?.end().catch(() => undefined);
      this.state = 'STOPPED';
    })();
    return this.closing;
  }
}
