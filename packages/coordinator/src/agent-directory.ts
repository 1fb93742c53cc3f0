import type { Pool, RowDataPacket } from '@watched/core';
import type { PlannedAgent } from './group-planner.js';

/** Upstream's default `pool_freq` (seconds) when a row leaves it NULL. */
const DEFAULT_FREQUENCY_S = 300;

/** Every agent the leader schedules: all of `c$agents` with a positive frequency. */
export async function loadScheduledAgents(pool: Pool): Promise<PlannedAgent[]> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT id, pool_freq FROM `c$agents` ORDER BY id');
  return rows.map((r) => ({
    id: Number(r.id),
    frequencyMs: Math.max(1, Number(r.pool_freq ?? DEFAULT_FREQUENCY_S)) * 1000,
  }));
}
