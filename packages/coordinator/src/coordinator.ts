import type { Queue } from 'bullmq';
import {
  POLL_QUEUE,
  TermStore,
  type Leadership,
  type PollJobData,
  type Reloadable,
  type Service,
  type RoleContext,
} from '@watched/core';
import type { CoordinatorOptions } from './coordinator-options.js';
import { Scheduler, type SchedulerStats } from './scheduler.js';

/**
 * The coordinator role: every replica competes for the leader lease (the
 * kit's leader loop); the leader alone runs the scheduler, every tick and at
 * once when it becomes leader. A standby takes over as soon as the lease
 * expires (crash) or is released (SIGTERM).
 */
export class Coordinator implements Service, Reloadable<CoordinatorOptions> {
  readonly name = 'coordinator';
  private leadership?: Leadership;
  private scheduler?: Scheduler;
  private queue?: Queue<PollJobData>;
  /** Our own copy, shared with the scheduler: `reload` changes some fields in place. */
  private readonly options: { -readonly [K in keyof CoordinatorOptions]: CoordinatorOptions[K] };

  /** `context` is this role's (`role: 'coordinator'`): its connections, logger, identity and metrics. */
  constructor(
    readonly context: RoleContext,
    options: CoordinatorOptions,
  ) {
    this.options = { ...options };
  }

  /**
   * Options the scheduler reads at each use, so they change live on SIGHUP; the others (group size, lease) need a restart.
   * Compiled field -> the option's name as given (what `reload` reports applied).
   */
  static readonly LIVE_OPTIONS = { tickIntervalMs: 'tickInterval', agentRefreshMs: 'agentRefresh', jobAttempts: 'jobAttempts', jobRetentionMs: 'jobRetention' } as const;

  reload(options: CoordinatorOptions): readonly string[] {
    const live = Object.keys(Coordinator.LIVE_OPTIONS) as Array<keyof typeof Coordinator.LIVE_OPTIONS>;
    for (const key of live) this.options[key] = options[key];
    return Object.values(Coordinator.LIVE_OPTIONS);
  }

  get stats(): SchedulerStats | undefined {
    return this.scheduler?.stats;
  }

  start(): Promise<void> {
    return this.context.start(async () => {
      const { context: ctx, options } = this;
      const pool = ctx.mysql({ connectionLimit: 2 });
      this.queue = ctx.queue<PollJobData>(POLL_QUEUE);
      this.scheduler = new Scheduler(pool, this.queue, ctx.redis, { leaderLease: ctx.keys.leaderLease, schedule: ctx.keys.schedule }, options, ctx.logger);
      ctx.membership({
        intervalMs: options.heartbeatIntervalMs,
        details: () => ({ leader: ctx.leading, term: ctx.term, ...this.scheduler?.stats }),
      });
      this.leadership = await ctx.leader({
        key: ctx.keys.leaderLease,
        ttlMs: options.leaseTtlMs,
        terms: new TermStore(pool, ctx.keys.leaderTermRecord),
        standbyRetryMs: () => this.options.tickIntervalMs,
        onChange: () => this.context.metrics?.groupLag.reset(), // lag is the leader's to report
        work: { name: 'scheduling tick', intervalMs: () => this.options.tickIntervalMs, run: () => this.tick() },
      });
    });
  }

  /** One scheduling tick (the kit runs it only while leading). */
  private async tick(): Promise<void> {
    const result = await this.scheduler!.tick(Date.now(), this.leadership!.loop.lease);
    const metrics = this.context.metrics;
    if (!metrics) return;
    metrics.schedulerSkippedSlots.inc(result.skipped);
    const counts = await this.queue!.getJobCounts('waiting', 'delayed', 'active');
    for (const [state, n] of Object.entries(counts)) metrics.queueDepth.set({ state }, n);
    metrics.groupLag.reset(); // groups removed from the plan disappear
    for (const [group, lagMs] of this.scheduler!.lags(Date.now())) metrics.groupLag.set({ group }, lagMs / 1000);
  }

  /** Stops ticking, hands the lease over at once (and says so), unregisters, closes connections. Idempotent. */
  close(): Promise<void> {
    return this.context.close();
  }
}
