import { describe, expect, it } from '@jest/globals';
import { slotEntry } from './backpressure.js';
import { dueSlots } from './due-slots.js';
import type { PollGroup } from './group-planner.js';
import type { GroupSchedule } from './schedule-hash.js';

const MINUTE = 60_000;
const T = Date.UTC(2026, 0, 1);
const group = (index: number, offsetMs: number): PollGroup => ({ id: `f${MINUTE}-g${index}`, pollIntervalMs: MINUTE, offsetMs, agentIds: [index], costMs: 3 });
const handled = (slot: number): GroupSchedule => ({
  frequencyMs: MINUTE, offsetMs: 0, agents: 1, agentIds: [0], slot, enqueuedSlot: slot, skipped: 2, skippedSlot: null, term: 1,
});

describe('dueSlots', () => {
  it('is due: a group new to the schedule, or one whose latest slot is past the slot its entry handled', () => {
    const groups = [group(0, 0), group(1, 0), group(2, 0)];
    const schedule = new Map([[groups[1].id, handled(T)], [groups[2].id, handled(T - MINUTE)]]);
    const due = dueSlots(groups, schedule, T + 30_000, 10);
    expect(due.map((d) => [d.group.id, d.slot, d.previous?.slot])).toEqual([
      [groups[0].id, T, undefined],
      [groups[2].id, T, T - MINUTE],
    ]);
  });

  it('gives at most `max`, the most overdue first (the rest wait for the next ticks)', () => {
    const groups = [group(0, 40_000), group(1, 10_000), group(2, 30_000), group(3, 20_000)];
    const due = dueSlots(groups, new Map(), T + 50_000, 2);
    expect(due.map((d) => d.group.id)).toEqual([groups[1].id, groups[3].id]);
    expect(dueSlots(groups, new Map(), T + 50_000, 4)).toHaveLength(4);
  });
});

describe('slotEntry', () => {
  const due = { group: group(5, 0), slot: T + MINUTE, previous: handled(T) };

  it('records an enqueued slot as handled and enqueued, with the group as planned now', () => {
    expect(slotEntry(due, false, 7)).toEqual({
      frequencyMs: MINUTE, offsetMs: 0, agents: 1, agentIds: [5], slot: T + MINUTE, enqueuedSlot: T + MINUTE, skipped: 2, skippedSlot: null, term: 7, costMs: 3,
    });
  });

  it('records a skipped slot as handled, keeps the enqueued one and counts the skip', () => {
    expect(slotEntry(due, true, 7)).toMatchObject({ slot: T + MINUTE, enqueuedSlot: T, skipped: 3, skippedSlot: T + MINUTE });
    expect(slotEntry({ group: group(6, 0), slot: T }, true, 7)).toMatchObject({ enqueuedSlot: null, skipped: 1, skippedSlot: T });
  });
});
