import type { Pool, RowDataPacket } from '@watched/core';
import type { PlannedAgent } from '../group-planner.js';

/**
 * The agents discovery retired (`agt$discovery.retired_at` set): they stay
 * in `c$agents` (history and cursor kept, the front still lists them) but the
 * scheduler plans without them. Read by the scheduler with each refresh of
 * `c$agents` (a small indexed read), by every leader, whether or not it runs
 * discovery sources itself.
 */
export class RetiredAgents {
  private ids: ReadonlySet<number> = new Set();

  constructor(private readonly pool: Pool) {}

  /** Re-reads the retired set; true when it differs from the previous read (the plan must then be redone). */
  async refresh(): Promise<boolean> {
    const [rows] = await this.pool.query<RowDataPacket[]>({ sql: 'SELECT agent_id FROM `agt$discovery` WHERE retired_at IS NOT NULL', rowsAsArray: true });
    const next = new Set((rows as unknown as Array<[number]>).map(([id]) => Number(id)));
    const changed = next.size !== this.ids.size || [...next].some((id) => !this.ids.has(id));
    this.ids = next;
    return changed;
  }

  /** The agents to plan: all but the retired ones. */
  without(agents: PlannedAgent[]): PlannedAgent[] {
    return this.ids.size === 0 ? agents : agents.filter((a) => !this.ids.has(a.id));
  }
}
