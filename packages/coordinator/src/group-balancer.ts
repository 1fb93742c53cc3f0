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
 * agents as it can: groups are sorted by cost and the heaviest are paired
 * with the lightest while either lies outside the tolerance. Each pair moves
 * the one agent of the heavy group whose cost best halves their gap (only if
 * that lowers the pair's maximum); when the light group is at the count cap,
 * that agent is swapped for the light group's cheapest one instead (two
 * moves, counts unchanged). A heavy group with nothing to give leaves its
 * light partner to the next heavy group. Rounds repeat until nothing moves
 * or `maxMoves` is spent (or MAX_ROUNDS; a later call goes on from there).
 *
 * At a fixed point (nothing moved, at least two moves of budget left),
 * max <= max(mean * (1 + tolerance), mean + largest agent cost) whenever the
 * heaviest group H holds no more than the cap (only a fresh plan's jump
 * hashing at small group sizes exceeds it, and later plans keep that group). Let L be the lightest group (L <= mean).
 * If H holds one agent, H <= largest. Otherwise, were H > mean + largest,
 * every agent c of H (0 < c <= largest < H - L) would be a move into L; and
 * were L at the cap, H's dearest agent would cost more than L's cheapest m
 * (else H <= cap * m <= L), so swapping them would shift c - m, in
 * (0, H - L). Either way the round's first pair would move. Skipping the pair
 * when L is full (as this once did) could stall far above the bound: the
 * next heavy groups, of one agent each, had nothing to give either. Every
 * move or swap shifts some d in (0, gap), lowering the sum of squared group
 * costs by 2d(gap - d), so the rounds end. Group ids and offsets do not
 * change; a balanced plan is returned as is.
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
      for (let i = 0, j = sorted.length - 1; i < j && budget > 0; i += 1) {
        const heavy = sorted[i];
        const light = sorted[j];
        if (heavy.cost <= high && light.cost >= low) break; // the rest lie between these two
        if (heavy.count <= 1) continue; // a group is never emptied
        const n = light.count < cap ? shift(heavy, light) : budget >= 2 ? swap(heavy, light) : 0;
        if (n === 0) continue; // nothing of this heavy group fits: the next one may
        budget -= n;
        moved += n;
        movedThisRound += n;
        j -= 1;
      }
      if (movedThisRound === 0) break;
    }
    for (const w of work) out.push(w.result());
  }
  return { groups: out, moved };
}

/** Moves the agent of `heavy` that best halves the gap into `light`; the agents moved (0 or 1). */
function shift(heavy: GroupWork, light: GroupWork): number {
  const k = heavy.bestToGive(heavy.cost - light.cost, 0);
  if (k < 0) return 0;
  heavy.moveTo(k, light);
  return 1;
}

/** Swaps the agent of `heavy` that best halves the gap for the cheapest of the full `light`; the agents moved (0 or 2). */
function swap(heavy: GroupWork, light: GroupWork): number {
  const m = light.cheapest();
  const k = heavy.bestToGive(heavy.cost - light.cost, light.memberCosts()[m]);
  if (k < 0) return 0;
  light.moveTo(m, heavy);
  heavy.moveTo(k, light);
  return 2;
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

  /**
   * The member whose cost, less `offset` (what comes back in a swap), lies
   * strictly between 0 and `gap` (so the pair's maximum drops) and nearest
   * half the gap; ties to the lower id. -1 when none does.
   */
  bestToGive(gap: number, offset: number): number {
    const ids = this.memberIds();
    const costs = this.memberCosts();
    let best = -1;
    let bestDistance = Number.POSITIVE_INFINITY;
    for (let k = 0; k < ids.length; k += 1) {
      const d = costs[k] - offset;
      if (d <= 0 || d >= gap) continue;
      const distance = Math.abs(gap / 2 - d);
      if (distance < bestDistance || (distance === bestDistance && ids[k] < ids[best])) {
        best = k;
        bestDistance = distance;
      }
    }
    return best;
  }

  /** The cheapest member (ties to the lower id). */
  cheapest(): number {
    const ids = this.memberIds();
    const costs = this.memberCosts();
    let best = 0;
    for (let k = 1; k < ids.length; k += 1) if (costs[k] < costs[best] || (costs[k] === costs[best] && ids[k] < ids[best])) best = k;
    return best;
  }

  /** Moves member `k` into `to`. */
  moveTo(k: number, to: GroupWork): void {
    const [id] = this.memberIds().splice(k, 1);
    const [c] = this.memberCosts().splice(k, 1);
    to.memberIds().push(id);
    to.memberCosts().push(c);
    this.cost -= c;
    to.cost += c;
  }

  result(): PollGroup {
    return this.ids ? { ...this.group, agentIds: this.ids.sort((a, b) => a - b), costMs: this.cost } : { ...this.group, costMs: this.cost };
  }
}
