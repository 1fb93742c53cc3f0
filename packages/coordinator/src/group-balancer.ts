import type { AgentCosts } from './agent-costs.js';
import { GROUP_COUNT_CAP, type PollGroup } from './group-planner.js';

export interface RebalanceOptions {
  /** Measured cost per agent (`agt$state.poll_ms`); unmeasured agents cost the median. */
  costs: AgentCosts;
  /** Target group size (the count cap is GROUP_COUNT_CAP times it). */
  groupSize: number;
  /** A group within this share of its frequency's mean cost is balanced (e.g. 0.1 = ±10 %). */
  tolerance: number;
  /** Agents moved at most in this call (the plan converges over several calls). */
  maxMoves: number;
}

export interface RebalanceResult {
  groups: PollGroup[];
  /** Agents that changed group. */
  moved: number;
}

/** Rounds of heaviest/lightest pairing at most per call. */
const MAX_ROUNDS = 64;

/**
 * Balances the groups of each frequency by measured cost, moving as few
 * agents as it can: groups are sorted by cost and the i-th heaviest is paired
 * with the i-th lightest while either lies outside the tolerance; each pair
 * moves the one agent of the heavy group whose cost best halves their gap
 * (only if that lowers the pair's maximum). Rounds repeat until nothing moves
 * or `maxMoves` is spent. At a fixed point every group is within the
 * tolerance or the spread is below one agent's cost, so
 * max <= max(mean * (1 + tolerance), mean + largest agent cost).
 * Group ids and offsets do not change; a balanced plan is returned as is.
 */
export function rebalanceGroups(groups: readonly PollGroup[], options: RebalanceOptions): RebalanceResult {
  const byFrequency = new Map<number, PollGroup[]>();
  for (const g of groups) {
    const list = byFrequency.get(g.pollIntervalMs);
    if (list) list.push(g);
    else byFrequency.set(g.pollIntervalMs, [g]);
  }
  let budget = options.maxMoves;
  let moved = 0;
  const out: PollGroup[] = [];
  for (const list of byFrequency.values()) {
    // One cost lookup for the whole frequency (the median of unmeasured agents is the frequency's).
    const flat = new Array<number>(list.reduce((n, g) => n + g.agentIds.length, 0));
    let at = 0;
    for (const g of list) for (const id of g.agentIds) flat[at++] = id;
    const all = options.costs.of(flat);
    at = 0;
    const work = list.map((group) => {
      const start = at;
      at += group.agentIds.length;
      let cost = 0;
      for (let k = start; k < at; k += 1) cost += all[k];
      return new GroupWork(group, all, start, cost);
    });
    const mean = work.reduce((s, w) => s + w.cost, 0) / Math.max(1, work.length);
    const high = mean * (1 + options.tolerance);
    const low = mean * (1 - options.tolerance);
    const cap = Math.max(1, options.groupSize * GROUP_COUNT_CAP);
    for (let round = 0; round < MAX_ROUNDS && budget > 0; round += 1) {
      const sorted = [...work].sort((a, b) => b.cost - a.cost);
      let movedThisRound = 0;
      for (let i = 0, j = sorted.length - 1; i < j && budget > 0; i += 1, j -= 1) {
        const heavy = sorted[i];
        const light = sorted[j];
        if (heavy.cost <= high && light.cost >= low) break; // the rest lie between these two
        if (light.count >= cap || heavy.count <= 1) continue;
        const gap = heavy.cost - light.cost;
        const ids = heavy.memberIds();
        const costs = heavy.memberCosts();
        // The agent whose move best halves the gap, among those that lower the pair's maximum (cost < gap).
        let best = -1;
        let bestDistance = Number.POSITIVE_INFINITY;
        for (let k = 0; k < ids.length; k += 1) {
          const c = costs[k];
          if (c >= gap) continue;
          const distance = Math.abs(gap / 2 - c);
          if (distance < bestDistance || (distance === bestDistance && ids[k] < ids[best])) {
            best = k;
            bestDistance = distance;
          }
        }
        if (best < 0) continue;
        const [id] = ids.splice(best, 1);
        const [c] = costs.splice(best, 1);
        light.memberIds().push(id);
        light.memberCosts().push(c);
        heavy.cost -= c;
        light.cost += c;
        budget -= 1;
        moved += 1;
        movedThisRound += 1;
      }
      if (movedThisRound === 0) break;
    }
    for (const w of work) out.push(w.result());
  }
  return { groups: out, moved };
}

/**
 * One group during a rebalance. Most groups are left as they are, so their
 * members are copied out of the shared arrays only when one moves (copying
 * all of a million agents cost more than the balancing itself).
 */
class GroupWork {
  private ids?: number[];
  private costs?: number[];

  constructor(
    readonly group: PollGroup,
    private readonly all: Float64Array,
    private readonly start: number,
    public cost: number,
  ) {}

  get count(): number {
    return this.ids?.length ?? this.group.agentIds.length;
  }

  memberIds(): number[] {
    return (this.ids ??= [...this.group.agentIds]);
  }

  memberCosts(): number[] {
    return (this.costs ??= Array.from(this.all.subarray(this.start, this.start + this.group.agentIds.length)));
  }

  result(): PollGroup {
    return this.ids ? { ...this.group, agentIds: this.ids.sort((a, b) => a - b), costMs: this.cost } : { ...this.group, costMs: this.cost };
  }
}
