import type { AgentBackoff, AgentState } from '@watched/core';
import type { PollResult } from './poll-result.js';
import type { WorkerOptions } from './worker-options.js';

/**
 * Where a job sends each of its agents: `hot`, polled by the job within its
 * deadline; `slow`, handed to the worker's slow lane (it timed out before, so
 * it is polled outside the job and holds back no one); `held`, not polled
 * this round (its backed-off retry is not due, or a slow-lane poll of it is
 * under way).
 */
export type Lane = 'hot' | 'slow' | 'held';

export type AgentLanesOptions = Pick<WorkerOptions, 'jobDeadlineShare' | 'agentTimeoutMs' | 'agentBackoffMaxMs'>;

/** Spread of a backed-off retry around its nominal time (±20 %): agents that hung together do not retry together. */
const JITTER = 0.2;

/**
 * The rules that keep slow and hanging agents off the hot path, in one
 * place: which lane an agent is in, the deadlines of each lane's calls, and
 * the backed-off schedule written with a poll's outcome (agt$state.slow_polls
 * and retry_at, migration 0013).
 *
 * A job waits for its agents at most `jobDeadlineShare × interval`, so it
 * ends before its group's next slot. An agent not answered by then is timed
 * out for that round and, from then on, polled by the slow lane with the full
 * `agentTimeout`: at the next slot after its first slow poll, then every
 * `interval × 2^(n-2)` (±20 %, at most `agentBackoffMax`) after its n-th. A poll answered
 * within the hot deadline puts it back on its normal schedule at once; one
 * that answers, but only in the slow lane, keeps it there at its interval.
 */
export class AgentLanes {
  constructor(
    private readonly options: AgentLanesOptions,
    private readonly random: () => number = Math.random,
  ) {}

  laneOf(state: AgentState | undefined, now: number): Lane {
    if (state?.retryAt != null && state.retryAt > now) return 'held';
    return (state?.slowPolls ?? 0) > 0 ? 'slow' : 'hot';
  }

  /** How long a job waits for its agents. */
  hotBudgetMs(intervalMs: number): number {
    return Math.floor(this.options.jobDeadlineShare * intervalMs);
  }

  /**
   * How long a slow-lane poll may take: the full agent timeout, even past the
   * agent's interval (it holds no job), so an agent slower than its interval
   * is still polled and its data stored.
   */
  slowBudgetMs(): number {
    return this.options.agentTimeoutMs;
  }

  /** How long a hand-off to the slow lane holds the agent back from the next jobs (its poll, a wait in the lane's queue). */
  holdMs(intervalMs: number): number {
    return this.slowBudgetMs() + intervalMs;
  }

  /** The schedule after a hot-path poll: timed out, off the hot path; else unchanged (normal). */
  afterHot(result: PollResult, state: AgentState | undefined, intervalMs: number, now: number): AgentBackoff | undefined {
    return result.kind === 'failed' && result.reason === 'timeout' ? this.backedOff(state, intervalMs, now) : undefined;
  }

  /** The schedule after a slow-lane poll. */
  afterSlow(result: PollResult, state: AgentState | undefined, intervalMs: number, now: number): AgentBackoff | undefined {
    if (result.kind === 'failed') return this.afterHot(result, state, intervalMs, now);
    // Answered, but later than a job would have waited: it stays in the slow lane, polled at its interval.
    if (result.answeredMs > this.hotBudgetMs(intervalMs)) return { slow: true, retryAt: result.record.pollTime + intervalMs };
    return undefined;
  }

  /**
   * Delay before the retry after the n-th consecutive slow poll: none after
   * the first (the next slot, in the slow lane: one late answer costs one
   * round), then `interval × 2^(n-2)` with jitter, at most agentBackoffMax.
   */
  retryDelayMs(intervalMs: number, slowPolls: number): number {
    if (slowPolls <= 1) return 0;
    const nominal = intervalMs * 2 ** Math.min(slowPolls - 2, 30);
    const jittered = nominal * (1 - JITTER + 2 * JITTER * this.random());
    return Math.min(this.options.agentBackoffMaxMs, jittered);
  }

  private backedOff(state: AgentState | undefined, intervalMs: number, now: number): AgentBackoff {
    return { slow: true, retryAt: now + this.retryDelayMs(intervalMs, (state?.slowPolls ?? 0) + 1) };
  }
}
