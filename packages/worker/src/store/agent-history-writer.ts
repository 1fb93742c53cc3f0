import type { PoolConnection } from '@watched/core';
import type { PollRecord } from '../poll-result.js';

/** One `agt$history` row per poll, keyed by the job's slot: a retried job overwrites instead of adding. */
export async function writeAgentHistory(conn: PoolConnection, records: PollRecord[]): Promise<void> {
  if (records.length === 0) return;
  const rows = [...records]
    .sort((a, b) => a.agentId - b.agentId)
    .map((record) => {
      const ok = record.outcome === 'ok' ? 1 : 0;
      const failed = record.outcome === 'failed' ? 1 : 0;
      const parse = record.outcome === 'parse' ? 1 : record.parseErrors;
      return [record.agentId, record.slot, failed, 0, parse, ok];
    });
  await conn.query(
    'INSERT INTO `agt$history` (agt_id, `timestamp`, failed, missing, parse, ok) VALUES ? ' +
      'ON DUPLICATE KEY UPDATE failed = VALUES(failed), parse = VALUES(parse), ok = VALUES(ok)',
    [rows],
  );
}
