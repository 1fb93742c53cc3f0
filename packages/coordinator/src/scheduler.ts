import type { Queue } from 'bullmq';
import { pollJobId, type Logger, type PollJobData, type Pool } from '@watched/core';
import { loadScheduledAgents } from './agent-directory.js';
import type { CoordinatorOptions } from './coordinator-options.js';
import { dueSlot, planGroups, type PollGroup } from './group-planner.js';

export interface SchedulerStats {
  agents: number;
  groups: number;
  enqueued: number;
  /** Slots not enqueued because the group's previous job was still waiting or running. */
  skipped: number;
}

export interface TickResult {
  enqueued: number;
  skipped: number;
}

const BUSY_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

/**
 * Turns `c$agents` into poll jobs: re-plans groups when the agents change
 * and, on each tick, enqueues every group whose next slot has started. Job
 * ids are `poll-<group>-<slot>`, so a slot enqueued again (a new leader, two
 * leaders for a moment) is the same job, not a second one.
 */
export class Scheduler {
  readonly stats: SchedulerStats = { agents: 0, groups: 0, enqueued: 0, skipped: 0 };
  private groups: PollGroup[] = [];
  private agentsKey = '';
  private loadedAt = Number.NEGATIVE_INFINITY;
  private readonly lastSlot = new Map<string, number>();

  constructor(
    private readonly pool: Pool,
    private readonly queue: Queue<PollJobData>,
    private readonly options: CoordinatorOptions,
    private readonly logger: Logger,
  ) {}

  /** The current plan (for status and tests). */
  get plan(): readonly PollGroup[] {
    return this.groups;
  }

  async tick(now: number, term: number): Promise<TickResult> {
    if (now - this.loadedAt >= this.options.agentRefresh) await this.reload(now);
    const due: Array<{ group: PollGroup; slot: number }> = [];
    for (const group of this.groups) {
      const slot = dueSlot(group, now);
      if (slot > (this.lastSlot.get(group.id) ?? Number.NEGATIVE_INFINITY)) due.push({ group, slot });
    }
    if (due.length === 0) return { enqueued: 0, skipped: 0 };

    const ready: typeof due = [];
    let skipped = 0;
    await Promise.all(
      due.map(async (entry) => {
        const previous = this.lastSlot.get(entry.group.id);
        this.lastSlot.set(entry.group.id, entry.slot);
        if (previous !== undefined) {
          const state = await this.queue.getJobState(pollJobId(entry.group.id, previous));
          if (BUSY_STATES.has(state)) {
            skipped += 1;
            this.logger.warn(`group ${entry.group.id} is still busy with slot ${previous}: skipping slot ${entry.slot}`);
            return;
          }
        }
        ready.push(entry);
      }),
    );
    if (ready.length > 0) {
      await this.queue.addBulk(
        ready.map(({ group, slot }) => ({
          name: 'poll',
          data: { group: group.id, slot, agentIds: group.agentIds, term },
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
    return { enqueued: ready.length, skipped };
  }

  private async reload(now: number): Promise<void> {
    const agents = await loadScheduledAgents(this.pool);
    this.loadedAt = now;
    const key = agents.map((a) => `${a.id}:${a.frequencyMs}`).join(',');
    if (key === this.agentsKey) return;
    this.agentsKey = key;
    this.groups = planGroups(agents, this.options.groupSize);
    this.stats.agents = agents.length;
    this.stats.groups = this.groups.length;
    this.logger.info(`planned ${agents.length} agents into ${this.groups.length} groups`);
  }
}
