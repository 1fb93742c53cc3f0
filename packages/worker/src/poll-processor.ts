import type { Logger, PollJobData, PollJobResult, Pool } from '@watched/core';
import { loadAgents } from './agent-directory.js';
import type { AgentPoller } from './agent-poller.js';
import { mapWithConcurrency } from './concurrency.js';

export interface PollProcessorDeps {
  pool: Pool;
  poller: AgentPoller;
  logger: Logger;
  agentConcurrency: number;
}

/**
 * One poll job: every agent of the group, in parallel up to a bound. A
 * broken agent fails its own poll only; a MySQL failure fails the job (all
 * its agents are retried, and rows already committed are absorbed by keys).
 */
export class PollProcessor {
  constructor(private readonly deps: PollProcessorDeps) {}

  async process(job: PollJobData): Promise<PollJobResult> {
    const started = Date.now();
    const agents = await loadAgents(this.deps.pool, job.agentIds);
    let firstError: unknown;
    const outcomes = await mapWithConcurrency(agents, this.deps.agentConcurrency, async (agent) => {
      try {
        return await this.deps.poller.poll(agent, job.slot);
      } catch (err) {
        // Not an agent fault (MySQL, a bug): keep polling the others, then fail the job.
        firstError ??= err;
        this.deps.logger.error(`storing agent ${agent.host}:${agent.port} failed: ${(err as Error).message}`, { agent: agent.id });
        return undefined;
      }
    });
    if (firstError) throw firstError;
    const done = outcomes.filter((o) => o !== undefined);
    return {
      agents: agents.length,
      ok: done.filter((o) => o.ok).length,
      failed: done.filter((o) => !o.ok).length,
      rows: done.reduce((sum, o) => sum + o.rows, 0),
      durationMs: Date.now() - started,
    };
  }
}
