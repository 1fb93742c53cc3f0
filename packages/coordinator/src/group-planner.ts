import { jumpHash } from './jump-hash.js';

/** What the planner needs of an agent. */
export interface PlannedAgent {
  id: number;
  /** Poll interval in ms. */
  frequencyMs: number;
}

/** A sub-group: agents of one frequency polled by one job per slot. */
export interface PollGroup {
  /** Stable id, e.g. `f300000-g3`. */
  id: string;
  frequencyMs: number;
  /** Slot starts are `offsetMs + k * frequencyMs` (epoch ms): groups are spread over the interval. */
  offsetMs: number;
  agentIds: number[];
}

/**
 * Splits agents into groups per frequency: G = ceil(n / groupSize) groups,
 * each agent placed by jump consistent hashing of its id, so adding or
 * removing an agent moves only that agent, and adding a group moves about
 * 1/G of them. Group g of G starts at g/G of the interval.
 */
export function planGroups(agents: PlannedAgent[], groupSize: number): PollGroup[] {
  const byFrequency = new Map<number, number[]>();
  for (const agent of agents) {
    const ids = byFrequency.get(agent.frequencyMs);
    if (ids) ids.push(agent.id);
    else byFrequency.set(agent.frequencyMs, [agent.id]);
  }
  const groups: PollGroup[] = [];
  for (const [frequencyMs, ids] of [...byFrequency.entries()].sort((a, b) => a[0] - b[0])) {
    const count = Math.ceil(ids.length / groupSize);
    const members: number[][] = Array.from({ length: count }, () => []);
    for (const id of ids) members[jumpHash(id, count)].push(id);
    members.forEach((agentIds, index) => {
      if (agentIds.length === 0) return;
      groups.push({
        id: `f${frequencyMs}-g${index}`,
        frequencyMs,
        offsetMs: Math.floor((index * frequencyMs) / count),
        agentIds: agentIds.sort((a, b) => a - b),
      });
    });
  }
  return groups;
}

/** The start of the latest slot of a group at `now` (epoch ms). */
export function dueSlot(group: Pick<PollGroup, 'frequencyMs' | 'offsetMs'>, now: number): number {
  return Math.floor((now - group.offsetMs) / group.frequencyMs) * group.frequencyMs + group.offsetMs;
}
