import type { MonitoringEvent, Pool, RowDataPacket } from '@watched/core';
import type { AlertEvent } from './notification.js';
import { summarize } from './render.js';

/** Severity of the other kinds (threshold and log events carry their own event type). */
export const KIND_SEVERITY: Record<Exclude<MonitoringEvent['kind'], 'threshold' | 'log-event'>, string> = {
  'agent-failed': 'Critical',
  'host-missing': 'Critical',
  'service-failed': 'Error',
  'service-missing': 'Error',
};

type Row = RowDataPacket & Record<string, unknown>;

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const nb = (v: unknown): number | null => (v === null || v === undefined || v === '' ? null : Number(v));

const THRESHOLD_SQL = {
  'h$res_events':
    'SELECT e.host_id, NULL AS serv_id, h.name AS host, NULL AS service, NULL AS service_type, r.name AS resource, r.data_type AS res_type, ' +
    't.name AS severity, e.property, e.oper, e.value, e.current_value, e.start_time, e.end_time ' +
    'FROM `h$res_events` e LEFT JOIN `h$hosts` h ON h.id = e.host_id LEFT JOIN `c$ressources` r ON r.id = e.res_id ' +
    'LEFT JOIN `c$event_types` t ON t.id = e.event_type WHERE e.id = ?',
  's$res_events':
    'SELECT s.host_id, e.serv_id, h.name AS host, s.name AS service, st.name AS service_type, r.name AS resource, r.data_type AS res_type, ' +
    't.name AS severity, e.property, e.oper, e.value, e.current_value, e.start_time, e.end_time ' +
    'FROM `s$res_events` e LEFT JOIN `s$services` s ON s.id = e.serv_id LEFT JOIN `h$hosts` h ON h.id = s.host_id ' +
    'LEFT JOIN `s$types` st ON st.id = s.type_id LEFT JOIN `c$ressources` r ON r.id = e.res_id ' +
    'LEFT JOIN `c$event_types` t ON t.id = e.event_type WHERE e.id = ?',
} as const;

/** Where an event happened, from a row with host_id, serv_id, host, service and service_type columns. */
function placeOf(r: Row): Pick<AlertEvent, 'hostId' | 'serviceId' | 'host' | 'service' | 'serviceType'> {
  return { hostId: nb(r.host_id), serviceId: nb(r.serv_id), host: str(r.host), service: str(r.service), serviceType: str(r.service_type) };
}

/** A log line (`s$log_events`): its service, host, source file and text. */
const LOG_SQL =
  'SELECT l.serv_id, s.host_id, h.name AS host, s.name AS service, st.name AS service_type, t.name AS severity, ' +
  'l.source_name, l.`timestamp`, l.`text` FROM `s$log_events` l LEFT JOIN `s$services` s ON s.id = l.serv_id ' +
  'LEFT JOIN `h$hosts` h ON h.id = s.host_id LEFT JOIN `s$types` st ON st.id = s.type_id ' +
  'LEFT JOIN `c$event_types` t ON t.id = l.event_type WHERE l.id = ?';

/**
 * Turns an event (ids) into what receivers read (names), from MySQL; fields of
 * a row deleted meanwhile fall back to the event's own detail.
 */
export async function enrichEvent(pool: Pool, event: MonitoringEvent): Promise<AlertEvent> {
  const d = event.detail;
  const base: Omit<AlertEvent, 'summary'> = {
    kind: event.kind,
    transition: event.transition,
    table: event.table,
    id: event.id,
    time: event.time,
    severity: event.kind === 'threshold' || event.kind === 'log-event' ? 'Warning' : KIND_SEVERITY[event.kind],
    host: null,
    hostId: null,
    service: null,
    serviceId: null,
    serviceType: null,
    resource: null,
    resourceType: null,
    property: str(d.property),
    oper: str(d.oper),
    threshold: nb(d.value),
    value: nb(d.currentValue),
    start: event.transition === 'opened' ? event.time : null,
    end: event.transition === 'closed' ? event.time : null,
    agent: null,
    reason: str(d.reason ?? d.detail),
  };
  if (event.table === 'h$res_events' || event.table === 's$res_events') {
    const [rows] = await pool.query<Row[]>(THRESHOLD_SQL[event.table], [event.id]);
    const r = rows[0];
    if (r) {
      Object.assign(base, placeOf(r), {
        resource: str(r.resource),
        resourceType: str(r.res_type),
        severity: str(r.severity) ?? base.severity,
        property: str(r.property),
        oper: str(r.oper),
        threshold: nb(r.value),
        value: nb(r.current_value),
        start: nb(r.start_time),
        end: event.transition === 'closed' ? (nb(r.end_time) ?? event.time) : null,
      });
    }
  } else if (event.table === 's$log_events') {
    const [rows] = await pool.query<Row[]>(LOG_SQL, [event.id]);
    const r = rows[0];
    Object.assign(base, { reason: str(d.text), resource: str(d.source) });
    if (r) {
      Object.assign(base, placeOf(r), {
        resource: str(r.source_name),
        resourceType: 'log',
        severity: str(r.severity) ?? base.severity,
        reason: str(r.text),
        start: nb(r.timestamp),
      });
    }
  } else if (event.table === 'agt$events') {
    const [rows] = await pool.query<Row[]>(
      'SELECT a.host, a.port, e.reason, e.failures, e.start_time, e.end_time FROM `agt$events` e ' +
        'LEFT JOIN `c$agents` a ON a.id = e.agt_id WHERE e.id = ?',
      [event.id],
    );
    const r = rows[0];
    if (r) {
      Object.assign(base, {
        agent: r.host ? `${String(r.host)}:${String(r.port)}` : null,
        host: str(r.host),
        reason: event.transition === 'opened' ? `${String(r.reason)}, ${String(r.failures)} failed polls` : str(r.reason),
        start: nb(r.start_time),
      });
    }
  } else {
    const [rows] = await pool.query<Row[]>(
      'SELECT e.kind, e.owner_id, e.start_time, e.detail, ' +
        'CASE WHEN e.kind = \'host-missing\' THEN e.owner_id ELSE s.host_id END AS host_id, ' +
        'CASE WHEN e.kind = \'host-missing\' THEN NULL ELSE e.owner_id END AS serv_id, ' +
        'h.name AS host, s.name AS service, st.name AS service_type FROM `c$state_events` e ' +
        'LEFT JOIN `s$services` s ON e.kind <> \'host-missing\' AND s.id = e.owner_id ' +
        'LEFT JOIN `h$hosts` h ON h.id = (CASE WHEN e.kind = \'host-missing\' THEN e.owner_id ELSE s.host_id END) ' +
        'LEFT JOIN `s$types` st ON st.id = s.type_id WHERE e.id = ?',
      [event.id],
    );
    const r = rows[0];
    if (r) {
      Object.assign(base, placeOf(r), {
        reason: str(r.detail) ?? base.reason,
        start: nb(r.start_time),
      });
    }
  }
  return { ...base, summary: summarize(base) };
}
