import type { PoolConnection, RowDataPacket } from '@watched/core';
import { ROW_TIMESTAMP, ROW_VALUES, type MetricSeries } from '../ingest/snapshot.js';
import type { SeriesIds } from '../ingest/metrics.js';
import { insertBatched } from '../sql-batch.js';
import type { MonitoringEvent } from '@watched/core';
import { evaluate, type EventSpan, type RuleState, type ThresholdRule } from '../events/threshold-evaluator.js';
import { ThresholdRules } from './threshold-rules.js';

interface Target {
  scope: 'host' | 'service';
  ownerId: number;
  resId: number;
  rule: ThresholdRule;
  samples: Array<{ timestamp: number; value: number | null }>;
}

const EVENTS_TABLE = { host: 'h$res_events', service: 's$res_events' } as const;
const OWNER = { host: 'host_id', service: 'serv_id' } as const;

const stateKey = (scope: string, owner: number, res: number, rule: number) => `${scope}/${owner}/${res}/${rule}`;

/**
 * Evaluates the rules against a poll's samples inside the poll's
 * transaction: state and open events are read FOR UPDATE, so two workers
 * handling the same host one after the other (or a retried job) see each
 * other's result, and the unique open-event key refuses a second open event.
 */
export async function applyThresholds(
  conn: PoolConnection,
  rules: ThresholdRule[],
  series: Array<{ series: MetricSeries; ids: SeriesIds }>,
): Promise<MonitoringEvent[]> {
  const targets: Target[] = [];
  for (const { series: s, ids } of series) {
    const scope = s.type.owner;
    for (const rule of ThresholdRules.matching(rules, scope, ids.ownerId, ids.resId, s.type.name, s.type.properties)) {
      const column = s.type.properties.indexOf(rule.property);
      targets.push({
        scope,
        ownerId: ids.ownerId,
        resId: ids.resId,
        rule,
        samples: s.rows.map((row) => ({ timestamp: row[ROW_TIMESTAMP]!, value: row[ROW_VALUES + column] })),
      });
    }
  }
  if (targets.length === 0) return [];

  const states = await readStates(conn, targets);
  const published: MonitoringEvent[] = [];
  const stateRows: Array<Array<string | number | null>> = [];
  for (const target of targets) {
    const key = stateKey(target.scope, target.ownerId, target.resId, target.rule.id);
    const before = states.get(key) ?? { lastTs: null, pendingSince: null, open: null };
    const { state, events } = evaluate(target.rule, before, target.samples);
    for (const event of events) {
      published.push(...(await writeEvent(conn, target, event, before.open)));
    }
    if (state.lastTs !== null) {
      stateRows.push([target.scope, target.ownerId, target.resId, target.rule.id, state.lastTs, state.pendingSince]);
    }
  }
  await insertBatched(
    conn,
    {
      table: 'c$threshold_state',
      columns: ['scope', 'owner_id', 'res_id', 'rule_id', 'last_ts', 'pending_since'],
      rows: stateRows,
      mode: 'upsert',
      updateColumns: ['last_ts', 'pending_since'],
    },
    1000,
  );
  return published;
}

async function readStates(conn: PoolConnection, targets: Target[]): Promise<Map<string, RuleState>> {
  const states = new Map<string, RuleState>();
  // One query per scope: MariaDB reads `(enum, ...) IN (...)` with a full scan, which FOR UPDATE
  // turns into a lock on every row (all workers' transactions queue up); `scope = ? AND (...) IN` is a key range.
  const rows: RowDataPacket[] = [];
  for (const scope of ['host', 'service'] as const) {
    const keys = targets.filter((t) => t.scope === scope).map((t) => [t.ownerId, t.resId, t.rule.id]);
    if (keys.length === 0) continue;
    const [found] = await conn.query<RowDataPacket[]>(
      'SELECT scope, owner_id, res_id, rule_id, last_ts, pending_since FROM `c$threshold_state` ' +
        'WHERE scope = ? AND (owner_id, res_id, rule_id) IN (?) FOR UPDATE',
      [scope, keys],
    );
    rows.push(...found);
  }
  for (const r of rows) {
    states.set(stateKey(r.scope, r.owner_id, r.res_id, r.rule_id), {
      lastTs: r.last_ts,
      pendingSince: r.pending_since,
      open: null,
    });
  }
  for (const scope of ['host', 'service'] as const) {
    const owners = [...new Set(targets.filter((t) => t.scope === scope).map((t) => t.ownerId))];
    if (owners.length === 0) continue;
    const [open] = await conn.query<RowDataPacket[]>(
      `SELECT id, ${OWNER[scope]} AS owner_id, res_id, rule_id, start_time, current_value FROM \`${EVENTS_TABLE[scope]}\` ` +
        `WHERE ${OWNER[scope]} IN (?) AND end_time IS NULL AND rule_id IS NOT NULL FOR UPDATE`,
      [owners],
    );
    for (const e of open) {
      const key = stateKey(scope, e.owner_id, e.res_id, e.rule_id);
      const state = states.get(key) ?? { lastTs: null, pendingSince: null, open: null };
      state.open = { id: e.id, startTime: e.start_time, endTime: null, currentValue: e.current_value };
      states.set(key, state);
    }
  }
  return states;
}

/** Inserts a new event or updates the open one; returns the transitions to announce. */
async function writeEvent(
  conn: PoolConnection,
  target: Target,
  event: EventSpan,
  openBefore: EventSpan | null,
): Promise<MonitoringEvent[]> {
  const table = EVENTS_TABLE[target.scope];
  const { rule } = target;
  const detail = {
    scope: target.scope,
    ownerId: target.ownerId,
    resId: target.resId,
    ruleId: rule.id,
    property: rule.property,
    oper: rule.oper,
    value: rule.value,
    currentValue: event.currentValue,
    eventType: rule.eventType,
  };
  if (event.id !== undefined) {
    if (event.endTime === null && event.currentValue === openBefore?.currentValue) return [];
    await conn.query(`UPDATE \`${table}\` SET current_value = ?, end_time = ? WHERE id = ?`, [
      event.currentValue,
      event.endTime,
      event.id,
    ]);
    return event.endTime === null
      ? []
      : [{ kind: 'threshold', transition: 'closed', id: event.id, table, time: event.endTime, detail }];
  }
  const [result] = await conn.query(
    `INSERT INTO \`${table}\` (${OWNER[target.scope]}, res_id, start_time, end_time, event_type, property, current_value, oper, value, rule_id) ` +
      'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [target.ownerId, target.resId, event.startTime, event.endTime, rule.eventType, rule.property, event.currentValue, rule.oper, rule.value, rule.id],
  );
  const id = (result as { insertId: number }).insertId;
  const opened: MonitoringEvent = { kind: 'threshold', transition: 'opened', id, table, time: event.startTime, detail };
  if (event.endTime === null) return [opened];
  return [opened, { kind: 'threshold', transition: 'closed', id, table, time: event.endTime, detail }];
}
