/**
 * `c$event_types` ids (seeded by the migrations): the severity of a log line
 * or a threshold event, lower is worse. Ingestion writes them, the alert log
 * level compares against them.
 */
export const EventType = { Critical: 1, Error: 2, Warning: 3, Notice: 4, Information: 5 } as const;
