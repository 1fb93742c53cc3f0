import { AgentCosts } from './agent-costs.js';
import { IdIndex } from './id-index.js';
import { jumpHash } from './jump-hash.js';

/** What the planner needs of an agent. */
export interface PlannedAgent {
  id: number;
  /** Poll interval in ms. */
  pollIntervalMs: number;
}

/** A sub-group: agents of one frequency polled by one job per slot. */
export interface PollGroup {
  /** Stable id, e.g. `f300000-g3`. */
  id: string;
  pollIntervalMs: number;
  /** Slot starts are `offsetMs + k * pollIntervalMs` (epoch ms): groups are spread over the interval. */
  offsetMs: number;
  agentIds: number[];
  /** Sum of the members' measured poll cost (ms; unmeasured agents count as the median). */
  costMs: number;
}

/** A group of an earlier plan, as the schedule hash keeps it. */
export type PreviousGroup = Pick<PollGroup, 'id' | 'pollIntervalMs' | 'agentIds'>;

export interface PlanInput {
  /** The assignment to stay close to (the leader's last plan, or the schedule its predecessor wrote). */
  previous?: readonly PreviousGroup[];
  /** Measured cost per agent (`agt$state.poll_ms`); unmeasured agents cost the median of the measured ones. */
  costs?: AgentCosts;
}

/** A group takes at most this many times the group size (cost balancing must not build giant jobs). */
export const GROUP_COUNT_CAP = 2;

export function groupId(pollIntervalMs: number, index: number): string {
  return `f${pollIntervalMs}-g${index}`;
}

/** The index of a group id of this frequency (`f<freq>-g<index>`), or undefined. */
function indexOf(id: string, pollIntervalMs: number): number | undefined {
  const prefix = `f${pollIntervalMs}-g`;
  if (!id.startsWith(prefix)) return undefined;
  const n = Number(id.slice(prefix.length));
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Splits agents into groups per frequency, G = ceil(n / groupSize) groups.
 *
 * Without a previous plan each agent goes to group `jumpHash(id, G)`. With
 * one, the plan stays where it was: agents keep their group; an agent added
 * goes to the group of least cost (below twice the group size); an agent
 * removed just leaves; when G grows, the agents that jump consistent hashing
 * sends to a new group move there (about 1/G of them, as with plain jump
 * hashing); when G shrinks, the agents of the groups dropped are placed like
 * added ones. So adding or removing an agent moves no other agent, and adding
 * groups moves about 1/N. Balancing by cost is `rebalanceGroups`'s, which
 * moves few agents at a time. Group g of G starts at g/G of the interval.
 * Agents are handled by their position among the frequency's ids, sorted
 * (typed arrays and an `IdIndex`, no map).
 */
export function planGroups(agents: PlannedAgent[], groupSize: number, input: PlanInput = {}): PollGroup[] {
  const byFrequency = new Map<number, number[]>();
  for (const agent of agents) {
    const ids = byFrequency.get(agent.pollIntervalMs);
    if (ids) ids.push(agent.id);
    else byFrequency.set(agent.pollIntervalMs, [agent.id]);
  }
  const groups: PollGroup[] = [];
  for (const [pollIntervalMs, ids] of [...byFrequency.entries()].sort((a, b) => a[0] - b[0])) {
    if (!isAscending(ids)) ids.sort((a, b) => a - b);
    const count = Math.ceil(ids.length / groupSize);
    const costs = (input.costs ?? AgentCosts.none).of(ids);
    const previous = (input.previous ?? []).filter((g) => g.pollIntervalMs === pollIntervalMs);
    let members: number[][];
    if (previous.length) {
      members = stayClose(ids, costs, count, groupSize, previous);
    } else {
      members = Array.from({ length: count }, () => []);
      for (let i = 0; i < ids.length; i += 1) members[jumpHash(ids[i], count)].push(i);
    }
    members.forEach((positions, index) => {
      if (positions.length === 0) return;
      let costMs = 0;
      const agentIds = new Array<number>(positions.length);
      let ordered = true;
      for (let k = 0; k < positions.length; k += 1) {
        costMs += costs[positions[k]];
        agentIds[k] = ids[positions[k]];
        if (k > 0 && agentIds[k] < agentIds[k - 1]) ordered = false;
      }
      if (!ordered) agentIds.sort((a, b) => a - b);
      groups.push({ id: groupId(pollIntervalMs, index), pollIntervalMs, offsetMs: Math.floor((index * pollIntervalMs) / count), agentIds, costMs });
    });
  }
  return groups;
}

/** Positions (in `ids`) of the members of `count` groups of one frequency, starting from the previous plan. */
function stayClose(ids: number[], costs: Float64Array, count: number, groupSize: number, previous: readonly PreviousGroup[]): number[][] {
  const positions = new IdIndex(ids);
  const placed = new Uint8Array(ids.length);
  const members: number[][] = Array.from({ length: count }, () => []);
  let previousCount = 0;
  for (const group of previous) {
    const index = indexOf(group.id, group.pollIntervalMs);
    if (index === undefined) continue;
    previousCount = Math.max(previousCount, index + 1);
    if (index >= count) continue; // a group dropped: its agents are placed below
    for (const id of group.agentIds) {
      const p = positions.positionOf(id);
      if (p < 0 || placed[p]) continue;
      placed[p] = 1;
      members[index].push(p);
    }
  }
  // Groups added: what jump hashing sends to a new group moves there (about 1/count per new group).
  if (count > previousCount) {
    for (let index = 0; index < previousCount; index += 1) {
      const stay: number[] = [];
      for (const p of members[index]) {
        const target = jumpHash(ids[p], count);
        if (target >= previousCount) members[target].push(p);
        else stay.push(p);
      }
      members[index] = stay;
    }
  }
  // Agents added, or of a dropped group: heaviest first, each to the cheapest group with room.
  const homeless: number[] = [];
  for (let p = 0; p < ids.length; p += 1) if (!placed[p]) homeless.push(p);
  if (homeless.length) {
    homeless.sort((a, b) => costs[b] - costs[a] || ids[a] - ids[b]);
    const heap = new GroupHeap(members.map((m) => m.reduce((sum, p) => sum + costs[p], 0)));
    const cap = Math.max(1, groupSize * GROUP_COUNT_CAP);
    for (const p of homeless) {
      const index = heap.popWhere((i) => members[i].length < cap) ?? heap.popWhere(() => true)!;
      members[index].push(p);
      heap.push(index, heap.costOf(index) + costs[p]);
    }
  }
  return members;
}

function isAscending(ids: readonly number[]): boolean {
  for (let i = 1; i < ids.length; i += 1) if (ids[i] < ids[i - 1]) return false;
  return true;
}

/** A min-heap of group indexes by cost (ties: lower index), for placing many agents in O(log G) each. */
class GroupHeap {
  private readonly heap: number[];
  private readonly costs: number[];

  constructor(costs: number[]) {
    this.costs = [...costs];
    this.heap = costs.map((_, i) => i);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i -= 1) this.down(i);
  }

  costOf(index: number): number {
    return this.costs[index];
  }

  push(index: number, cost: number): void {
    this.costs[index] = cost;
    this.heap.push(index);
    this.up(this.heap.length - 1);
  }

  /** Removes and returns the cheapest group accepted by `ok`; the ones skipped go back. */
  popWhere(ok: (index: number) => boolean): number | undefined {
    const skipped: number[] = [];
    let found: number | undefined;
    while (this.heap.length) {
      const top = this.pop();
      if (ok(top)) {
        found = top;
        break;
      }
      skipped.push(top);
    }
    for (const i of skipped) this.push(i, this.costs[i]);
    return found;
  }

  private pop(): number {
    const top = this.heap[0];
    const last = this.heap.pop()!;
    if (this.heap.length) {
      this.heap[0] = last;
      this.down(0);
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    const ca = this.costs[this.heap[a]];
    const cb = this.costs[this.heap[b]];
    return ca < cb || (ca === cb && this.heap[a] < this.heap[b]);
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      [this.heap[i], this.heap[parent]] = [this.heap[parent], this.heap[i]];
      i = parent;
    }
  }

  private down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.heap.length && this.less(l, m)) m = l;
      if (r < this.heap.length && this.less(r, m)) m = r;
      if (m === i) return;
      [this.heap[i], this.heap[m]] = [this.heap[m], this.heap[i]];
      i = m;
    }
  }
}

/** The start of the latest slot of a group at `now` (epoch ms). */
export function dueSlot(group: Pick<PollGroup, 'pollIntervalMs' | 'offsetMs'>, now: number): number {
  return Math.floor((now - group.offsetMs) / group.pollIntervalMs) * group.pollIntervalMs + group.offsetMs;
}
