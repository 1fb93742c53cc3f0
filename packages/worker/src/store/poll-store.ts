import {
  AgentStateTable,
  errorMessage,
  withTransaction,
  type Logger,
  type Pool,
  type WatchedMetrics,
} from '@watched/core';
import type { EventSink, MonitoringEvent } from '@watched/core';
import type { AgentPollOutcome, FailedPoll, PollResult, PreparedPoll } from '../poll-result.js';
import type { RowWriter } from '../row-writer.js';
import { isAgentFault } from '../agent-fault.js';
import { mergeInserts } from '../sql-batch.js';
import { closeAgentFailure, openAgentFailures } from './agent-failure-writer.js';
import { writeAgentHistory } from './agent-history-writer.js';
import type { LogAlerts } from './log-alerts.js';
import { applyPresence } from './presence-writer.js';
import type { ThresholdRules } from './threshold-rules.js';
import { applyThresholds } from './threshold-writer.js';

export interface PollStoreDeps {
  pool: Pool;
  logger: Logger;
  /** Writes the rows (LOAD DATA or multi-row INSERT, see row-writer.ts). */
  writer: RowWriter;
  rules: ThresholdRules;
  events: EventSink;
  /** How long a host or service may go unreported before it counts as missing. */
  missingAfterMs: number;
  /** Consecutive failed polls that open an agent-failed event. */
  agentFailureThreshold: number;
  metrics?: WatchedMetrics;
  /** Log lines at or above the alert level, announced after commit (store/log-alerts.ts). */
  logAlerts?: LogAlerts;
}

/**
 * Writes the outcome of several agents' polls in ONE transaction, as a
 * scrape's samples and its health go through one commit: for the prepared
 * polls one multi-row statement per table for all of them, their events and
 * every agent's cursor, so each agent's rows are stored if and only if its
 * cursor moved; for the failed polls their state, history row and
 * agent-failed event. One commit (one log flush) per batch instead of one per
 * agent. If the batch fails for a reason that is not MySQL being unreachable
 * or busy, the agents are written one by one, so one agent's bad data fails
 * only its own poll.
 */
export class PollStore {
  constructor(private readonly deps: PollStoreDeps) {}

  /** Stores `polls`; throws (after storing what it can) when MySQL fails, so the job is retried. */
  async store(polls: PollResult[]): Promise<AgentPollOutcome[]> {
    if (polls.length === 0) return [];
    try {
      await this.write(polls);
      return polls.map((poll) => this.stored(poll));
    } catch (err) {
      if (!isAgentFault(err)) throw err;
      if (polls.length > 1) this.deps.logger.warn(`writing ${polls.length} agents together failed (${errorMessage(err)}): writing them one by one`);
    }
    const outcomes: AgentPollOutcome[] = [];
    let firstError: unknown;
    for (const poll of polls) {
      try {
        outcomes.push(await this.writeAlone(poll));
      } catch (err) {
        firstError ??= err;
        this.deps.logger.error(`storing agent ${poll.record.agentId} failed: ${errorMessage(err)}`, { agent: poll.record.agentId });
      }
    }
    if (firstError) throw firstError;
    return outcomes;
  }

  /**
   * One agent's poll in a transaction of its own. When MySQL refuses its
   * data (a value no check foresaw), that agent's poll is recorded as failed
   * with MySQL's reason instead, its cursor unchanged; a server failure
   * throws.
   */
  private async writeAlone(poll: PollResult): Promise<AgentPollOutcome> {
    try {
      await this.write([poll]);
      return this.stored(poll);
    } catch (err) {
      if (poll.kind === 'failed' || !isAgentFault(err)) throw err;
      const failed: FailedPoll = {
        kind: 'failed',
        record: { ...poll.record, outcome: 'failed', error: `its data could not be stored: ${errorMessage(err)}` },
        reason: 'bad-payload',
        durationMs: Date.now() - poll.record.pollTime,
      };
      this.deps.logger.warn(`agent ${poll.record.agentId}: ${failed.record.error}`, { agent: poll.record.agentId });
      await this.write([failed]);
      return this.stored(failed);
    }
  }

  private stored(poll: PollResult): AgentPollOutcome {
    const { record } = poll;
    if (poll.kind === 'failed') {
      this.deps.metrics?.observePoll('failed', poll.durationMs / 1000);
      return { agentId: record.agentId, ok: false, rows: 0, parseErrors: 0, error: record.error };
    }
    this.deps.metrics?.observePoll('ok', (Date.now() - record.pollTime) / 1000);
    if (poll.rows) this.deps.metrics?.rowsWritten.inc({ kind: 'all' }, poll.rows);
    return { agentId: record.agentId, ok: true, rows: poll.rows, parseErrors: record.parseErrors };
  }

  private async write(polls: PollResult[]): Promise<void> {
    const prepared = polls.filter((p): p is PreparedPoll => p.kind === 'prepared');
    const failed = polls.filter((p): p is FailedPoll => p.kind === 'failed');
    const rules = prepared.length ? await this.deps.rules.current() : [];
    const inserts = mergeInserts(prepared.flatMap((p) => p.inserts));
    const events = await withTransaction(this.deps.pool, async (conn) => {
      for (const insert of inserts) await this.deps.writer.write(conn, insert);
      const changed: MonitoringEvent[] = await applyThresholds(
        conn,
        rules,
        prepared.flatMap((p) => p.series),
      );
      changed.push(
        ...(await applyPresence(
          conn,
          prepared.map(({ record, presence }) => ({
            agentId: record.agentId,
            pollTime: record.pollTime,
            slot: record.slot,
            hostIds: presence.hostIds,
            services: presence.services,
            missingAfterMs: this.deps.missingAfterMs,
          })),
        )),
      );
      for (const poll of prepared) {
        const { record } = poll;
        // An agent-failed event is opened only after failed polls and closed with the counter reset, so
        // an agent whose last poll was good has none to close (one locking read per agent saved).
        const recovered = poll.failing ? await closeAgentFailure(conn, record.agentId, record.pollTime) : undefined;
        if (recovered) changed.push(recovered);
      }
      const states = new AgentStateTable(conn);
      const now = Date.now();
      await states.recordSuccesses(
        prepared.map(({ record, cursor }) => ({
          agentId: record.agentId,
          pollTime: record.pollTime,
          since: cursor,
          error: record.error,
          durationMs: record.jobCostMs ?? now - record.pollTime,
          backoff: record.backoff,
        })),
      );
      await states.recordFailures(
        failed.map(({ record, durationMs }) => ({
          agentId: record.agentId,
          pollTime: record.pollTime,
          error: record.error,
          durationMs: record.jobCostMs ?? durationMs,
          backoff: record.backoff,
        })),
      );
      await writeAgentHistory(
        conn,
        polls.map((p) => p.record),
      );
      changed.push(
        ...(await openAgentFailures(
          conn,
          failed.map(({ record }) => ({ agentId: record.agentId, reason: record.error })),
          this.deps.agentFailureThreshold,
        )),
      );
      return changed;
    });
    if (events.length) await this.announce(events);
    await this.deps.logAlerts?.announce(prepared.flatMap((p) => p.services));
  }

  /**
   * Hands committed events to alerting. A failure here is logged, not
   * thrown: the sink's Redis connection gives up after a few retries (about
   * a second), the rows are committed and a retried poll would not announce
   * them again; the alerter's reconciler finds transitions it never saw.
   */
  private async announce(events: MonitoringEvent[]): Promise<void> {
    try {
      await this.deps.events.publish(events);
    } catch (err) {
      this.deps.logger.error(`could not hand ${events.length} events to alerting: ${errorMessage(err)}`);
    }
  }
}
