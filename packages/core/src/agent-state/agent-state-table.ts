import type { Pool, PoolConnection, RowDataPacket } from '../mysql.js';

/**
 * One agent's polling state (`agt$state`, migrations 0002, 0004 and 0007),
 * kept by the workers with each poll's outcome and read by the agents list
 * and the leader's cost balancing.
 */
export interface AgentState {
  /** The agent's `/all` cursor: time (agent clock, epoch ms) of the newest data stored; null before the first good poll. */
  since: number | null;
  lastPoll: number | null;
  lastOk: number | null;
  consecutiveFailures: number;
  /** Time of the first failure of the current run; null while the last poll was good. */
  failingSince: number | null;
  lastError: string | null;
  /** Moving average of a poll's duration (fetch + store) in ms, failures included; null before the first poll. */
  pollMs: number | null;
  /** Consecutive polls not answered within the job's deadline (migration 0013); above 0 the agent is polled off the hot path. */
  slowPolls: number;
  /** Not polled before this time (epoch ms): its backed-off retry, or a slow-lane poll under way; null on the normal schedule. */
  retryAt: number | null;
}

/**
 * Where an agent's next poll stands (migration 0013), written with each poll's
 * outcome: `slow` when it was not answered within the job's deadline (or
 * answered only by the slow lane), with the time its next poll may start.
 * Absent: answered in time, back on the normal schedule.
 */
export interface AgentBackoff {
  slow: boolean;
  retryAt: number | null;
}

/** A poll whose rows are stored in the same transaction: the cursor moves with them. */
export interface AgentPollSuccess {
  agentId: number;
  pollTime: number;
  /** The new cursor. */
  since: number;
  /** Problems met in an answer whose valid data was stored (shown by the agents list). */
  error?: string;
  durationMs: number;
  backoff?: AgentBackoff;
}

/** A poll that got no usable answer: the cursor stays where it was, the run of failures grows. */
export interface AgentPollFailure {
  agentId: number;
  pollTime: number;
  error?: string;
  durationMs: number;
  backoff?: AgentBackoff;
}

/** The columns of a state row, in the order `fromRow` reads them. */
const COLUMNS = ['since', 'last_poll', 'last_ok', 'consecutive_failures', 'failing_since', 'last_error', 'poll_ms', 'slow_polls', 'retry_at'] as const;

/** `last_error` is a VARCHAR(1024). */
const ERROR_CHARS = 1024;

/**
 * The agent's poll cost for balancing groups (migration 0007): a moving
 * average of the poll's duration in ms, failures included (a timing-out agent
 * costs its worker the timeout).
 */
const POLL_COST_UPDATE = 'poll_ms = IF(poll_ms IS NULL, VALUES(poll_ms), 0.7 * poll_ms + 0.3 * VALUES(poll_ms))';

/**
 * Backoff columns (migration 0013) after a success: an agent answered only off
 * the hot path keeps its count (at least 1), one answered in time is back to 0.
 */
const SUCCESS_BACKOFF_UPDATE = 'slow_polls = IF(VALUES(slow_polls) > 0, GREATEST(slow_polls, 1), 0), retry_at = VALUES(retry_at)';
/** After a failure: one more slow poll when it timed out, else back to 0 (a refused agent costs nothing to retry). */
const FAILURE_BACKOFF_UPDATE = 'slow_polls = IF(VALUES(slow_polls) > 0, slow_polls + 1, 0), retry_at = VALUES(retry_at)';

const backoffValues = (backoff: AgentBackoff | undefined): [number, number | null] => [backoff?.slow ? 1 : 0, backoff?.retryAt ?? null];

const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/**
 * Reads and writes `agt$state`: the one place that knows its columns. On a
 * pool, or on the connection of a transaction (a poll's state is written in
 * the transaction that stores its rows).
 */
export class AgentStateTable {
  static readonly TABLE = 'agt$state';

  constructor(private readonly db: Pool | PoolConnection) {}

  /** The select list of a state row under `alias`, for queries that join it (the agents list); read back by `fromRow`. */
  static columns(alias: string): string {
    return COLUMNS.map((column) => `${alias}.${column}`).join(', ');
  }

  /** A row holding the `columns()`; the nulls of a LEFT JOIN read as an agent never polled. */
  static fromRow(row: RowDataPacket): AgentState {
    return {
      since: numberOrNull(row.since),
      lastPoll: numberOrNull(row.last_poll),
      lastOk: numberOrNull(row.last_ok),
      consecutiveFailures: Number(row.consecutive_failures ?? 0),
      failingSince: numberOrNull(row.failing_since),
      lastError: row.last_error ?? null,
      pollMs: numberOrNull(row.poll_ms),
      slowPolls: Number(row.slow_polls ?? 0),
      retryAt: numberOrNull(row.retry_at),
    };
  }

  /** The states of these agents, in one query; an agent never polled has none. */
  async read(agentIds: number[]): Promise<Map<number, AgentState>> {
    const states = new Map<number, AgentState>();
    if (agentIds.length === 0) return states;
    const [rows] = await this.db.query<RowDataPacket[]>(
      `SELECT s.agt_id, ${AgentStateTable.columns('s')} FROM \`agt$state\` s WHERE s.agt_id IN (?)`,
      [agentIds],
    );
    for (const row of rows) states.set(Number(row.agt_id), AgentStateTable.fromRow(row));
    return states;
  }

  /** Moves the cursors of polls whose rows are stored, ends their runs of failures; one statement. */
  async recordSuccesses(polls: AgentPollSuccess[]): Promise<void> {
    await this.upsert(
      polls,
      'INSERT INTO `agt$state` (agt_id, since, last_poll, last_ok, consecutive_failures, last_error, poll_ms, slow_polls, retry_at) VALUES ? ' +
        'ON DUPLICATE KEY UPDATE since = VALUES(since), last_poll = VALUES(last_poll), last_ok = VALUES(last_ok), ' +
        `consecutive_failures = 0, failing_since = NULL, last_error = VALUES(last_error), ${POLL_COST_UPDATE}, ${SUCCESS_BACKOFF_UPDATE}`,
      (p) => [p.agentId, p.since, p.pollTime, p.pollTime, 0, p.error?.slice(0, ERROR_CHARS) ?? null, p.durationMs, ...backoffValues(p.backoff)],
    );
  }

  /** Records failed polls, cursors unchanged; one statement. */
  async recordFailures(polls: AgentPollFailure[]): Promise<void> {
    await this.upsert(
      polls,
      // failing_since is assigned before the counter changes: MySQL applies assignments left to right.
      'INSERT INTO `agt$state` (agt_id, last_poll, consecutive_failures, failing_since, last_error, poll_ms, slow_polls, retry_at) VALUES ? ' +
        'ON DUPLICATE KEY UPDATE failing_since = IF(consecutive_failures = 0, VALUES(last_poll), failing_since), ' +
        `last_poll = VALUES(last_poll), consecutive_failures = consecutive_failures + 1, last_error = VALUES(last_error), ${POLL_COST_UPDATE}, ` +
        FAILURE_BACKOFF_UPDATE,
      (p) => [p.agentId, p.pollTime, 1, p.pollTime, p.error?.slice(0, ERROR_CHARS) ?? null, p.durationMs, ...backoffValues(p.backoff)],
    );
  }

  /**
   * Holds back the next poll of these agents until `until` (epoch ms): set
   * when a job hands them to its worker's slow lane, so the next slot's job
   * (on any worker) does not poll them a second time meanwhile. Their poll's
   * outcome replaces it; a worker killed meanwhile leaves it to expire.
   */
  async holdUntil(agentIds: number[], until: number): Promise<void> {
    if (agentIds.length === 0) return;
    await this.db.query('UPDATE `agt$state` SET retry_at = GREATEST(COALESCE(retry_at, 0), ?) WHERE agt_id IN (?)', [until, [...agentIds].sort((a, b) => a - b)]);
  }

  /** The agents off the hot path (`slow_polls > 0`) with their next retry, for status (counts per group). */
  async slowAgents(): Promise<Map<number, { slowPolls: number; retryAt: number | null }>> {
    const [rows] = await this.db.query<RowDataPacket[]>('SELECT agt_id, slow_polls, retry_at FROM `agt$state` WHERE slow_polls > 0');
    return new Map(rows.map((r) => [Number(r.agt_id), { slowPolls: Number(r.slow_polls), retryAt: numberOrNull(r.retry_at) }]));
  }

  /** One multi-row statement, rows in agent order (the same lock order in every transaction). */
  private async upsert<T extends { agentId: number }>(polls: T[], sql: string, row: (poll: T) => unknown[]): Promise<void> {
    if (polls.length === 0) return;
    await this.db.query(sql, [[...polls].sort((a, b) => a.agentId - b.agentId).map(row)]);
  }

  /**
   * Measured poll costs (`poll_ms > 0`) of the agents after `afterId`, in id
   * order, at most `limit`: `[agentId, ms]` pairs, read as arrays so a
   * million rows cost little.
   */
  async pollCosts(afterId: number, limit: number): Promise<Array<[number, number]>> {
    const [rows] = await this.db.query<RowDataPacket[]>({
      sql: 'SELECT agt_id, poll_ms FROM `agt$state` WHERE poll_ms > 0 AND agt_id > ? ORDER BY agt_id LIMIT ?',
      values: [afterId, Math.min(limit, 2 ** 31 - 1)],
      rowsAsArray: true,
    });
    return rows as unknown as Array<[number, number]>;
  }

  /** Sets every registered agent's cursor to `since`, so polls read nothing older (tests that know exactly what was served). */
  async seedCursors(since: number): Promise<void> {
    await this.db.query(
      'INSERT INTO `agt$state` (agt_id, since) SELECT id, ? FROM `c$agents` ON DUPLICATE KEY UPDATE since = VALUES(since)',
      [since],
    );
  }
}
