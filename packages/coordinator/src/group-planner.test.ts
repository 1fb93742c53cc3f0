import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { dueSlot, planGroups, type PlannedAgent } from './group-planner.js';
import { jumpHash } from './jump-hash.js';

const MINUTE = 60_000;

function agents(ids: number[], pollIntervalMs = MINUTE): PlannedAgent[] {
  return ids.map((id) => ({ id, pollIntervalMs }));
}

function membership(plan: ReturnType<typeof planGroups>): Map<number, string> {
  const map = new Map<number, string>();
  for (const group of plan) for (const id of group.agentIds) map.set(id, group.id);
  return map;
}

describe('planGroups', () => {
  it('places every agent in exactly one group of its frequency', () => {
    const plan = planGroups([...agents([1, 2, 3, 4, 5]), ...agents([6, 7], 300_000)], 2);
    const all = plan.flatMap((g) => g.agentIds).sort((a, b) => a - b);
    expect(all).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const group of plan) expect(group.id.startsWith(`f${group.pollIntervalMs}-`)).toBe(true);
    expect(plan.find((g) => g.agentIds.includes(6))!.pollIntervalMs).toBe(300_000);
  });

  it('moves only the added or removed agent while the group count stays', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 101, maxLength: 400 }), (ids) => {
        const groupSize = 50;
        const before = membership(planGroups(agents(ids.slice(1)), groupSize));
        const after = membership(planGroups(agents(ids), groupSize));
        if (Math.ceil((ids.length - 1) / groupSize) !== Math.ceil(ids.length / groupSize)) return; // count changed
        let moved = 0;
        for (const [id, group] of before) if (after.get(id) !== group) moved += 1;
        expect(moved).toBe(0);
      }),
      { numRuns: 50 },
    );
  });

  it('moves about 1/N of agents when a group is added', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => i + 1);
    const before = membership(planGroups(agents(ids), 1000)); // 10 groups
    const after = membership(planGroups(agents([...ids, 10_001]), 1000)); // 11 groups
    let moved = 0;
    for (const [id, group] of before) if (after.get(id) !== group) moved += 1;
    // Ideal is 1/11 of 10,000 = 909; allow statistical spread but far from a reshuffle.
    expect(moved).toBeGreaterThan(700);
    expect(moved).toBeLessThan(1150);
  });

  it('spreads groups over the interval instead of starting all at :00', () => {
    const plan = planGroups(agents(Array.from({ length: 400 }, (_, i) => i + 1)), 50);
    const offsets = plan.map((g) => g.offsetMs).sort((a, b) => a - b);
    expect(new Set(offsets).size).toBe(plan.length);
    expect(offsets[0]).toBe(0);
    expect(offsets.at(-1)!).toBeGreaterThan(MINUTE / 2);
    for (const o of offsets) expect(o).toBeLessThan(MINUTE);
  });

  it('keeps groups near the target size', () => {
    const plan = planGroups(agents(Array.from({ length: 5000 }, (_, i) => i + 1)), 50);
    expect(plan.length).toBe(100);
    for (const g of plan) expect(g.agentIds.length).toBeLessThan(100);
  });
});

describe('jumpHash', () => {
  it('is deterministic and within range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 5000 }), (key, buckets) => {
        const b = jumpHash(key, buckets);
        expect(b).toBeGreaterThanOrEqual(0);
        expect(b).toBeLessThan(buckets);
        expect(jumpHash(key, buckets)).toBe(b);
      }),
    );
  });
});

describe('dueSlot', () => {
  it('is the latest slot start at or before now', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3600 }), fc.integer({ min: 0, max: 3599 }), fc.integer({ min: 1e12, max: 2e12 }), (f, o, now) => {
        const group = { pollIntervalMs: f * 1000, offsetMs: (o % f) * 1000 };
        const slot = dueSlot(group, now);
        expect(slot).toBeLessThanOrEqual(now);
        expect(now - slot).toBeLessThan(group.pollIntervalMs);
        expect((slot - group.offsetMs) % group.pollIntervalMs).toBe(0);
      }),
    );
  });
});
