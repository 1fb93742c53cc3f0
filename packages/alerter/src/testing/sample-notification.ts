import type { AlertEvent, Notification } from '../notification.js';
import { htmlOf, subjectOf, summarize, textOf } from '../render.js';

type ThresholdEvent = Omit<AlertEvent, 'summary'>;

/** One opened threshold event on host db1 (disk free below 5 %), fields overridable. */
export function sampleThresholdEvent(overrides: Partial<ThresholdEvent> = {}): ThresholdEvent {
  return {
    kind: 'threshold', transition: 'opened', table: 'h$res_events', id: 7, time: 1_700_000_000_000, severity: 'Error',
    host: 'db1', hostId: 1, service: null, serviceId: null, serviceType: null, resource: 'diskusage/%2F', resourceType: 'disk_usage',
    property: 'pctfree', oper: '<', threshold: 5, value: 2.5, start: 1_700_000_000_000, end: null, agent: null, reason: null,
    ...overrides,
  } as ThresholdEvent;
}

/** A notification of that one event for `receiver`, rendered as the alerter renders it. */
export function sampleNotification(receiver: string, overrides: Partial<ThresholdEvent> = {}): Notification {
  const base = sampleThresholdEvent(overrides);
  const events: AlertEvent[] = [{ ...base, summary: summarize(base) } as AlertEvent];
  return { receiver, events, subject: subjectOf(events), text: textOf(events), html: htmlOf(events) };
}
