import { describe, expect, it } from '@jest/globals';
import type { AgentState } from '@watched/core';
import { AgentLanes } from './agent-lanes.js';
import type { FailedPoll, PreparedPoll } from './poll-result.js';

const state = (over: Partial<AgentState> = {}): AgentState => ({
  since: null, lastPoll: null, lastOk: null, consecutiveFailures: 0, failingSince: null, lastError: null, pollMs: null, slowPolls: 0, retryAt: null, ...over,
});
const failed = (reason: FailedPoll['reason']): FailedPoll => ({
  kind: 'failed', reason, durationMs: 1, record: { agentId: 1, slot: 0, pollTime: 0, outcome: 'failed', parseErrors: 0, error: reason },
});
const answered = (answeredMs: number, pollTime = 1000): PreparedPoll =>
  ({ kind: 'prepared', answeredMs, record: { agentId: 1, slot: 0, pollTime, outcome: 'ok', parseErrors: 0 } }) as PreparedPoll;

describe('AgentLanes', () => {
  const options = { jobDeadlineShare: 0.5, agentTimeoutMs: 30_000, agentBackoffMaxMs: 600_000 };
  const lanes = new AgentLanes(options, () => 0.5); // no jitter

  it('sends an agent that timed out off the hot path, and holds it back until its retry', () => {
    expect(lanes.laneOf(undefined, 0)).toBe('hot');
    expect(lanes.laneOf(state(), 0)).toBe('hot');
    expect(lanes.laneOf(state({ slowPolls: 1, retryAt: 500 }), 1000)).toBe('slow');
    expect(lanes.laneOf(state({ slowPolls: 3, retryAt: 5000 }), 1000)).toBe('held');
  });

  it('job deadline is a share of the interval; the slow lane has the full agent timeout, held that long plus an interval', () => {
    expect(lanes.hotBudgetMs(30_000)).toBe(15_000);
    expect(lanes.slowBudgetMs()).toBe(30_000);
    expect(lanes.holdMs(10_000)).toBe(40_000);
  });

  it('backs off from the interval, doubling per slow poll, capped; only timeouts count', () => {
    // The first slow poll: the next slot retries it (in the slow lane); then interval x 2^(n-2).
    expect(lanes.afterHot(failed('timeout'), undefined, 30_000, 1000)).toEqual({ slow: true, retryAt: 1000 });
    expect(lanes.afterHot(failed('timeout'), state({ slowPolls: 1 }), 30_000, 1000)).toEqual({ slow: true, retryAt: 31_000 });
    expect(lanes.afterHot(failed('timeout'), state({ slowPolls: 2 }), 30_000, 1000)).toEqual({ slow: true, retryAt: 61_000 });
    expect(lanes.afterHot(failed('timeout'), state({ slowPolls: 20 }), 30_000, 1000)).toEqual({ slow: true, retryAt: 601_000 });
    expect(lanes.afterHot(failed('refused'), state({ slowPolls: 2 }), 30_000, 1000)).toBeUndefined();
    expect(lanes.afterHot(answered(10), state(), 30_000, 1000)).toBeUndefined();
  });

  it('jitters retries by ±20 %, never past the cap', () => {
    const low = new AgentLanes(options, () => 0).retryDelayMs(30_000, 2);
    const high = new AgentLanes(options, () => 0.999999).retryDelayMs(30_000, 2);
    expect(low).toBeCloseTo(24_000);
    expect(high).toBeCloseTo(36_000, -1);
    expect(new AgentLanes(options, () => 0.999999).retryDelayMs(30_000, 30)).toBe(600_000);
  });

  it('an agent answering in the slow lane returns to normal if it answered within a job deadline, else stays at its interval', () => {
    expect(lanes.afterSlow(answered(2000), state({ slowPolls: 4 }), 30_000, 5000)).toBeUndefined();
    expect(lanes.afterSlow(answered(20_000, 1000), state({ slowPolls: 4 }), 30_000, 21_000)).toEqual({ slow: true, retryAt: 31_000 });
    expect(lanes.afterSlow(failed('timeout'), state({ slowPolls: 2 }), 30_000, 1000)).toEqual({ slow: true, retryAt: 61_000 });
  });
});
