import { AgentStateTable, errorMessage, type Logger, type PollJobData, type PollJobResult, type Pool } from '@watched/core';
import type { AgentRecord } from './agent-client.js';
import type { AgentLanes, Lane } from './agent-lanes.js';
import { loadAgents } from './agent-loader.js';
import type { AgentPoller } from './agent-poller.js';
import { AgentFailureSummary } from './agent-failure-summary.js';
import { mapWithConcurrency } from './concurrency.js';
import type { AgentPollOutcome, PollRecord, PollResult } from './poll-result.js';
import type { SlowLane } from './slow-lane.js';
import type { PollStore } from './store/poll-store.js';

export interface PollProcessorDeps {
  pool: Pool;
  poller: AgentPoller;
  store: PollStore;
  logger: Logger;
  agentConcurrency: number;
  /** A call running longer stops counting against agentConcurrency. */
  agentSlowAfterMs: number;
  lanes: AgentLanes;
  slowLane: SlowLane;
  /** Rows of several agents gathered before they are written in one transaction. */
  writeBatchRows: number;
}

/**
 * One poll job: the group's agents on the hot path (AgentLanes), fetched in
 * parallel up to a bound, a call that runs long releasing its slot, all
 * within the job's deadline (a share of the group's interval: the job ends
 * before the next slot); agents that timed out before are handed to the
 * slow lane, those backed off are left for later. The answers (and the
 * failures) of those polled here are gathered and written
 * together, one transaction per `writeBatchRows` rows (each agent's rows and
 * cursor always in the same one). A broken agent fails its own poll only (it
 * is recorded with the batch it falls in); a MySQL failure fails the
 * job (all its agents are retried, and rows already committed are absorbed
 * by keys and cursors).
 */
/** The reason of a failed poll, as AgentCallError words it (`agent h:p: timeout: ...`); `bad-payload` for parse failures. */
function failureReason(record: PollRecord): string {
  if (record.outcome === 'parse') return 'bad-payload';
  return /^agent [^ ]+: ([a-z-]+):/.exec(record.error ?? '')?.[1] ?? 'failed';
}

export class PollProcessor {
  constructor(private readonly deps: PollProcessorDeps) {}

  async process(job: PollJobData): Promise<PollJobResult> {
    const started = Date.now();
    const loaded = await loadAgents(this.deps.pool, job.agentIds);
    const stateTable = new AgentStateTable(this.deps.pool);
    const states = await stateTable.read(loaded.map((a) => a.id));
    const { lanes } = this.deps;
    // A group's agents share their frequency; the shortest one rules if c$agents changed meanwhile.
    const intervalMs = Math.min(...loaded.map((a) => a.pollIntervalS * 1000));
    const deadline = started + lanes.hotBudgetMs(intervalMs);
    const byLane: Record<Lane, AgentRecord[]> = { hot: [], slow: [], held: [] };
    for (const agent of loaded) byLane[lanes.laneOf(states.get(agent.id), started)].push(agent);
    const agents = byLane.hot;
    if (byLane.slow.length) {
      // Held first: the lane's own outcome (which may come at once) must not be overwritten by the hold.
      await stateTable.holdUntil(byLane.slow.map((a) => a.id), started + lanes.holdMs(intervalMs));
      this.deps.slowLane.offer(byLane.slow.map((agent) => ({ agent, state: states.get(agent.id) })), job.slot, intervalMs);
    }
    const outcomes: AgentPollOutcome[] = [];
    const agentFailures = new AgentFailureSummary();
    let firstError: unknown;
    let pending: PollResult[] = [];
    let pendingRows = 0;
    // Not an agent fault (MySQL, a bug): keep polling the others, then fail the job.
    const failed = (err: unknown, what: string, meta: Record<string, unknown> = {}) => {
      firstError ??= err;
      this.deps.logger.error(`${what} failed: ${errorMessage(err)}`, meta);
    };
    const flush = async () => {
      const batch = pending;
      pending = [];
      pendingRows = 0;
      if (batch.length === 0) return;
      try {
        outcomes.push(...(await this.deps.store.store(batch)));
      } catch (err) {
        failed(err, `storing ${batch.length} agents`);
      }
    };
    await mapWithConcurrency(agents, this.deps.agentConcurrency, async (agent) => {
      try {
        const state = states.get(agent.id);
        const polled = await this.deps.poller.prepare(agent, job.slot, state, { deadline });
        const backoff = lanes.afterHot(polled, state, intervalMs, Date.now());
        if (backoff) polled.record.backoff = backoff;
        pending.push(polled);
        if (polled.kind === 'prepared') pendingRows += polled.rows;
        if (polled.kind === 'failed') agentFailures.add(`${agent.host}:${agent.port}`, failureReason(polled.record));
      } catch (err) {
        failed(err, `polling agent ${agent.host}:${agent.port}`, { agent: agent.id });
        return;
      }
      // Bounded batches: memory and transaction size stay flat however much an agent had buffered.
      if (pendingRows >= this.deps.writeBatchRows) await flush();
    }, this.deps.agentSlowAfterMs);
    await flush();
    agentFailures.log(this.deps.logger, `group ${job.group} slot ${job.slot}`, agents.length);
    if (firstError) throw firstError;
    return {
      agents: agents.length,
      slowLane: byLane.slow.length,
      heldBack: byLane.held.length,
      ok: outcomes.filter((o) => o.ok).length,
      failed: outcomes.filter((o) => !o.ok).length,
      rows: outcomes.reduce((sum, o) => sum + o.rows, 0),
      durationMs: Date.now() - started,
    };
  }
}
