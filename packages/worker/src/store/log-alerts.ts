import { errorMessage, logAlertEvent, type EventSink, type Logger, type MonitoringEvent, type Pool, type RowDataPacket } from '@watched/core';
import { eventTypeOfLevel } from '../ingest/logs.js';
import type { ServiceSnapshot } from '../ingest/snapshot.js';

/** Rows looked up per statement (the unique key has four columns). */
const LOOKUP_ROWS = 500;

/** What a log alert carries besides its id; the alerter reads the rest from the row. */
const DETAIL_TEXT_CHARS = 512;

/**
 * Log lines at or above the alert level become `log-event` alerts. Called
 * once per poll, after the transaction that stored the lines committed: the
 * lines are looked up by their unique key (service, source, date mark, line
 * number) to get the `s$log_events` id the alert is deduplicated by, so a
 * line a replayed poll sends again (the row is written once) is the same
 * alert: same job id in the queue, same ledger row at the alerter. A failure
 * is logged, never thrown: the rows are committed, and the alerter's
 * reconciler publishes transitions it never saw.
 */
export class LogAlerts {
  constructor(
    private readonly pool: Pool,
    private readonly sink: EventSink,
    /** `c$event_types` id: lines of this type or a lower (worse) one alert; 0 = off. */
    private readonly level: number,
    private readonly logger: Logger,
  ) {}

  async announce(services: Array<{ service: ServiceSnapshot; servId: number }>): Promise<void> {
    if (this.level <= 0) return;
    const keys: Array<[number, string, string, number]> = [];
    for (const { service, servId } of services) {
      for (const entry of service.logs) {
        if (eventTypeOfLevel(entry.level) > this.level) continue;
        // The values as inserted (logInserts; fitted to their columns before): the key must match the stored row.
        keys.push([servId, entry.source, entry.dateMark, entry.lineNo]);
      }
    }
    if (keys.length === 0) return;
    try {
      const events: MonitoringEvent[] = [];
      for (let i = 0; i < keys.length; i += LOOKUP_ROWS) events.push(...(await this.lookup(keys.slice(i, i + LOOKUP_ROWS))));
      if (events.length) await this.sink.publish(events);
    } catch (err) {
      this.logger.error(`could not hand ${keys.length} log alerts to alerting: ${errorMessage(err)}`);
    }
  }

  private async lookup(keys: Array<[number, string, string, number]>): Promise<MonitoringEvent[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT id, serv_id, `timestamp`, event_type, source_name, LEFT(`text`, ?) AS text FROM `s$log_events` ' +
        'WHERE (serv_id, source_name, date_field, line_no) IN (?) AND event_type <= ?',
      [DETAIL_TEXT_CHARS, keys, this.level],
    );
    return rows.map((r) => logAlertEvent(r));
  }
}
