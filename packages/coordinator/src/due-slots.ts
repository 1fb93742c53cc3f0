import { dueSlot, type PollGroup } from './group-planner.js';
import type { GroupSchedule } from './schedule-hash.js';

/** A group whose next slot has started, with its schedule entry so far (none for a group new to the schedule). */
export interface DueSlot {
  group: PollGroup;
  slot: number;
  previous?: GroupSchedule;
}

/**
 * The groups whose latest slot at `now` is past the slot their schedule
 * entry last handled, at most `max` of them: with more (a fresh install,
 * every group due at once, or a long outage) the most overdue first, the
 * rest at the next ticks.
 */
export function dueSlots(groups: readonly PollGroup[], schedule: { get(groupId: string): GroupSchedule | undefined }, now: number, max: number): DueSlot[] {
  let due: DueSlot[] = [];
  for (const group of groups) {
    const slot = dueSlot(group, now);
    const previous = schedule.get(group.id);
    if (previous === undefined || slot > previous.slot) due.push({ group, slot, previous });
  }
  if (due.length > max) {
    due.sort((a, b) => a.slot - b.slot);
    due = due.slice(0, max);
  }
  return due;
}
