import type { Pool, PoolConnection, RowDataPacket } from '@watched/core';
import type { MonitoringEvent } from '@watched/core';

/**
 * Agent-failed events (upstream TODO): opened when an agent's run of failed
 * polls reaches `threshold`, starting at the first failure of the run, and
 * closed by the next good poll. At most one is open per agent (unique key).
 */
export async function openAgentFailure(
  pool: Pool,
  agentId: number,
  threshold: number,
  reason: string,
): Promise<MonitoringEvent | undefined> {
  const [[state]] = await pool.query<RowDataPacket[]>(
    'SELECT consecutive_failures, failing_since FROM `agt$state` WHERE agt_id = ?',
    [agentId],
  );
  if (!state || state.consecutive_failures < threshold) return undefined;
  const [result] = await pool.query(
    'INSERT IGNORE INTO `agt$events` (agt_id, start_time, failures, reason) VALUES (?, ?, ?, ?)',
    [agentId, state.failing_since, state.consecutive_failures, reason.slice(0, 1024)],
  );
  const { affectedRows, insertId } = result as { affectedRows: number; insertId: number };
  if (affectedRows === 0) {
    // Already open: keep its failure count current.
    await pool.query('UPDATE `agt$events` SET failures = ?, reason = ? WHERE agt_id = ? AND end_time IS NULL', [
      state.consecutive_failures,
      reason.slice(0, 1024),
      agentId,
    ]);
    return undefined;
  }
  return {
    kind: 'agent-failed',
    transition: 'opened',
    id: insertId,
    table: 'agt$events',
    time: state.failing_since,
    detail: { agentId, failures: state.consecutive_failures, reason },
  };
}

/** Closes the agent's open failure event, in the transaction of its first good poll. */
export async function closeAgentFailure(conn: PoolConnection, agentId: number, time: number): Promise<MonitoringEvent | undefined> {
  const [open] = await conn.query<RowDataPacket[]>(
    'SELECT id FROM `agt$events` WHERE agt_id = ? AND end_time IS NULL FOR UPDATE',
    [agentId],
  );
  if (open.length === 0) return undefined;
  await conn.query('UPDATE `agt$events` SET end_time = ? WHERE id = ?', [time, open[0].id]);
  return { kind: 'agent-failed', transition: 'closed', id: open[0].id, table: 'agt$events', time, detail: { agentId } };
}
