/** The poll queue: its name and job payloads, shared by the coordinator (producer) and the worker (consumer). */

export const POLL_QUEUE = 'poll';

/** One poll job: the agents of one sub-group for one slot. */
export interface PollJobData {
  /** Sub-group id, stable across ticks (e.g. `f300-g3`). */
  group: string;
  /** Slot start, epoch ms: the key of time-keyed rows written by this job. */
  slot: number;
  /** `c$agents.id` of every agent to poll. */
  agentIds: number[];
  /** Fencing token (leader term) of the coordinator that enqueued the job. */
  term: number;
}

/** What a poll job returns (stored by BullMQ, shown by status and tests). */
export interface PollJobResult {
  agents: number;
  ok: number;
  failed: number;
  rows: number;
  durationMs: number;
  /** Agents handed to the worker's slow lane (they timed out before): polled outside the job. */
  slowLane?: number;
  /** Agents not polled this round: backed off after timing out, or a slow-lane poll of them under way. */
  heldBack?: number;
}

/**
 * Deterministic job id: the same (group, slot) is never enqueued twice.
 * BullMQ refuses most custom ids containing ':', hence the dashes.
 */
export function pollJobId(group: string, slot: number): string {
  return `poll-${group}-${slot}`;
}
