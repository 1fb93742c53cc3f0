import { AgentStateTable, errorMessage, type Logger, type PollJobData, type PollJobResult, type Pool } from '@watched/core';
import { loadAgents } from './agent-loader.js';
import type { AgentPoller } from './agent-poller.js';
import { AgentFailureSummary } from './agent-failure-summary.js';
import { mapWithConcurrency } from './concurrency.js';
import type { AgentPollOutcome, PollRecord, PollResult } from './poll-result.js';
import type { PollStore } from './store/poll-store.js';

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
 * bound; their answers (and their failures) are gathered and written
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
    const agents = await loadAgents(this.deps.pool, job.agentIds);
    const states = await new AgentStateTable(this.deps.pool).read(agents.map((a) => a.id));
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
        const polled = await this.deps.poller.prepare(agent, job.slot, states.get(agent.id));
        pending.push(polled);
        if (polled.kind === 'prepared') pendingRows += polled.rows;
        if (polled.kind === 'failed') agentFailures.add(`${agent.host}:${agent.port}`, failureReason(polled.record));
      } catch (err) {
        failed(err, `polling agent ${agent.host}:${agent.port}`, { agent: agent.id });
        return;
      }
      // Bounded batches: memory and transaction size stay flat however much an agent had buffered.
      if (pendingRows >= this.deps.writeBatchRows) await flush();
    });
    await flush();
    agentFailures.log(this.deps.logger, `group ${job.group} slot ${job.slot}`, agents.length);
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
