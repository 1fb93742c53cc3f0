import type { Pool, PoolConnection, RowDataPacket } from '@watched/core';

/** How one poll of one agent went, as recorded in `agt$history` and `agt$state`. */
export interface PollRecord {
  agentId: number;
  /** The job's slot: the key of the `agt$history` row, identical on a retry. */
  slot: number;
  pollTime: number;
  outcome: 'ok' | 'failed' | 'parse';
  parseErrors: number;
  error?: string;
}

/**
 * The agent's poll cost for balancing groups (migration 0007): a moving
 * average of the poll's duration in ms, failures included (a timing-out agent
 * costs its worker the timeout).
 */
const POLL_COST_UPDATE = 'poll_ms = IF(poll_ms IS NULL, VALUES(poll_ms), 0.7 * poll_ms + 0.3 * VALUES(poll_ms))';

/** What a poll needs to know of an agent's state before it starts. */
export interface AgentStateBefore {
  /** The `/all` cursor; undefined before the first successful poll. */
  since?: number;
  /** The last poll failed: a good poll may have an agent-failed event to close. */
  failing: boolean;
}

/** The states of a job's agents, read in one query; an agent never polled has none. */
export async function readAgentStates(pool: Pool, agentIds: number[]): Promise<Map<number, AgentStateBefore>> {
  const states = new Map<number, AgentStateBefore>();
  if (agentIds.length === 0) return states;
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT agt_id, since, consecutive_failures FROM `agt$state` WHERE agt_id IN (?)',
    [agentIds],
  );
  for (const row of rows) {
    states.set(Number(row.agt_id), {
      since: row.since === null ? undefined : Number(row.since),
      failing: Number(row.consecutive_failures) > 0,
    });
  }
  return states;
}

/** A successful poll's record and the cursor it moves to. */
export interface CursorAdvance {
  record: PollRecord;
  since: number;
}

/**
 * Moves the cursors of several agents inside the transaction that stores
 * their polls' rows: committed together or not at all. Two statements
 * whatever the number of agents, rows in agent order (the same lock order in
 * every transaction).
 */
export async function advanceCursors(conn: PoolConnection, advances: CursorAdvance[]): Promise<void> {
  if (advances.length === 0) return;
  const sorted = [...advances].sort((a, b) => a.record.agentId - b.record.agentId);
  const now = Date.now();
  await conn.query(
    'INSERT INTO `agt$state` (agt_id, since, last_poll, last_ok, consecutive_failures, last_error, poll_ms) VALUES ? ' +
      'ON DUPLICATE KEY UPDATE since = VALUES(since), last_poll = VALUES(last_poll), last_ok = VALUES(last_ok), ' +
      `consecutive_failures = 0, failing_since = NULL, last_error = VALUES(last_error), ${POLL_COST_UPDATE}`,
    [
      sorted.map(({ record, since }) => [
        record.agentId,
        since,
        record.pollTime,
        record.pollTime,
        0,
        record.error?.slice(0, 1024) ?? null,
        now - record.pollTime,
      ]),
    ],
  );
  await writeHistory(conn, sorted.map((a) => a.record));
}

/** Records a failed poll; the cursor stays where it was. */
export async function recordFailure(pool: Pool, record: PollRecord): Promise<void> {
  await pool.query(
    // failing_since is assigned before the counter changes: MySQL applies assignments left to right.
    'INSERT INTO `agt$state` (agt_id, last_poll, consecutive_failures, failing_since, last_error, poll_ms) VALUES (?, ?, 1, ?, ?, ?) ' +
      'ON DUPLICATE KEY UPDATE failing_since = IF(consecutive_failures = 0, VALUES(last_poll), failing_since), ' +
      `last_poll = VALUES(last_poll), consecutive_failures = consecutive_failures + 1, last_error = VALUES(last_error), ${POLL_COST_UPDATE}`,
    [record.agentId, record.pollTime, record.pollTime, record.error?.slice(0, 1024) ?? null, Date.now() - record.pollTime],
  );
  await writeHistory(pool, [record]);
}

async function writeHistory(db: Pool | PoolConnection, records: PollRecord[]): Promise<void> {
  const rows = records.map((record) => {
    const ok = record.outcome === 'ok' ? 1 : 0;
    const failed = record.outcome === 'failed' ? 1 : 0;
    const parse = record.outcome === 'parse' ? 1 : record.parseErrors;
    return [record.agentId, record.slot, failed, 0, parse, ok];
  });
  await db.query(
    'INSERT INTO `agt$history` (agt_id, `timestamp`, failed, missing, parse, ok) VALUES ? ' +
      'ON DUPLICATE KEY UPDATE failed = VALUES(failed), parse = VALUES(parse), ok = VALUES(ok)',
    [rows],
  );
}
