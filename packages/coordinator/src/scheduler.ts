import type { Queue } from 'bullmq';
import { errorMessage, FENCED_HSET, pollJobId, type Logger, type PollJobData, type Pool, type Redis } from '@watched/core';
import { AgentChangeProbe } from './agent-change-probe.js';
import type { CoordinatorOptions } from './coordinator-options.js';
import { dueSlot, type PlannedAgent, type PollGroup } from './group-planner.js';
import { CostBalancer } from './cost-balancer.js';
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

/** What the scheduler needs of the leader lease (`LeaderLease`). */
export interface LeaseView {
  readonly term: number;
  /** `<nodeId>:<term>` while held. */
  readonly token: string | undefined;
  isLeader(): boolean;
}

/** One field of the schedule hash (`<prefix>:schedule`), per group; read by `watched status`. */
export interface GroupSchedule {
  frequencyMs: number;
  offsetMs: number;
  agents: number;
  /** The group's members (`c$agents.id`): the assignment, visible in Redis. */
  agentIds: number[];
  /** Latest slot handled (enqueued, or skipped when `skippedSlot === slot`). */
  slot: number;
  /** Latest slot actually enqueued. */
  enqueuedSlot: number | null;
  /** Slots skipped by backpressure, over the life of the installation (carried across terms). */
  skipped: number;
  skippedSlot: number | null;
  /** Term of the leader that wrote this entry. */
  term: number;
  /** Sum of the members' measured poll cost in ms (group-balancer.ts); absent in entries of older versions. */
  costMs?: number;
}

function sameIds(a: readonly number[] | undefined, b: readonly number[]): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

/** How far a group's latest enqueued slot is behind the slot due at `now` (0: on time). */
export function groupLagMs(entry: Pick<GroupSchedule, 'frequencyMs' | 'offsetMs' | 'enqueuedSlot'>, now: number): number {
  const due = dueSlot(entry, now);
  return entry.enqueuedSlot === null ? due - entry.offsetMs : Math.max(0, due - entry.enqueuedSlot);
}

const BUSY_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

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
 * Fencing: right before enqueueing, the tick writes the groups' schedule
 * with a script that checks the lease is still this leader's
 * (`FENCED_HSET`); if not (a deposed leader waking up late), it enqueues
 * nothing. A new leader starts from the schedule its predecessor wrote, so
 * backpressure and skip counts carry over a failover.
 */
export class Scheduler {
  readonly stats: SchedulerStats = { agents: 0, groups: 0, enqueued: 0, skipped: 0, refused: 0 };
  private groups: PollGroup[] = [];
  private readonly directory: AgentChangeProbe;
  private readonly balancer: CostBalancer;
  /** The plan changed since the schedule hash was last written (see recordRegrouped). */
  private regrouped = false;
  private loadedAt = Number.NEGATIVE_INFINITY;
  /** After a failed read of c$agents, the next attempt waits until then (a rebuild would otherwise retry every tick). */
  private retryAt = Number.NEGATIVE_INFINITY;
  private schedule = new Map<string, GroupSchedule>();
  private removed = new Set<string>();
  private scheduleTerm = 0;
  /** Agents read after a change, to be planned at the next step (in the same tick while budget is left). */
  private pending?: PlannedAgent[];
  private lastWork?: WorkBudget;

  constructor(
    private readonly pool: Pool,
    private readonly queue: Queue<PollJobData>,
    private readonly redis: Redis,
    private readonly keys: { leaderLease: string; schedule: string },
    private readonly options: CoordinatorOptions,
    private readonly logger: Logger,
  ) {
    this.directory = new AgentChangeProbe(pool);
    this.balancer = new CostBalancer(pool, options, logger);
  }

  /** Lag of every group in the schedule (the leader's `watched_group_lag_seconds`). */
  lags(now: number): Array<[string, number]> {
    return [...this.schedule.entries()].map(([id, entry]) => [id, groupLagMs(entry, now)]);
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
    if (lease.term !== this.scheduleTerm) await this.adoptSchedule(lease.term, work);
    const refreshDue = now >= this.retryAt && (this.directory.rebuilding || now - this.loadedAt >= this.options.agentRefreshMs);
    if (this.pending === undefined && work.left && refreshDue) {
      try {
        await this.refresh(now, work);
      } catch (err) {
        // MySQL unreachable: keep scheduling the agents already known, try again at the next refresh.
        this.retryAt = now + this.options.agentRefreshMs;
        if (this.groups.length === 0) throw err;
        this.logger.warn(`re-reading c$agents failed, scheduling the ${this.stats.agents} known agents: ${errorMessage(err)}`);
      }
    }
    if (this.pending !== undefined && work.left) this.replan(this.pending, work);
    if (work.left) {
      const rebalanced = await this.balancer.step(now, this.groups, work);
      if (rebalanced) [this.groups, this.regrouped] = [rebalanced, true];
    }
    let due: Array<{ group: PollGroup; slot: number; previous?: GroupSchedule }> = [];
    for (const group of this.groups) {
      const slot = dueSlot(group, now);
      const previous = this.schedule.get(group.id);
      if (previous === undefined || slot > previous.slot) due.push({ group, slot, previous });
    }
    // After a heavy step, fewer: the tick has spent most of its time already.
    const maxEnqueues = work.left ? MAX_ENQUEUES_PER_TICK : MAX_ENQUEUES_PER_TICK / 4;
    if (due.length > maxEnqueues) {
      // A fresh install (every group due at once) or a long outage: the most overdue first, the rest at the next ticks.
      due.sort((a, b) => a.slot - b.slot);
      due = due.slice(0, maxEnqueues);
    }
    if (due.length === 0 && this.removed.size === 0 && !this.regrouped) return { enqueued: 0, skipped: 0, refused: false };

    // Backpressure: a group whose previous job is still waiting or running gets no new one.
    const states = await Promise.all(
      due.map(({ group, previous }) =>
        previous?.enqueuedSlot == null ? Promise.resolve('unknown') : this.queue.getJobState(pollJobId(group.id, previous.enqueuedSlot)),
      ),
    );
    const next = new Map<string, GroupSchedule>();
    const ready: typeof due = [];
    let skipped = 0;
    due.forEach((entry, i) => {
      const { group, slot, previous } = entry;
      const busy = BUSY_STATES.has(states[i]);
      if (busy) {
        skipped += 1;
        this.logger.warn(`group ${group.id} is still busy with slot ${previous!.enqueuedSlot}: skipping slot ${slot}`);
      } else {
        ready.push(entry);
      }
      next.set(group.id, {
        frequencyMs: group.frequencyMs,
        offsetMs: group.offsetMs,
        agents: group.agentIds.length,
        agentIds: group.agentIds,
        slot,
        enqueuedSlot: busy ? (previous?.enqueuedSlot ?? null) : slot,
        skipped: (previous?.skipped ?? 0) + (busy ? 1 : 0),
        skippedSlot: busy ? slot : (previous?.skippedSlot ?? null),
        term: lease.term,
        costMs: group.costMs,
      });
    });
    const regroupRecorded = this.regrouped ? this.recordRegrouped(next, lease.term) : true;

    // Fence: nothing is enqueued unless the lease is still ours, on our clock and in Redis.
    const token = lease.token;
    const fields: Record<string, string> = {};
    for (const [id, entry] of next) fields[id] = JSON.stringify(entry);
    const written =
      token !== undefined &&
      lease.isLeader() &&
      Number(await this.redis.eval(FENCED_HSET, 2, this.keys.leaderLease, this.keys.schedule, token, JSON.stringify(fields))) === 1;
    if (!written) {
      this.stats.refused += 1;
      this.logger.warn(`lease of term ${lease.term} lost before enqueueing ${ready.length} jobs: nothing enqueued`);
      return { enqueued: 0, skipped: 0, refused: true };
    }
    this.regrouped = !regroupRecorded;
    if (this.removed.size > 0) {
      // Not a group planned again under the same id meanwhile (its entry was just written).
      const planned = new Set(this.groups.map((g) => g.id));
      const gone = [...this.removed].filter((id) => !planned.has(id));
      if (gone.length > 0) await this.redis.hdel(this.keys.schedule, ...gone);
      this.removed.clear();
    }
    for (const [id, entry] of next) this.schedule.set(id, entry);

    if (ready.length > 0) {
      await this.queue.addBulk(
        ready.map(({ group, slot }) => ({
          name: 'poll',
          data: { group: group.id, slot, agentIds: group.agentIds, term: lease.term },
          opts: {
            jobId: pollJobId(group.id, slot),
            attempts: this.options.jobAttempts,
            backoff: { type: 'exponential', delay: 1000 },
            removeOnComplete: { age: Math.ceil(this.options.jobRetentionMs / 1000) },
            removeOnFail: { age: 24 * 3600 },
          },
        })),
      );
    }
    this.stats.enqueued += ready.length;
    this.stats.skipped += skipped;
    return { enqueued: ready.length, skipped, refused: false };
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
   * agent directory is seeded from them at the next tick and `c$agents`
   * probed at the one after, so only what changed meanwhile is re-planned.
   * Without a usable schedule (fresh install, Redis emptied), agents are read
   * and planned from scratch.
   */
  private async adoptSchedule(term: number, work: WorkBudget): Promise<void> {
    const raw = await this.redis.hgetall(this.keys.schedule);
    this.schedule = new Map();
    this.removed.clear();
    for (const [id, json] of Object.entries(raw)) {
      const entry = parseEntry(json);
      if (entry) this.schedule.set(id, entry);
      else {
        this.logger.error(`schedule entry ${id} is not a group's schedule: ignored (its agents are planned again): ${json.slice(0, 200)}`);
        this.removed.add(id);
      }
    }
    this.scheduleTerm = term;
    this.loadedAt = Number.NEGATIVE_INFINITY;
    this.groups = adoptedGroups(this.schedule);
    this.regrouped = false;
    this.pending = undefined;
    const agents = this.groups.reduce((n, g) => n + g.agentIds.length, 0);
    this.stats.agents = agents;
    this.stats.groups = this.groups.length;
    // The adopted assignment as the directory's view (built over the next ticks): the next probe reads only what differs from it.
    if (this.groups.length > 0) this.directory.seed(this.groups);
    else this.directory.invalidate();
    if (agents > 0) work.spend(agents, 'adopt');
    if (this.groups.length > 0) this.logger.info(`term ${term}: scheduling the ${agents} agents in ${this.groups.length} groups the previous leader left`);
  }

  /**
   * One step of the directory: a cheap probe of c$agents, or a step of
   * building its whole view (the first read, a seed); what changed is planned
   * by `replan`, in this tick if budget is left.
   */
  private async refresh(now: number, work: WorkBudget): Promise<void> {
    const agents = await this.directory.changes();
    if (!this.directory.rebuilding) this.loadedAt = now;
    const probed = this.directory.step.startsWith('probe');
    work.spend((probed ? this.stats.agents * PROBE_WORK_SHARE : 0) + this.directory.rowsRead, this.directory.step);
    this.pending = agents;
  }

  private replan(agents: PlannedAgent[], work: WorkBudget): void {
    this.pending = undefined;
    this.groups = this.balancer.plan(agents, this.groups);
    work.spend(agents.length, 'plan');
    this.regrouped = true;
    const ids = new Set(this.groups.map((g) => g.id));
    for (const id of this.schedule.keys()) {
      if (!ids.has(id)) {
        this.schedule.delete(id);
        this.removed.add(id);
      }
    }
    // A group whose members changed keeps its slots (same id); its schedule entry is rewritten with the next tick.
    this.stats.agents = agents.length;
    this.stats.groups = this.groups.length;
    this.logger.info(`planned ${agents.length} agents into ${this.groups.length} groups`);
  }
}

/** A schedule hash field, or undefined when it is not JSON or lacks what scheduling reads (frequency, offset, slot). */
function parseEntry(json: string): GroupSchedule | undefined {
  let entry: unknown;
  try {
    entry = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Partial<GroupSchedule>;
  const valid = Number.isInteger(e.frequencyMs) && e.frequencyMs! > 0 && Number.isInteger(e.offsetMs) && Number.isFinite(e.slot);
  return valid ? (e as GroupSchedule) : undefined;
}

/** The groups a schedule hash describes (entries of older versions without `agentIds` are left out), ordered as planned. */
function adoptedGroups(schedule: ReadonlyMap<string, GroupSchedule>): PollGroup[] {
  const groups: PollGroup[] = [];
  for (const [id, e] of schedule) {
    if (Array.isArray(e.agentIds) && e.agentIds.every((a) => Number.isInteger(a))) {
      groups.push({ id, frequencyMs: e.frequencyMs, offsetMs: e.offsetMs, agentIds: e.agentIds, costMs: Number(e.costMs ?? 0) });
    }
  }
  return groups.sort((a, b) => a.frequencyMs - b.frequencyMs || a.offsetMs - b.offsetMs);
}
