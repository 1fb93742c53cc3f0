import type { Logger } from '@watched/core';

/** An event opened or closed by ingestion, handed to alerting after its transaction commits. */
export interface MonitoringEvent {
  kind: 'threshold' | 'agent-failed' | 'host-missing' | 'service-failed' | 'service-missing' | 'log-event';
  transition: 'opened' | 'closed';
  /** Row id in its table (`h$res_events`, `s$res_events`, `agt$events`, `c$state_events`, `s$log_events`). */
  id: number;
  table: string;
  time: number;
  detail: Record<string, unknown>;
}

/**
 * The alerting pipeline's entry point. Ingestion calls it after commit, so
 * an event is announced only once it exists; the alerter deduplicates by
 * (table, id, transition) because a crash between commit and `publish` means
 * the event is found again by the next run (at-least-once).
 */
export interface EventSink {
  publish(events: MonitoringEvent[]): Promise<void>;
}

/** Until the alerter consumes them, events are logged. */
export class LoggingEventSink implements EventSink {
  constructor(private readonly logger: Logger) {}

  async publish(events: MonitoringEvent[]): Promise<void> {
    for (const event of events) {
      this.logger.info(`event ${event.transition}: ${event.kind} ${event.table}#${event.id}`, event.detail);
    }
  }
}
