import type { Queue } from 'bullmq';
import { errorMessage, type Logger, type PollJobData, type Pool, type Redis } from '@watched/core';
import { AgentChangeProbe } from './agent-change-probe.js';
import { Backpressure } from './backpressure.js';
import type { CoordinatorOptions } from './coordinator-options.js';
import { CostBalancer } from './cost-balancer.js';
import { RetiredAgents } from './discovery/retired-agents.js';
import { dueSlots } from './due-slots.js';
import type { PlannedAgent, PollGroup } from './group-planner.js';
import { pollJobs } from './poll-jobs.js';
import { groupLagMs, ScheduleHash, type GroupSchedule, type LeaseView } from './schedule-hash.js';
import { WorkBudget } from './work-budget.js';

export interface SchedulerStats {
  agents: number;
  groups: number;
  enqueued: number;
  /** Slots not enqueued because the group's previous job was still waiting or running. */
  skipped: number;
  /** Ticks whose jobs were not enqueued because the lease was no longer ours. */
  refused: number;
}

export interface TickResult {
  enqueued: number;
  skipped: number;
  /** True when the lease was lost before enqueueing: nothing was written. */
  refused: boolean;
}

function sameIds(a: readonly number[] | undefined, b: readonly number[]): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Heavy work per tick, in agents handled (see WorkBudget): about 0.3 s of CPU
 * on this project's 2-core machine. A re-plan of a million agents takes a tick of its own.
 */
const TICK_WORK = 300_000;
/** A probe of c$agents counts as handling this share of the agents (it costs about half a re-plan). */
const PROBE_WORK_SHARE = 0.5;
/** Jobs enqueued per tick at most (about 0.3 s at a million agents; a quarter of it after a heavy step); more due groups wait for the next ticks, most overdue first. */
const MAX_ENQUEUES_PER_TICK = 2_000;
/** Schedule entries rewritten per tick for changed membership at most (the rest next tick). */
const MAX_REGROUPED_PER_TICK = 2_000;

/**
 * Turns `c$agents` into poll jobs: re-plans groups when the agents change
 * and, on each tick, enqueues every group whose next slot has started. Job
 * ids are `poll-<group>-<slot>`, so a slot enqueued again (a new leader, two
 * leaders for a moment) is the same job, not a second one.
 *
 * A tick is a sequence of steps, each its own method or class: adopt the
 * schedule a predecessor left (new term), refresh the view of `c$agents`
 * (less the agents discovery retired),
 * re-plan what changed, rebalance by cost (those four are the heavy steps,
 * bounded by the tick's WorkBudget), find the due slots, apply backpressure,
 * publish the schedule under the lease (fencing: a deposed leader waking up
 * late writes and enqueues nothing), enqueue.
 */
export class Scheduler {
  readonly stats: SchedulerStats = { agents: 0, groups: 0, enqueued: 0, skipped: 0, refused: 0 };
  private groups: PollGroup[] = [];
  private readonly probe: AgentChangeProbe;
  private readonly balancer: CostBalancer;
  private readonly schedule: ScheduleHash;
  private readonly backpressure: Backpressure;
  private readonly retired: RetiredAgents;
  /** The plan changed since the schedule hash was last written (see recordRegrouped). */
  private regrouped = false;
  private loadedAt = Number.NEGATIVE_INFINITY;
  /** After a failed read of c$agents, the next attempt waits until then (a rebuild would otherwise retry every tick). */
  private retryAt = Number.NEGATIVE_INFINITY;
  /** Agents read after a change, to be planned at the next step (in the same tick while budget is left). */
  private pending?: PlannedAgent[];
  private lastWork?: WorkBudget;

  constructor(
    pool: Pool,
    private readonly queue: Queue<PollJobData>,
    redis: Redis,
    keys: { leaderLease: string; schedule: string },
    private readonly options: CoordinatorOptions,
    private readonly logger: Logger,
  ) {
    this.probe = new AgentChangeProbe(pool);
    this.retired = new RetiredAgents(pool);
    this.balancer = new CostBalancer(pool, options, logger);
    this.schedule = new ScheduleHash(redis, keys, logger);
    this.backpressure = new Backpressure(queue, logger);
  }

  /** Lag of every group in the schedule (the leader's `watched_group_lag_seconds`). */
  lags(now: number): Array<[string, number]> {
    return [...this.schedule.all()].map(([id, entry]) => [id, groupLagMs(entry, now)]);
  }

  /** The current plan (for status and tests). */
  get plan(): readonly PollGroup[] {
    return this.groups;
  }

  /** The heavy steps the last tick ran (`adopt`, `seed`, `probe`, `read`, `plan`, `costs`, `rebalance`; bench/schedule.mjs). */
  get lastSteps(): readonly string[] {
    return this.lastWork?.steps ?? [];
  }

  async tick(now: number, lease: LeaseView): Promise<TickResult> {
    const work = new WorkBudget(TICK_WORK);
    this.lastWork = work;
    if (lease.term !== this.schedule.term) await this.adoptSchedule(lease.term, work);
    if (this.pending === undefined && work.left && this.refreshDue(now)) await this.refreshAgents(now, work);
    if (this.pending !== undefined && work.left) this.replan(this.pending, work);
    if (work.left) await this.rebalance(now, work);
    // After a heavy step, fewer: the tick has spent most of its time already.
    const due = dueSlots(this.groups, this.schedule, now, work.left ? MAX_ENQUEUES_PER_TICK : MAX_ENQUEUES_PER_TICK / 4);
    if (due.length === 0 && !this.schedule.hasRemovals && !this.regrouped) return { enqueued: 0, skipped: 0, refused: false };

    const { ready, skipped, entries } = await this.backpressure.check(due, lease.term);
    const regroupRecorded = this.regrouped ? this.recordRegrouped(entries, lease.term) : true;
    // Fence: nothing is enqueued unless the lease is still ours, on our clock and in Redis.
    if (!(await this.schedule.publish(entries, lease, this.groups))) {
      this.stats.refused += 1;
      this.logger.warn(`lease of term ${lease.term} lost before enqueueing ${ready.length} jobs: nothing enqueued`);
      return { enqueued: 0, skipped: 0, refused: true };
    }
    this.regrouped = !regroupRecorded;
    if (ready.length > 0) await this.queue.addBulk(pollJobs(ready, lease.term, this.options));
    this.stats.enqueued += ready.length;
    this.stats.skipped += skipped;
    return { enqueued: ready.length, skipped, refused: false };
  }

  /** The view of c$agents needs a step: it is being built, or the refresh interval has passed (and no failed read is being waited out). */
  private refreshDue(now: number): boolean {
    return now >= this.retryAt && (this.probe.rebuilding || now - this.loadedAt >= this.options.agentRefreshMs);
  }

  /**
   * One step of the probe: a cheap probe of c$agents, or a step of building
   * its whole view (the first read, a seed); what changed is planned by
   * `replan`, in this tick if budget is left. MySQL unreachable: the agents
   * already known are scheduled on, and the read tried again at the next
   * refresh (with none known, the tick fails).
   */
  private async refreshAgents(now: number, work: WorkBudget): Promise<void> {
    try {
      // Agents retired or revived by discovery: the whole (unchanged) view is planned again without the retired.
      if (await this.retired.refresh()) this.probe.invalidate();
      const changed = await this.probe.changes();
      const agents = changed && this.retired.without(changed);
      if (!this.probe.rebuilding) this.loadedAt = now;
      const probed = this.probe.step.startsWith('probe');
      work.spend((probed ? this.stats.agents * PROBE_WORK_SHARE : 0) + this.probe.rowsRead, this.probe.step);
      this.pending = agents;
    } catch (err) {
      this.retryAt = now + this.options.agentRefreshMs;
      if (this.groups.length === 0) throw err;
      this.logger.warn(`re-reading c$agents failed, scheduling the ${this.stats.agents} known agents: ${errorMessage(err)}`);
    }
  }

  private replan(agents: PlannedAgent[], work: WorkBudget): void {
    this.pending = undefined;
    this.groups = this.balancer.plan(agents, this.groups);
    work.spend(agents.length, 'plan');
    this.regrouped = true;
    this.schedule.retain(new Set(this.groups.map((g) => g.id)));
    // A group whose members changed keeps its slots (same id); its schedule entry is rewritten with the next tick.
    this.stats.agents = agents.length;
    this.stats.groups = this.groups.length;
    this.logger.info(`planned ${agents.length} agents into ${this.groups.length} groups`);
  }

  /** The next steps of a rebalance by measured cost (CostBalancer), while the budget lasts. */
  private async rebalance(now: number, work: WorkBudget): Promise<void> {
    const rebalanced = await this.balancer.step(now, this.groups, work);
    if (rebalanced) [this.groups, this.regrouped] = [rebalanced, true];
  }

  /**
   * Groups whose members changed (a re-plan, a rebalance) get their
   * schedule entry with this tick, not at their next slot, so the hash is the
   * assignment at all times (status, a new leader adopting it).
   */
  private recordRegrouped(next: Map<string, GroupSchedule>, term: number): boolean {
    let budget = MAX_REGROUPED_PER_TICK;
    for (const group of this.groups) {
      const entry = this.schedule.get(group.id);
      // Membership only: costs drift at every re-read and reach the hash with each group's next slot.
      if (!entry || next.has(group.id) || sameIds(entry.agentIds, group.agentIds)) continue;
      // Bounded like the enqueues (a fresh plan's first rebalance moves agents of most groups): the rest next tick.
      if (budget-- <= 0) return false;
      next.set(group.id, { ...entry, agents: group.agentIds.length, agentIds: group.agentIds, costMs: group.costMs, term });
    }
    return true;
  }

  /**
   * On a new term: start from the schedule the previous leader left (its
   * last slots, skip counts and assignment). Its groups are scheduled at once,
   * in this tick, so a failover costs no more than the lease's expiry; the
   * agent view is seeded from them at the next tick and `c$agents`
   * probed at the one after, so only what changed meanwhile is re-planned.
   * Without a usable schedule (fresh install, Redis emptied), agents are read
   * and planned from scratch.
   */
  private async adoptSchedule(term: number, work: WorkBudget): Promise<void> {
    this.groups = await this.schedule.adopt(term);
    this.loadedAt = Number.NEGATIVE_INFINITY;
    this.regrouped = false;
    this.pending = undefined;
    const agents = this.groups.reduce((n, g) => n + g.agentIds.length, 0);
    this.stats.agents = agents;
    this.stats.groups = this.groups.length;
    // The adopted assignment as the probe's view (built over the next ticks): the next probe reads only what differs from it.
    if (this.groups.length > 0) this.probe.seed(this.groups);
    else this.probe.invalidate();
    if (agents > 0) work.spend(agents, 'adopt');
    if (this.groups.length > 0) this.logger.info(`term ${term}: scheduling the ${agents} agents in ${this.groups.length} groups the previous leader left`);
  }
}
