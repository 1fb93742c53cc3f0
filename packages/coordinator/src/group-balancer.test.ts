import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { AgentCosts } from './agent-costs.js';
import { rebalanceGroups } from './group-balancer.js';
import { planGroups, type PlannedAgent, type PollGroup } from './group-planner.js';

const MINUTE = 60_000;

function agents(ids: number[], pollIntervalMs = MINUTE): PlannedAgent[] {
  return ids.map((id) => ({ id, pollIntervalMs }));
}

function membership(plan: readonly PollGroup[]): Map<number, string> {
  const map = new Map<number, string>();
  for (const group of plan) for (const id of group.agentIds) map.set(id, group.id);
  return map;
}

function moved(before: readonly PollGroup[], after: readonly PollGroup[], except: number[] = []): number {
  const a = membership(after);
  let n = 0;
  for (const [id, group] of membership(before)) if (!except.includes(id) && a.has(id) && a.get(id) !== group) n += 1;
  return n;
}

/** Agent ids with a measured cost each (ms), heavy-tailed like real fleets (a few slow agents). */
const fleet = (min: number, max: number) =>
  fc.uniqueArray(fc.integer({ min: 1, max: 1_000_000 }), { minLength: min, maxLength: max }).chain((ids) =>
    fc.array(fc.oneof(fc.integer({ min: 5, max: 200 }), fc.integer({ min: 200, max: 5000 })), { minLength: ids.length, maxLength: ids.length }).map((costs) => ({
      ids,
      costs: AgentCosts.from(ids.map((id, i) => [id, costs[i]] as const)),
    })),
  );

/** A balanced plan, as the leader keeps it: planned, then rebalanced by cost. */
function balancedPlan(ids: number[], costs: AgentCosts, groupSize: number): PollGroup[] {
  const plan = planGroups(agents(ids), groupSize, { costs });
  return rebalanceGroups(plan, { costs, groupSize, tolerance: 0.1, maxMoves: Number.POSITIVE_INFINITY }).groups;
}

function spread(plan: readonly PollGroup[]): { max: number; mean: number } {
  const costs = plan.map((g) => g.costMs);
  return { max: Math.max(...costs), mean: costs.reduce((a, b) => a + b, 0) / costs.length };
}

describe('planGroups from a previous plan (stability)', () => {
  it('moves only the added agent, and nothing when one is removed, while the group count stays', () => {
    fc.assert(
      fc.property(fleet(101, 400), ({ ids, costs }) => {
        const groupSize = 50;
        const base = ids.slice(1);
        if (Math.ceil(base.length / groupSize) !== Math.ceil(ids.length / groupSize)) return; // a group added: next test
        const before = balancedPlan(base, costs, groupSize);
        const added = planGroups(agents(ids), groupSize, { previous: before, costs });
        expect(moved(before, added)).toBe(0);
        expect(membership(added).has(ids[0])).toBe(true);
        // Back to the same count: remove another agent.
        const removed = planGroups(agents(ids.filter((id) => id !== base[0])), groupSize, { previous: added, costs });
        expect(moved(added, removed)).toBe(0);
        expect(membership(removed).has(base[0])).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  it('places an added agent in the cheapest group', () => {
    const ids = Array.from({ length: 100 }, (_, i) => i + 1);
    const costs = AgentCosts.from([...ids.map((id) => [id, id <= 10 ? 100 : 10] as const), [101, 10]]); // a heavy group or two
    const before = planGroups(agents(ids), 50, { costs });
    const after = planGroups(agents([...ids, 101]), 50, { previous: before, costs });
    const cheapest = [...before].sort((a, b) => a.costMs - b.costMs)[0].id;
    expect(membership(after).get(101)).toBe(cheapest);
  });

  it('moves about 1/N of the agents when a group is added, and keeps every agent once', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => i + 1);
    const costs = AgentCosts.from(ids.map((id) => [id, 10 + (id % 7) * 30] as const));
    const before = balancedPlan(ids, costs, 1000); // 10 groups
    const after = planGroups(agents([...ids, 10_001]), 1000, { previous: before, costs }); // 11 groups
    expect(after).toHaveLength(11);
    const n = moved(before, after);
    // Ideal is 1/11 of 10,000 = 909: far from a reshuffle.
    expect(n).toBeGreaterThan(700);
    expect(n).toBeLessThan(1150);
    expect(after.flatMap((g) => g.agentIds).sort((a, b) => a - b)).toEqual([...ids, 10_001]);
  });

  it('re-places only the agents of a dropped group when the count shrinks', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => i + 1);
    const before = planGroups(agents(ids), 100); // 10 groups
    const kept = ids.slice(0, 900); // 9 groups
    const after = planGroups(agents(kept), 100, { previous: before });
    const dropped = new Set(before.find((g) => g.id === `f${MINUTE}-g9`)!.agentIds);
    let others = 0;
    const a = membership(after);
    for (const [id, group] of membership(before)) if (a.has(id) && a.get(id) !== group && !dropped.has(id)) others += 1;
    expect(others).toBe(0);
    expect(after).toHaveLength(9);
    expect(after.flatMap((g) => g.agentIds).sort((x, y) => x - y)).toEqual(kept);
  });
});

describe('rebalanceGroups (balance by measured cost)', () => {
  it('brings every group within the tolerance, or within one agent of the mean, keeping each agent once', () => {
    fc.assert(
      fc.property(fleet(50, 600), fc.integer({ min: 5, max: 60 }), ({ ids, costs }, groupSize) => {
        const plan = planGroups(agents(ids), groupSize, { costs });
        const { groups } = rebalanceGroups(plan, { costs, groupSize, tolerance: 0.1, maxMoves: Number.POSITIVE_INFINITY });
        expect(groups.map((g) => g.id)).toEqual(plan.map((g) => g.id)); // ids and offsets stay
        expect(groups.flatMap((g) => g.agentIds).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
        const { max, mean } = spread(groups);
        const largest = Math.max(...costs.of(ids));
        expect(max).toBeLessThanOrEqual(Math.max(mean * 1.1, mean + largest) + 1e-6);
        for (const g of groups) expect(g.costMs).toBeCloseTo(g.agentIds.reduce((s, id) => s + costs.get(id)!, 0), 6);
        expect(groups.reduce((s, g) => s + g.costMs, 0)).toBeCloseTo(plan.reduce((s, g) => s + g.costMs, 0), 6);
      }),
      { numRuns: 60 },
    );
  });

  it('swaps with the lightest group when it is full, rather than leaving the heaviest as it is', () => {
    // Group size 3 (cap 6): the lightest group is full of cheap agents, so the heaviest can only swap with it.
    const costs = AgentCosts.from([...[1, 2, 3, 4, 5, 6].map((id) => [id, 1] as const), ...[7, 8, 9, 10, 11].map((id) => [id, 10] as const)]);
    const group = (index: number, agentIds: number[]): PollGroup => ({
      id: `f${MINUTE}-g${index}`,
      pollIntervalMs: MINUTE,
      offsetMs: (index * MINUTE) / 4,
      agentIds,
      costMs: agentIds.reduce((s, id) => s + costs.get(id)!, 0),
    });
    const plan = [group(0, [1, 2, 3, 4, 5, 6]), group(1, [7, 8, 9]), group(2, [10]), group(3, [11])]; // 6, 30, 10, 10: mean 14
    const { groups, moved: n } = rebalanceGroups(plan, { costs, groupSize: 3, tolerance: 0.1, maxMoves: Number.POSITIVE_INFINITY });
    expect(spread(groups).max).toBeLessThanOrEqual(14 + 10);
    expect(n).toBeGreaterThan(0);
    for (const g of groups) expect(g.agentIds.length).toBeLessThanOrEqual(6);
    expect(groups.flatMap((g) => g.agentIds).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('balances by cost where a count-balanced plan is far off', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => i + 1);
    // One agent in ten is slow (2 s), the others fast (20 ms): hashing alone leaves groups uneven.
    const costs = AgentCosts.from(ids.map((id) => [id, id % 10 === 0 ? 2000 : 20] as const));
    const plan = planGroups(agents(ids), 50, { costs });
    const before = spread(plan);
    const { groups } = rebalanceGroups(plan, { costs, groupSize: 50, tolerance: 0.1, maxMoves: Number.POSITIVE_INFINITY });
    const after = spread(groups);
    expect(before.max / before.mean).toBeGreaterThan(1.3);
    expect(after.max / after.mean).toBeLessThanOrEqual(1.1);
  });

  it('moves nothing when balanced, at most maxMoves per pass, and converges over passes', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => i + 1);
    const costs = AgentCosts.from(ids.map((id) => [id, id % 10 === 0 ? 2000 : 20] as const));
    let plan = planGroups(agents(ids), 50, { costs });
    let passes = 0;
    for (;;) {
      const { groups, moved: n } = rebalanceGroups(plan, { costs, groupSize: 50, tolerance: 0.1, maxMoves: 40 });
      expect(n).toBeLessThanOrEqual(40);
      plan = groups;
      passes += 1;
      if (n === 0) break;
      expect(passes).toBeLessThan(50);
    }
    expect(spread(plan).max / spread(plan).mean).toBeLessThanOrEqual(1.1);
    const again = rebalanceGroups(plan, { costs, groupSize: 50, tolerance: 0.1, maxMoves: 1000 });
    expect(again.moved).toBe(0);
    expect(membership(again.groups)).toEqual(membership(plan));
  });

  it('keeps groups below twice the group size', () => {
    const ids = Array.from({ length: 500 }, (_, i) => i + 1);
    // A few very slow agents: balancing by cost alone would pile the fast ones into few groups.
    const costs = AgentCosts.from(ids.map((id) => [id, id <= 5 ? 100_000 : 1] as const));
    const { groups } = rebalanceGroups(planGroups(agents(ids), 50, { costs }), { costs, groupSize: 50, tolerance: 0.1, maxMoves: Number.POSITIVE_INFINITY });
    for (const g of groups) expect(g.agentIds.length).toBeLessThanOrEqual(100);
  });
});
