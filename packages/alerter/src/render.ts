import type { AlertEvent } from './notification.js';

const SEVERITY_ORDER = ['critical', 'error', 'warning', 'notice', 'information'];

function iso(ms: number | null): string {
  return ms === null || !Number.isFinite(ms) ? '-' : new Date(ms).toISOString();
}

function num(v: number | null): string {
  return v === null ? '-' : String(Math.round(v * 10_000) / 10_000);
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** One line naming an event transition. */
export function summarize(e: Omit<AlertEvent, 'summary'>): string {
  const where = [e.host, e.service].filter(Boolean).join('/') || e.agent || '?';
  const what =
    e.kind === 'threshold'
      ? `${e.resourceType ?? ''} ${e.resource ?? ''} ${e.property ?? ''} ${num(e.value)} ${e.oper ?? ''} ${num(e.threshold)}`.replace(/\s+/g, ' ').trim()
      : e.kind === 'log-event'
        ? `log ${e.resource ?? '?'}: ${oneLine(e.reason ?? '', 200)}`
        : `${e.kind}${e.reason ? ` (${e.reason})` : ''}`;
  // A log line has no closing: it is reported once, without a state.
  const state = e.reminder ? ` still open (reminder ${e.reminder})` : e.kind === 'log-event' ? '' : ` ${e.transition}`;
  return `[${e.severity}] ${where} ${what}${state}`;
}

/** The most severe severity of a group (unknown names rank last). */
export function worstSeverity(events: AlertEvent[]): string {
  const rank = (s: string) => {
    const i = SEVERITY_ORDER.indexOf(s.toLowerCase());
    return i < 0 ? SEVERITY_ORDER.length : i;
  };
  return events.reduce((worst, e) => (rank(e.severity) < rank(worst) ? e.severity : worst), events[0]?.severity ?? 'Information');
}

export function subjectOf(events: AlertEvent[]): string {
  if (events.length === 1) return `watched: ${events[0].summary}`;
  const reminders = events.filter((e) => e.reminder).length;
  const logs = events.filter((e) => e.kind === 'log-event').length;
  const opened = events.filter((e) => e.transition === 'opened' && !e.reminder && e.kind !== 'log-event').length;
  const closed = events.length - opened - reminders - logs;
  const hosts = [...new Set(events.map((e) => e.host ?? e.agent ?? '?'))];
  const on = hosts.length <= 3 ? hosts.join(', ') : `${hosts.length} hosts`;
  const parts = [
    ...(opened || closed || !logs ? [`${opened} opened`, `${closed} closed`] : []),
    ...(reminders ? [`${reminders} still open`] : []),
    ...(logs ? [`${logs} log line${logs > 1 ? 's' : ''}`] : []),
  ];
  return `watched: [${worstSeverity(events)}] ${parts.join(', ')} on ${on}`;
}

function fields(e: AlertEvent): [string, string][] {
  const rows: [string, string | null][] = [
    ['event', `${e.kind} ${e.reminder ? `still open, reminder ${e.reminder}` : e.transition}`],
    ['severity', e.severity],
    ['host', e.host],
    ['service', e.service],
    ['service type', e.serviceType],
    ['agent', e.agent],
    ['resource', e.resource],
    ['resource type', e.resourceType],
    ['property', e.property],
    ['value', e.value === null ? null : num(e.value)],
    ['threshold', e.oper && e.threshold !== null ? `${e.oper} ${num(e.threshold)}` : null],
    ['reason', e.reason],
    ['start', e.start === null ? null : iso(e.start)],
    ['end', e.end === null ? null : iso(e.end)],
    ['event id', `${e.table}#${e.id}`],
  ];
  return rows.filter((r): r is [string, string] => r[1] !== null && r[1] !== '');
}

export function textOf(events: AlertEvent[]): string {
  return events
    .map((e) => [e.summary, ...fields(e).map(([k, v]) => `  ${k}: ${v}`)].join('\n'))
    .join('\n\n')
    .concat('\n');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

export function htmlOf(events: AlertEvent[]): string {
  const blocks = events.map(
    (e) =>
      `<h3>${escapeHtml(e.summary)}</h3>\n<table>\n` +
      fields(e).map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('\n') +
      '\n</table>',
  );
  return `<!doctype html>\n<html><body>\n${blocks.join('\n')}\n</body></html>\n`;
}
