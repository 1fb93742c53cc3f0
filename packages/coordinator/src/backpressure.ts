import type { Queue } from 'bullmq';
import { pollJobId, type Logger, type PollJobData } from '@watched/core';
import type { DueSlot } from './due-slots.js';
import type { GroupSchedule } from './schedule-hash.js';

const BUSY_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

/** Due slots after backpressure: those to enqueue, how many were skipped, and every due group's new schedule entry. */
export interface CheckedSlots {
  ready: DueSlot[];
  skipped: number;
  entries: Map<string, GroupSchedule>;
}

/** The schedule entry of a due slot, enqueued (not busy) or skipped (busy), written by the leader of `term`. */
export function slotEntry({ group, slot, previous }: DueSlot, busy: boolean, term: number): GroupSchedule {
  return {
    frequencyMs: group.pollIntervalMs,
    offsetMs: group.offsetMs,
    agents: group.agentIds.length,
    agentIds: group.agentIds,
    slot,
    enqueuedSlot: busy ? (previous?.enqueuedSlot ?? null) : slot,
    skipped: (previous?.skipped ?? 0) + (busy ? 1 : 0),
    skippedSlot: busy ? slot : (previous?.skippedSlot ?? null),
    term,
    costMs: group.costMs,
  };
}

/**
 * Backpressure: a group whose previous job is still waiting or running gets
 * no new one; the skip is counted in its schedule entry (visible as lag).
 */
export class Backpressure {
  constructor(
    private readonly queue: Pick<Queue<PollJobData>, 'getJobState'>,
    private readonly logger: Logger,
  ) {}

  async check(due: readonly DueSlot[], term: number): Promise<CheckedSlots> {
    const states = await Promise.all(
      due.map(({ group, previous }) =>
        previous?.enqueuedSlot == null ? Promise.resolve('unknown') : this.queue.getJobState(pollJobId(group.id, previous.enqueuedSlot)),
      ),
    );
    const entries = new Map<string, GroupSchedule>();
    const ready: DueSlot[] = [];
    let skipped = 0;
    due.forEach((entry, i) => {
      const busy = BUSY_STATES.has(states[i]);
      if (busy) {
        skipped += 1;
        this.logger.warn(`group ${entry.group.id} is still busy with slot ${entry.previous!.enqueuedSlot}: skipping slot ${entry.slot}`);
      } else {
        ready.push(entry);
      }
      entries.set(entry.group.id, slotEntry(entry, busy, term));
    });
    return { ready, skipped, entries };
  }
}
