import type { EventSink, Logger, MonitoringEvent } from '@watched/core';

/** Where events go when the worker does not publish alerts (`--publish-alerts` off): the log. */
export class LoggingEventSink implements EventSink {
  constructor(private readonly logger: Logger) {}

  async publish(events: MonitoringEvent[]): Promise<void> {
    for (const event of events) {
      this.logger.info(`event ${event.transition}: ${event.kind} ${event.table}#${event.id}`, event.detail);
    }
  }
}
