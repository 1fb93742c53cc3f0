import { errorMessage, isRetryableMysqlError, withTransaction, type Logger, type Pool, type WatchedMetrics } from '@watched/core';
import { advanceCursors } from './agent-state.js';
import type { AgentPollOutcome, PreparedPoll } from './agent-poller.js';
import { notOkItems } from './ingest/services.js';
import { insertBatched, mergeInserts } from './sql-batch.js';
import { closeAgentFailure } from './events/agent-failures.js';
import type { EventSink, MonitoringEvent } from '@watched/core';
import type { LogAlerts } from './events/log-alerts.js';
import { applyPresence } from './events/presence.js';
import type { ThresholdRules } from './events/threshold-rules.js';
import { applyThresholds } from './events/threshold-writer.js';

export interface PollStoreDeps {
  pool: Pool;
  logger: Logger;
  insertBatchRows: number;
  rules: ThresholdRules;
  events: EventSink;
  /** How long a host or service may go unreported before it counts as missing. */
  missingAfterMs: number;
  metrics?: WatchedMetrics;
  /** Log lines at or above the alert level, announced after commit (events/log-alerts.ts). */
  logAlerts?: LogAlerts;
}

/**
 * Writes the prepared polls of several agents in ONE transaction: one
 * multi-row statement per table for all of them, their events, and every
 * agent's cursor, so each agent's rows are stored if and only if its cursor
 * moved, at the cost of one commit (one log flush) per batch instead of one
 * per agent. If the batch fails for a reason that is not MySQL being
 * unreachable or busy, the agents are written one by one, so one agent's
 * bad data fails only its own poll.
 */
export class PollStore {
  constructor(private readonly deps: PollStoreDeps) {}

  /** Stores `polls`; throws (after storing what it can) when MySQL fails, so the job is retried. */
  async store(polls: PreparedPoll[]): Promise<AgentPollOutcome[]> {
    if (polls.length === 0) return [];
    try {
      await this.write(polls);
      return polls.map((poll) => this.stored(poll));
    } catch (err) {
      if (polls.length === 1 || !isAgentSpecific(err)) throw err;
      this.deps.logger.warn(`writing ${polls.length} agents together failed (${errorMessage(err)}): writing them one by one`);
    }
    const outcomes: AgentPollOutcome[] = [];
    let firstError: unknown;
    for (const poll of polls) {
      try {
        await this.write([poll]);
        outcomes.push(this.stored(poll));
      } catch (err) {
        firstError ??= err;
        this.deps.logger.error(`storing agent ${poll.record.agentId} failed: ${errorMessage(err)}`, { agent: poll.record.agentId });
      }
    }
    if (firstError) throw firstError;
    return outcomes;
  }

  private stored(poll: PreparedPoll): AgentPollOutcome {
    this.deps.metrics?.observePoll('ok', (Date.now() - poll.record.pollTime) / 1000);
    if (poll.rows) this.deps.metrics?.rowsWritten.inc({ kind: 'all' }, poll.rows);
    return { agentId: poll.record.agentId, ok: true, rows: poll.rows, parseErrors: poll.record.parseErrors };
  }

  private async write(polls: PreparedPoll[]): Promise<void> {
    const rules = await this.deps.rules.current();
    const inserts = mergeInserts(polls.flatMap((p) => p.inserts));
    const events = await withTransaction(this.deps.pool, async (conn) => {
      for (const insert of inserts) await insertBatched(conn, insert, this.deps.insertBatchRows);
      const changed: MonitoringEvent[] = await applyThresholds(
        conn,
        rules,
        polls.flatMap((p) => p.series),
      );
      changed.push(
        ...(await applyPresence(
          conn,
          polls.map(({ record, hostIds, services }) => ({
            agentId: record.agentId,
            pollTime: record.pollTime,
            slot: record.slot,
            hostIds,
            services: services.map(({ service, servId }) => ({ servId, notOk: notOkItems(service) })),
            missingAfterMs: this.deps.missingAfterMs,
          })),
        )),
      );
      for (const poll of polls) {
        const { record } = poll;
        // An agent-failed event is opened only after failed polls and closed with the counter reset, so
        // an agent whose last poll was good has none to close (one locking read per agent saved).
        const recovered = poll.failing ? await closeAgentFailure(conn, record.agentId, record.pollTime) : undefined;
        if (recovered) changed.push(recovered);
      }
      await advanceCursors(
        conn,
        polls.map((p) => ({ record: p.record, since: p.cursor })),
      );
      return changed;
    });
    if (events.length) await announceEvents(this.deps.events, this.deps.logger, events);
    await this.deps.logAlerts?.announce(polls.flatMap((p) => p.services));
  }
}

/**
 * Hands committed events to alerting. A failure here is logged, not
 * thrown: the rows are committed and a retried poll would not announce
 * them again; the alerter's reconciler finds transitions it never saw.
 */
export async function announceEvents(sink: EventSink, logger: Logger, events: MonitoringEvent[]): Promise<void> {
  try {
    await sink.publish(events);
  } catch (err) {
    logger.error(`could not hand ${events.length} events to alerting: ${errorMessage(err)}`);
  }
}

/**
 * Whether a failed batch may be one agent's fault: MySQL refused a statement
 * (bad value, constraint), or a bug met odd data. Not when the connection is
 * gone or the server is busy: writing agent by agent would only fail N times.
 */
function isAgentSpecific(err: unknown): boolean {
  const e = err as { fatal?: boolean; code?: string; errno?: number } | null;
  if (!e || e.fatal || isRetryableMysqlError(err)) return false;
  if (typeof e.code === 'string' && /^(E[A-Z]+$|PROTOCOL_|ER_CON_COUNT|ER_SERVER_SHUTDOWN)/.test(e.code)) return false;
  return true;
}
