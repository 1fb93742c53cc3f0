import type { Queue } from 'bullmq';
import { errorMessage, FENCED_HSET, pollJobId, type Logger, type PollJobData, type Pool, type Redis } from '@watched/core';
import { loadScheduledAgents } from './agent-directory.js';
import type { CoordinatorOptions } from './coordinator-options.js';
import { dueSlot, planGroups, type PollGroup } from './group-planner.js';

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
}

const BUSY_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);


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
  private agentsKey = '';
  private loadedAt = Number.NEGATIVE_INFINITY;
  private schedule = new Map<string, GroupSchedule>();
  private removed = new Set<string>();
  private scheduleTerm = 0;

  constructor(
    private readonly pool: Pool,
    private readonly queue: Queue<PollJobData>,
    private readonly redis: Redis,
    private readonly keys: { leaderLease: string; schedule: string },
    private readonly options: CoordinatorOptions,
    private readonly logger: Logger,
  ) {}

  /** The current plan (for status and tests). */
  get plan(): readonly PollGroup[] {
    return this.groups;
  }

  async tick(now: number, lease: LeaseView): Promise<TickResult> {
    if (lease.term !== this.scheduleTerm) await this.adoptSchedule(lease.term);
    if (now - this.loadedAt >= this.options.agentRefresh) {
      try {
        await this.reload(now);
      } catch (err) {
        // MySQL unreachable: keep scheduling the agents already known, try again at the next refresh.
        this.loadedAt = now;
        if (this.groups.length === 0) throw err;
        this.logger.warn(`re-reading c$agents failed, scheduling the ${this.stats.agents} known agents: ${errorMessage(err)}`);
      }
    }
    const due: Array<{ group: PollGroup; slot: number; previous?: GroupSchedule }> = [];
    for (const group of this.groups) {
      const slot = dueSlot(group, now);
      const previous = this.schedule.get(group.id);
      if (previous === undefined || slot > previous.slot) due.push({ group, slot, previous });
    }
    if (due.length === 0 && this.removed.size === 0) return { enqueued: 0, skipped: 0, refused: false };

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
      });
    });

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
    if (this.removed.size > 0) {
      await this.redis.hdel(this.keys.schedule, ...this.removed);
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
            removeOnComplete: { age: Math.ceil(this.options.jobRetention / 1000) },
            removeOnFail: { age: 24 * 3600 },
          },
        })),
      );
    }
    this.stats.enqueued += ready.length;
    this.stats.skipped += skipped;
    return { enqueued: ready.length, skipped, refused: false };
  }

  /** On a new term: start from the schedule the previous leader left (its last slots and skip counts). */
  private async adoptSchedule(term: number): Promise<void> {
    const raw = await this.redis.hgetall(this.keys.schedule);
    this.schedule = new Map(Object.entries(raw).map(([id, json]) => [id, JSON.parse(json) as GroupSchedule]));
    this.scheduleTerm = term;
    this.loadedAt = Number.NEGATIVE_INFINITY;
    this.agentsKey = '';
  }

  private async reload(now: number): Promise<void> {
    const agents = await loadScheduledAgents(this.pool);
    this.loadedAt = now;
    const key = agents.map((a) => `${a.id}:${a.frequencyMs}`).join(',');
    if (key === this.agentsKey) return;
    this.agentsKey = key;
    this.groups = planGroups(agents, this.options.groupSize);
    const ids = new Set(this.groups.map((g) => g.id));
    for (const id of this.schedule.keys()) {
      if (!ids.has(id)) {
        this.schedule.delete(id);
        this.removed.add(id);
      }
    }
    // A group whose members changed keeps its slots (same id) but reports its new size at its next slot.
    this.stats.agents = agents.length;
    this.stats.groups = this.groups.length;
    this.logger.info(`planned ${agents.length} agents into ${this.groups.length} groups`);
  }
}
