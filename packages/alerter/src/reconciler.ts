import type { Pool, RowDataPacket } from '@watched/core';
import type { EventSink, MonitoringEvent } from '@watched/worker';

/**
 * The worker publishes transitions after its transaction commits; if Redis is
 * unreachable at that moment the publish fails, but the rows are committed
 * and a retried poll does not announce them again. The reconciler closes that
 * gap: it looks in the event tables for transitions of the last `lookbackMs`
 * (older than `graceMs`, so the normal path had its chance) that the ledger
 * `c$alert_events` does not know, and publishes them again (deterministic job
 * ids: one still queued is not added twice).
 */
export class Reconciler {
  constructor(
    private readonly pool: Pool,
    private readonly sink: EventSink,
    private readonly lookbackMs: number,
    private readonly graceMs: number,
    private readonly limit = 1000,
  ) {}

  /** One pass; returns the transitions published again. */
  async run(now = Date.now()): Promise<MonitoringEvent[]> {
    const from = now - this.lookbackMs;
    const to = now - this.graceMs;
    if (to <= from) return [];
    const found: MonitoringEvent[] = [];
    const scan = async (table: string, kindSql: string, transition: 'opened' | 'closed') => {
      const column = transition === 'opened' ? 'start_time' : 'end_time';
      const [rows] = await this.pool.query<(RowDataPacket & { id: number; t: number; kind: MonitoringEvent['kind'] })[]>(
        `SELECT e.id, e.${column} AS t, ${kindSql} AS kind FROM \`${table}\` e ` +
          'LEFT JOIN `c$alert_events` a ON a.event_table = ? AND a.event_id = e.id AND a.transition = ? ' +
          `WHERE e.${column} >= ? AND e.${column} < ? AND a.event_id IS NULL ORDER BY e.${column} LIMIT ?`,
        [table, transition, from, to, this.limit],
      );
      for (const r of rows) found.push({ kind: r.kind, transition, id: Number(r.id), table, time: Number(r.t), detail: { reconciled: true } });
    };
    for (const transition of ['opened', 'closed'] as const) {
      await scan('h$res_events', "'threshold'", transition);
      await scan('s$res_events', "'threshold'", transition);
      await scan('agt$events', "'agent-failed'", transition);
      await scan('c$state_events', 'e.kind', transition);
    }
    if (found.length) await this.sink.publish(found);
    return found;
  }
}
