import type { MonitoringEvent } from '@watched/core';

/** An event transition as receivers see it: names rather than ids. */
export interface AlertEvent {
  kind: MonitoringEvent['kind'];
  transition: MonitoringEvent['transition'];
  /** Source row: `h$res_events`, `s$res_events`, `agt$events`, `c$state_events`. */
  table: string;
  id: number;
  /** When the transition happened (epoch ms): start for an opening, end for a closing. */
  time: number;
  /** c$event_types name for thresholds; Critical for agent-failed and host-missing, Error for service ones. */
  severity: string;
  host: string | null;
  hostId: number | null;
  service: string | null;
  serviceId: number | null;
  serviceType: string | null;
  /** `collector/resource` as the agent names it (c$ressources.name). */
  resource: string | null;
  /** Data type (c$ressources.data_type), e.g. disk_usage. */
  resourceType: string | null;
  property: string | null;
  oper: string | null;
  threshold: number | null;
  value: number | null;
  start: number | null;
  end: number | null;
  /** Agent `host:port` for agent-failed events. */
  agent: string | null;
  /** Reason or free text (agent failure reason, missing detail). */
  reason: string | null;
  /** Set on reminders of a still-open event: 1 for the first one. */
  reminder?: number;
  /** One line naming the event, e.g. `[Warning] web1 disk_usage diskusage/%2F pctfree 12 < 25 opened`. */
  summary: string;
}

/** One message for one receiver: one or more transitions grouped by the window. */
export interface Notification {
  receiver: string;
  /**
   * Addresses to use instead of the plugin's configured ones, for receivers
   * derived from upstream's permission model (`perm:<address>`).
   */
  recipients?: string[];
  events: AlertEvent[];
  subject: string;
  text: string;
  html: string;
}
