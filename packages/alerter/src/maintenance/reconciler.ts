import { logAlertEvent, type EventSink, type MonitoringEvent, type Pool, type RowDataPacket } from '@watched/core';

export interface ReconcilerOptions {
  /** Transitions published again per table and pass at most (default 1000; log lines: ten times that checked). */
  limit?: number;
  /** `--alert-log-level` (c$event_types id, 0 = off, the default): log lines of this type or worse are alerts too. */
  logLevel?: number;
}

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
  private readonly limit: number;
  private readonly logLevel: number;

  /** Log lines (`s$log_events` ids) checked up to here, and the newest id seen at the previous pass. */
  private logCursor?: number;
  private logHorizon?: number;

  constructor(
    private readonly pool: Pool,
    private readonly sink: EventSink,
    private readonly lookbackMs: number,
    private readonly graceMs: number,
    options: ReconcilerOptions = {},
  ) {
    this.limit = options.limit ?? 1000;
    this.logLevel = options.logLevel ?? 0;
  }

  /** One pass; returns the transitions published again. */
  async run(now = Date.now()): Promise<MonitoringEvent[]> {
    const from = now - this.lookbackMs;
    const to = now - this.graceMs;
    if (to <= from) return [];
    const found: MonitoringEvent[] = [];
    const scan = async (table: MonitoringEvent['table'], kindSql: string, transition: 'opened' | 'closed') => {
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
    if (this.logLevel > 0) found.push(...(await this.scanLogLines(from)));
    if (found.length) await this.sink.publish(found);
    return found;
  }

  /**
   * Log lines have no index on their time, so they are followed by id: each
   * pass checks the lines up to the newest id seen at the previous pass (so
   * committed at least one interval ago: the normal path had its chance)
   * and remembers the newest id now. The first pass starts after the newest
   * log line the ledger knows (lines lost before this alerter started are
   * not looked for).
   */
  private async scanLogLines(from: number): Promise<MonitoringEvent[]> {
    const [[newest]] = await this.pool.query<RowDataPacket[]>('SELECT COALESCE(MAX(id), 0) AS id FROM `s$log_events`');
    if (this.logCursor === undefined || this.logHorizon === undefined) {
      const [[known]] = await this.pool.query<RowDataPacket[]>(
        "SELECT MAX(event_id) AS id FROM `c$alert_events` WHERE event_table = 's$log_events'",
      );
      this.logCursor = known.id === null ? Number(newest.id) : Math.min(Number(known.id), Number(newest.id));
      this.logHorizon = Number(newest.id);
      return [];
    }
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT l.id, l.serv_id, l.`timestamp`, l.event_type, l.source_name, LEFT(l.`text`, 512) AS text, a.event_id AS seen ' +
        'FROM `s$log_events` l LEFT JOIN `c$alert_events` a ' +
        "ON a.event_table = 's$log_events' AND a.event_id = l.id AND a.transition = 'opened' " +
        'WHERE l.id > ? AND l.id <= ? ORDER BY l.id LIMIT ?',
      [this.logCursor, this.logHorizon, this.limit * 10],
    );
    const found = rows
      .filter((r) => r.seen === null && Number(r.event_type) <= this.logLevel && Number(r.timestamp) >= from)
      .map((r) => logAlertEvent(r));
    // A full page: continue from its last line next time, before moving the horizon.
    if (rows.length === this.limit * 10) this.logCursor = Number(rows.at(-1)!.id);
    else [this.logCursor, this.logHorizon] = [this.logHorizon, Number(newest.id)];
    return found;
  }
}
