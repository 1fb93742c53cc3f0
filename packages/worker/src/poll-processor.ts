import { errorMessage, type Logger, type PollJobData, type PollJobResult, type Pool } from '@watched/core';
import { loadAgents } from './agent-directory.js';
import type { AgentPoller, AgentPollOutcome, PreparedPoll } from './agent-poller.js';
import { readAgentStates } from './agent-state.js';
import { mapWithConcurrency } from './concurrency.js';
import type { PollStore } from './poll-store.js';

export interface PollProcessorDeps {
  pool: Pool;
  poller: AgentPoller;
  store: PollStore;
  logger: Logger;
  agentConcurrency: number;
  /** Rows of several agents gathered before they are written in one transaction. */
  writeBatchRows: number;
}

/**
 * One poll job: every agent of the group, fetched in parallel up to a
 * bound; their answers are gathered and written together, one transaction
 * per `writeBatchRows` rows (each agent's rows and cursor always in the same
 * one). A broken agent fails its own poll only; a MySQL failure fails the
 * job (all its agents are retried, and rows already committed are absorbed
 * by keys and cursors).
 */
export class PollProcessor {
  constructor(private readonly deps: PollProcessorDeps) {}

  async process(job: PollJobData): Promise<PollJobResult> {
    const started = Date.now();
    const agents = await loadAgents(this.deps.pool, job.agentIds);
    const states = await readAgentStates(this.deps.pool, agents.map((a) => a.id));
    const outcomes: AgentPollOutcome[] = [];
    let firstError: unknown;
    let pending: PreparedPoll[] = [];
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
        const prepared = await this.deps.poller.prepare(agent, job.slot, states.get(agent.id) ?? { failing: false });
        if ('ok' in prepared) {
          outcomes.push(prepared);
          return;
        }
        pending.push(prepared);
        pendingRows += prepared.rows;
      } catch (err) {
        failed(err, `polling agent ${agent.host}:${agent.port}`, { agent: agent.id });
        return;
      }
      // Bounded batches: memory and transaction size stay flat however much an agent had buffered.
      if (pendingRows >= this.deps.writeBatchRows) await flush();
    });
    await flush();
    if (firstError) throw firstError;
    return {
      agents: agents.length,
      ok: outcomes.filter((o) => o.ok).length,
      failed: outcomes.filter((o) => !o.ok).length,
      rows: outcomes.reduce((sum, o) => sum + o.rows, 0),
      durationMs: Date.now() - started,
    };
  }
}
