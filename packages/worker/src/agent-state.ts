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

/** The agent's `/all` cursor, or undefined before its first successful poll. */
export async function readCursor(pool: Pool, agentId: number): Promise<number | undefined> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT since FROM `agt$state` WHERE agt_id = ?', [agentId]);
  const since = rows[0]?.since;
  return since === null || since === undefined ? undefined : Number(since);
}

/**
 * Moves the cursor inside the transaction that stores the poll's rows:
 * committed together or not at all.
 */
export async function advanceCursor(conn: PoolConnection, record: PollRecord, since: number): Promise<void> {
  await conn.query(
    'INSERT INTO `agt$state` (agt_id, since, last_poll, last_ok, consecutive_failures, last_error) VALUES (?, ?, ?, ?, 0, ?) ' +
      'ON DUPLICATE KEY UPDATE since = VALUES(since), last_poll = VALUES(last_poll), last_ok = VALUES(last_ok), ' +
      'consecutive_failures = 0, failing_since = NULL, last_error = VALUES(last_error)',
    [record.agentId, since, record.pollTime, record.pollTime, record.error?.slice(0, 1024) ?? null],
  );
  await writeHistory(conn, record);
}

/** Records a failed poll; the cursor stays where it was. */
export async function recordFailure(pool: Pool, record: PollRecord): Promise<void> {
  await pool.query(
    // failing_since is assigned before the counter changes: MySQL applies assignments left to right.
    'INSERT INTO `agt$state` (agt_id, last_poll, consecutive_failures, failing_since, last_error) VALUES (?, ?, 1, ?, ?) ' +
      'ON DUPLICATE KEY UPDATE failing_since = IF(consecutive_failures = 0, VALUES(last_poll), failing_since), ' +
      'last_poll = VALUES(last_poll), consecutive_failures = consecutive_failures + 1, last_error = VALUES(last_error)',
    [record.agentId, record.pollTime, record.pollTime, record.error?.slice(0, 1024) ?? null],
  );
  await writeHistory(pool, record);
}

async function writeHistory(db: Pool | PoolConnection, record: PollRecord): Promise<void> {
  const ok = record.outcome === 'ok' ? 1 : 0;
  const failed = record.outcome === 'failed' ? 1 : 0;
  const parse = record.outcome === 'parse' ? 1 : record.parseErrors;
  await db.query(
    'INSERT INTO `agt$history` (agt_id, `timestamp`, failed, missing, parse, ok) VALUES (?, ?, ?, 0, ?, ?) ' +
      'ON DUPLICATE KEY UPDATE failed = VALUES(failed), parse = VALUES(parse), ok = VALUES(ok)',
    [record.agentId, record.slot, failed, parse, ok],
  );
}
