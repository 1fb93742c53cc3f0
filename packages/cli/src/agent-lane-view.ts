import type { RegisteredAgent } from '@watched/core';

/**
 * How an agent is being polled (issue 17, item 2), as `agents list` and
 * `status` show it: `normal` (by its group's jobs), `slow` (it timed out, so
 * a worker's slow lane polls it outside the jobs; its retry is due) or
 * `backed off` (its next retry is later, `retryAt`).
 */
export type PollLane = 'normal' | 'slow' | 'backed off';

export function pollLaneOf(agent: Pick<RegisteredAgent, 'slowPolls' | 'retryAt'>, now: number): PollLane {
  if (agent.slowPolls === 0) return 'normal';
  return agent.retryAt !== null && agent.retryAt > now ? 'backed off' : 'slow';
}

/** Agents off the hot path among a group's members: `slow` (retry due or under way) and `backedOff` (retry later). */
export interface GroupLaneCounts {
  slow: number;
  backedOff: number;
}

/** Counts a group's members found in `offPath` (agt$state rows with slow_polls > 0). */
export function groupLaneCounts(
  agentIds: readonly number[],
  offPath: ReadonlyMap<number, { slowPolls: number; retryAt: number | null }>,
  now: number,
): GroupLaneCounts {
  const counts: GroupLaneCounts = { slow: 0, backedOff: 0 };
  for (const id of agentIds) {
    const state = offPath.get(id);
    if (!state) continue;
    if (pollLaneOf(state, now) === 'backed off') counts.backedOff += 1;
    else counts.slow += 1;
  }
  return counts;
}
