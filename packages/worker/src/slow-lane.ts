import { setMaxListeners } from 'node:events';
import { errorMessage, type AgentState, type Logger, type WatchedMetrics } from '@watched/core';
import type { AgentRecord } from './agent-client.js';
import type { AgentLanes } from './agent-lanes.js';
import type { AgentPoller } from './agent-poller.js';
import type { PollStore } from './store/poll-store.js';

export interface SlowLaneDeps {
  poller: AgentPoller;
  store: PollStore;
  lanes: AgentLanes;
  logger: Logger;
  /** Calls in flight at once; more wait in the lane's queue. */
  concurrency: number;
  /** `watched_slow_lane_agents` and `watched_slow_lane_polls_total` (absent: not exported). */
  metrics?: WatchedMetrics;
}

/** One agent handed over by a job: its slot (the key of its history row), state and interval. */
interface SlowPoll {
  agent: AgentRecord;
  slot: number;
  state: AgentState | undefined;
  intervalMs: number;
}

/**
 * The poll cost (agt$state.poll_ms) recorded for a slow-lane poll: it costs
 * its group's job nothing, so the leader's cost balancing stops weighing the
 * agent as the timeout it once was (0 would read as unmeasured).
 */
const SLOW_LANE_JOB_COST_MS = 1;

/** Counters for logs and tests. */
export interface SlowLaneStats {
  polled: number;
  answered: number;
}

/**
 * Polls the agents that timed out before, outside the jobs: a job hands
 * them over and ends without waiting for them, so however many of a group's
 * agents hang, its healthy agents are polled and stored on time. Each agent
 * is in the lane at most once per worker (and held back in agt$state from the
 * other workers' jobs meanwhile, AgentStateTable.holdUntil); its outcome is
 * stored like a job's (one transaction: rows, cursor, state, history keyed by
 * the job's slot), so a replay writes nothing twice. On close, calls under
 * way are abandoned and nothing more is written: the agent's hold expires
 * and a later job hands it over again.
 */
export class SlowLane {
  readonly stats: SlowLaneStats = { polled: 0, answered: 0 };
  /** Agent ids queued or being polled. */
  private readonly members = new Set<number>();
  private readonly waiting: SlowPoll[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private closed = false;

  constructor(private readonly deps: SlowLaneDeps) {
    // One signal for every call of the lane (each adds a listener): up to slowLaneConcurrency at once.
    setMaxListeners(0, this.abort.signal);
  }

  /** Agents in the lane (queued or being polled). */
  get size(): number {
    return this.members.size;
  }

  /** Takes these agents into the lane; returns how many it took (those already in it are left there). */
  offer(polls: Array<{ agent: AgentRecord; state: AgentState | undefined }>, slot: number, intervalMs: number): number {
    if (this.closed) return 0;
    let taken = 0;
    for (const { agent, state } of polls) {
      if (this.members.has(agent.id)) continue;
      this.members.add(agent.id);
      this.waiting.push({ agent, slot, state, intervalMs });
      taken += 1;
    }
    this.deps.metrics?.slowLaneAgents.set(this.members.size);
    this.pump();
    return taken;
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.deps.concurrency && this.waiting.length > 0) {
      const poll = this.waiting.shift()!;
      const run: Promise<void> = this.poll(poll).finally(() => {
        this.running.delete(run);
        this.members.delete(poll.agent.id);
        this.deps.metrics?.slowLaneAgents.set(this.members.size);
        this.pump();
      });
      this.running.add(run);
    }
  }

  private async poll({ agent, slot, state, intervalMs }: SlowPoll): Promise<void> {
    const { poller, store, lanes, logger } = this.deps;
    const startedAt = Date.now();
    try {
      const result = await poller.prepare(agent, slot, state, { deadline: startedAt + lanes.slowBudgetMs(), signal: this.abort.signal });
      if (this.closed) return;
      const backoff = lanes.afterSlow(result, state, intervalMs, Date.now());
      if (backoff) result.record.backoff = backoff;
      result.record.jobCostMs = SLOW_LANE_JOB_COST_MS;
      await store.store([result]);
      this.stats.polled += 1;
      this.deps.metrics?.slowLanePolls.inc({ outcome: result.kind === 'prepared' ? 'answered' : 'failed' });
      if (result.kind === 'prepared') {
        this.stats.answered += 1;
        logger.info(`agent ${agent.host}:${agent.port} answered again after ${state?.slowPolls ?? 0} slow polls${backoff ? ' (slowly: it stays in the slow lane)' : ''}`, { agent: agent.id });
      }
    } catch (err) {
      // MySQL (or a bug): the agent's hold in agt$state expires and a later job hands it over again.
      if (!this.closed) logger.error(`slow-lane poll of agent ${agent.host}:${agent.port} failed: ${errorMessage(err)}`, { agent: agent.id });
    }
  }

  /** Stops: queued agents are dropped, calls under way abandoned, their results not stored. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.waiting.length = 0;
    this.abort.abort(new Error('worker stopping'));
    await Promise.all([...this.running]);
  }
}
