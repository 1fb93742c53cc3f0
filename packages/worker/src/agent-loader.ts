import { DEFAULT_POLL_INTERVAL_S, type Pool, type RowDataPacket } from '@watched/core';
import type { AgentRecord } from './agent-client.js';

/** Reads agents from `c$agents`. Workers read them per job: the table is the truth. */
export async function loadAgents(pool: Pool, ids: number[]): Promise<AgentRecord[]> {
  if (ids.length === 0) return [];
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT id, host, port, pool_freq, use_ssl FROM `c$agents` WHERE id IN (?)',
    [ids],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    // Upstream turned 'localhost' into 127.0.0.1; keep doing so (no IPv6 surprise).
    host: r.host === 'localhost' ? '127.0.0.1' : String(r.host),
    port: Number(r.port),
    pollIntervalS: Number(r.pool_freq ?? DEFAULT_POLL_INTERVAL_S),
    useSsl: Boolean(r.use_ssl),
  }));
}
