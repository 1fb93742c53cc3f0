import { EventType } from '@watched/core';
import type { BatchInsert } from '../sql-batch.js';
import type { ServiceSnapshot } from './snapshot.js';

const LEVELS: Record<string, number> = {
  emerg: EventType.Critical,
  emergency: EventType.Critical,
  alert: EventType.Critical,
  crit: EventType.Critical,
  critical: EventType.Critical,
  fatal: EventType.Critical,
  err: EventType.Error,
  error: EventType.Error,
  warn: EventType.Warning,
  warning: EventType.Warning,
  notice: EventType.Notice,
  info: EventType.Information,
  information: EventType.Information,
  debug: EventType.Information,
};

/**
 * Maps an agent's log level to `c$event_types`. Unknown levels count as
 * Information (upstream inserted each unknown spelling as a new type).
 */
export function eventTypeOfLevel(level: string): number {
  return LEVELS[level.trim().toLowerCase()] ?? EventType.Information;
}

/** Log lines, stored once per (service, source, date_mark, line_no); their values already fit (agent-value-checks). */
export function logInserts(services: Array<{ service: ServiceSnapshot; servId: number }>): BatchInsert {
  const insert: BatchInsert = {
    table: 's$log_events',
    columns: ['serv_id', 'timestamp', 'event_type', 'source_name', 'date_field', 'line_no', 'text'],
    rows: [],
    mode: 'ignore',
  };
  for (const { service, servId } of services) {
    for (const entry of service.logs) {
      insert.rows.push([
        servId,
        entry.timestamp,
        eventTypeOfLevel(entry.level),
        entry.source,
        entry.dateMark,
        entry.lineNo,
        entry.text,
      ]);
    }
  }
  return insert;
}
