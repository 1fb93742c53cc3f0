import type { Queue } from 'bullmq';
import {
  errorMessage,
  POLL_QUEUE,
  type AdminRoute,
  TermStore,
  type Leadership,
  type PeriodicTask,
  type PollJobData,
  type Reloadable,
  type Service,
  type RoleContext,
} from '@watched/core';
import type { CoordinatorOptions } from './coordinator-options.js';
import { Scheduler, type SchedulerStats } from './scheduler.js';
import { agentsEndpoint } from './discovery/agents-endpoint.js';
import { Discovery, type DiscoveryStats } from './discovery/discovery.js';

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
  private discovery?: Discovery;
  private discoveryTask?: PeriodicTask;
  /** Write endpoints for the process's admin server (the http discovery source), built before start. */
  readonly adminRoutes: AdminRoute[];
  /** Our own copy, shared with the scheduler: `reload` changes some fields in place. */
  private readonly options: { -readonly [K in keyof CoordinatorOptions]: CoordinatorOptions[K] };

  /** `context` is this role's (`role: 'coordinator'`): its connections, logger, identity and metrics. */
  constructor(
    readonly context: RoleContext,
    options: CoordinatorOptions,
  ) {
    this.options = { ...options };
    // The endpoints exist from the start (the admin server takes them before the role starts); they answer once discovery is built.
    this.adminRoutes = agentsEndpoint(() => this.discovery, () => this.discoveryTask?.trigger());
  }

  /**
   * Options the scheduler reads at each use, so they change live on SIGHUP; the others (group size, lease) need a restart.
   * Compiled field -> the option's name as given (what `reload` reports applied).
   */
  static readonly LIVE_OPTIONS = { tickIntervalMs: 'tickInterval', agentRefreshMs: 'agentRefresh', jobAttempts: 'jobAttempts', jobRetentionMs: 'jobRetention' } as const;

  /** Discovery's options: every one changes live (sources rebuilt, then a pass at once: SIGHUP re-reads the sources). */
  static readonly DISCOVERY_OPTIONS = ['discoveryFile', 'discoveryDns', 'discoverySrv', 'discoveryDnsServer', 'discoveryHttp', 'discoveryInterval', 'discoveryGrace', 'discoveryFreq'] as const;

  reload(options: CoordinatorOptions): readonly string[] {
    const live = Object.keys(Coordinator.LIVE_OPTIONS) as Array<keyof typeof Coordinator.LIVE_OPTIONS>;
    for (const key of live) this.options[key] = options[key];
    this.options.discovery = options.discovery;
    this.discovery?.reload(options.discovery);
    return [...Object.values(Coordinator.LIVE_OPTIONS), ...Coordinator.DISCOVERY_OPTIONS];
  }

  get stats(): SchedulerStats | undefined {
    return this.scheduler?.stats;
  }

  /** Discovery's sources and last pass (undefined before start). */
  get discoveryStats(): DiscoveryStats | undefined {
    return this.discovery?.stats;
  }

  start(): Promise<void> {
    return this.context.start(async () => {
      const { context: ctx, options } = this;
      const pool = ctx.mysql({ connectionLimit: 2 });
      this.queue = ctx.queue<PollJobData>(POLL_QUEUE);
      this.scheduler = new Scheduler(pool, this.queue, ctx.redis, { leaderLease: ctx.keys.leaderLease, schedule: ctx.keys.schedule }, options, ctx.logger);
      const discovery = (this.discovery = ctx.adopt(
        'discovery',
        new Discovery(pool, ctx.keys.leaderLease, options.discovery, ctx.logger, ctx.metrics, () => this.discoveryTask?.trigger()),
        (d) => d.close(),
      ));
      ctx.membership({
        intervalMs: options.heartbeatIntervalMs,
        details: () => ({ leader: ctx.leading, term: ctx.term, ...this.scheduler?.stats, discovery: this.discovery?.stats }),
      });
      this.leadership = await ctx.leader({
        key: ctx.keys.leaderLease,
        ttlMs: options.leaseTtlMs,
        terms: new TermStore(pool, ctx.keys.leaderTermRecord),
        standbyRetryMs: () => this.options.tickIntervalMs,
        onChange: (leading) => {
          this.context.metrics?.groupLag.reset(); // lag (and discovery's gauges) are the leader's to report
          this.context.metrics?.discoveryAgents.reset();
          if (leading) this.discoveryTask?.trigger();
        },
        work: { name: 'scheduling tick', intervalMs: () => this.options.tickIntervalMs, run: () => this.tick() },
      });
      // Its own task, not a step of the tick: a first pass over thousands of new agents must not delay scheduling.
      this.discoveryTask = ctx.task({
        name: 'discovery pass',
        intervalMs: () => discovery.intervalMs,
        firstDelayMs: 0,
        run: () => this.discover(),
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

  /** One discovery pass, on the leader only; a pass refused by the fence (another leader's term) is said once and waits for the next. */
  private async discover(): Promise<void> {
    const lease = this.leadership?.loop.lease;
    if (!lease || !this.context.leading || !this.discovery) return;
    try {
      await this.discovery.pass(lease);
    } catch (err) {
      this.context.logger.warn(`discovery pass of term ${lease.term} wrote nothing: ${errorMessage(err)}`);
    }
  }

  /** Stops ticking, hands the lease over at once (and says so), unregisters, closes connections. Idempotent. */
  close(): Promise<void> {
    return this.context.close();
  }
}
