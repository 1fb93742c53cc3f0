/** A threshold rule of `h$event_factory` / `s$event_factory`; NULL fields match anything. */
export interface ThresholdRule {
  id: number;
  scope: 'host' | 'service';
  ownerId: number | null;
  resId: number | null;
  resType: string | null;
  eventType: number;
  property: string;
  oper: '<' | '>' | '=';
  value: number;
  /** The condition must hold this long before the event opens (NULL: at once). */
  forMs: number | null;
  /** While open, the event stays open as long as `value oper recoveryValue` (NULL: the rule's value). */
  recoveryValue: number | null;
}

/** An event as the evaluation sees it: an existing open one (with id) or one to create. */
export interface EventSpan {
  id?: number;
  startTime: number;
  endTime: number | null;
  currentValue: number;
}

/** What is known of one (owner, resource, rule) before new samples. */
export interface RuleState {
  /** Newest sample already evaluated; older or equal samples are skipped (replays change nothing). */
  lastTs: number | null;
  /** Since when the condition holds while a `forMs` delay runs. */
  pendingSince: number | null;
  open: EventSpan | null;
}

export interface Evaluation {
  state: RuleState;
  /** Every event touched: the open one updated or closed, and new ones (without id). */
  events: EventSpan[];
}

export function holds(value: number, oper: ThresholdRule['oper'], limit: number): boolean {
  if (oper === '<') return value < limit;
  if (oper === '>') return value > limit;
  return value === limit;
}

/**
 * Runs samples of one property through one rule, in time order. An event
 * opens when the value crosses the rule (after `forMs` if set; its start is
 * the first crossing sample), follows the value while open, and closes at
 * the first sample that no longer crosses (the recovery value if set).
 */
export function evaluate(
  rule: Pick<ThresholdRule, 'oper' | 'value' | 'forMs' | 'recoveryValue'>,
  state: RuleState,
  samples: Array<{ timestamp: number; value: number | null }>,
): Evaluation {
  let lastTs = state.lastTs;
  let pendingSince = state.pendingSince;
  let open = state.open ? { ...state.open } : null;
  const events: EventSpan[] = [];
  const sorted = [...samples].sort((a, b) => a.timestamp - b.timestamp);
  for (const { timestamp, value } of sorted) {
    if (lastTs !== null && timestamp <= lastTs) continue;
    lastTs = timestamp;
    if (value === null) continue; // the agent's NaN: no information
    if (open) {
      if (holds(value, rule.oper, rule.recoveryValue ?? rule.value)) {
        open.currentValue = value;
      } else {
        open.endTime = timestamp;
        events.push(open);
        open = null;
      }
    } else if (holds(value, rule.oper, rule.value)) {
      pendingSince ??= timestamp;
      if (timestamp - pendingSince >= (rule.forMs ?? 0)) {
        open = { startTime: pendingSince, endTime: null, currentValue: value };
        pendingSince = null;
      }
    } else {
      pendingSince = null;
    }
  }
  if (open) events.push(open);
  return { state: { lastTs, pendingSince, open }, events };
}
