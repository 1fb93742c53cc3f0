import { AgentStateTable, type PoolConnection, type RowDataPacket } from '@watched/core';
import type { MonitoringEvent } from '@watched/core';

/** `agt$events.reason` is a VARCHAR(1024). */
const REASON_CHARS = 1024;

/**
 * Agent-failed events (upstream TODO): opened when an agent's run of failed
 * polls reaches `threshold`, starting at the first failure of the run, and
 * closed by the next good poll. At most one is open per agent (unique key).
 * Called in the transaction that recorded the failures (`agt$state` already
 * counts them), agents in id order.
 */
export async function openAgentFailures(
  conn: PoolConnection,
  failures: Array<{ agentId: number; reason: string }>,
  threshold: number,
): Promise<MonitoringEvent[]> {
  if (failures.length === 0) return [];
  const states = await new AgentStateTable(conn).read(failures.map((f) => f.agentId));
  const opened: MonitoringEvent[] = [];
  for (const { agentId, reason } of [...failures].sort((a, b) => a.agentId - b.agentId)) {
    const state = states.get(agentId);
    if (!state || state.consecutiveFailures < threshold) continue;
    const [result] = await conn.query(
      'INSERT IGNORE INTO `agt$events` (agt_id, start_time, failures, reason) VALUES (?, ?, ?, ?)',
      [agentId, state.failingSince, state.consecutiveFailures, reason.slice(0, REASON_CHARS)],
    );
    const { affectedRows, insertId } = result as { affectedRows: number; insertId: number };
    if (affectedRows === 0) {
      // Already open: keep its failure count current.
      await conn.query('UPDATE `agt$events` SET failures = ?, reason = ? WHERE agt_id = ? AND end_time IS NULL', [
        state.consecutiveFailures,
        reason.slice(0, REASON_CHARS),
        agentId,
      ]);
      continue;
    }
    opened.push({
      kind: 'agent-failed',
      transition: 'opened',
      id: insertId,
      table: 'agt$events',
      time: state.failingSince!,
      detail: { agentId, failures: state.consecutiveFailures, reason },
    });
  }
  return opened;
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
