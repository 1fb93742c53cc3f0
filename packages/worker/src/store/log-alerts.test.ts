import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ResultSetHeader, RowDataPacket } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { logInserts } from '../ingest/logs.js';
import type { ServiceSnapshot } from '../ingest/snapshot.js';
import { insertBatched } from '../sql-batch.js';
import { alertLogLevelOption, type EventSink, type MonitoringEvent } from '@watched/core';
import { LogAlerts } from './log-alerts.js';

/** Collects what would go to the alerts queue. */
class MemorySink implements EventSink {
  readonly published: MonitoringEvent[] = [];
  failNext = false;
  async publish(events: MonitoringEvent[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('redis unreachable');
    }
    this.published.push(...events);
  }
}

describe('LogAlerts (real MariaDB)', () => {
  let env: TestEnvironment;
  let servId: number;

  beforeAll(async () => {
    env = await createTestEnvironment('log_alerts');
    const [h] = await env.pool.query<ResultSetHeader>("INSERT INTO `h$hosts` (name) VALUES ('web1')");
    const [t] = await env.pool.query<ResultSetHeader>("INSERT INTO `s$types` (name) VALUES ('nginx')");
    const [s] = await env.pool.query<ResultSetHeader>('INSERT INTO `s$services` (host_id, name, type_id) VALUES (?, ?, ?)', [h.insertId, 'nginx', t.insertId]);
    servId = s.insertId;
  });
  afterAll(async () => env.cleanup());

  function snapshot(lines: Array<[number, string, string]>): Array<{ service: ServiceSnapshot; servId: number }> {
    const logs = lines.map(([lineNo, level, text]) => ({
      timestamp: 1_700_000_000_000 + lineNo,
      dateMark: '2023-11-14',
      lineNo,
      text,
      level,
      source: '/var/log/nginx/error.log',
    }));
    return [{ service: { id: 'nginx', host: 'web1', type: 'nginx', process: [], sockets: [], logs }, servId }];
  }

  /** What the poller does: store the lines (once, by their unique key), commit, then announce. */
  async function poll(alerts: LogAlerts, services: ReturnType<typeof snapshot>): Promise<void> {
    await insertBatched(env.pool, logInserts(services), 1000);
    await alerts.announce(services);
  }

  it('publishes one opened log-event per stored line at or above the level, with the row id, the same on a replay', async () => {
    const sink = new MemorySink();
    const alerts = new LogAlerts(env.pool, sink, alertLogLevelOption.parse('Error'), env.logger);
    const services = snapshot([
      [1, 'info', 'started'],
      [2, 'error', 'upstream timed out'],
      [3, 'warn', 'slow answer'],
      [4, 'crit', 'disk full'],
    ]);
    await poll(alerts, services);
    const [rows] = await env.pool.query<RowDataPacket[]>('SELECT id, line_no FROM `s$log_events` WHERE event_type <= 2 ORDER BY line_no');
    expect(rows.map((r) => r.line_no)).toEqual([2, 4]);
    expect(sink.published.map((e) => [e.kind, e.transition, e.table, e.id])).toEqual(
      rows.map((r) => ['log-event', 'opened', 's$log_events', Number(r.id)]),
    );
    expect(sink.published[0].detail).toMatchObject({ servId, eventType: 2, text: 'upstream timed out' });

    // A replayed poll: the rows are not written again, the transitions are the same (deduplicated downstream by id).
    await poll(alerts, services);
    const [[count]] = await env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `s$log_events`');
    expect(Number(count.n)).toBe(4);
    expect(new Set(sink.published.map((e) => e.id)).size).toBe(2);
  });

  it('publishes nothing when off, and swallows a publish failure (the reconciliation recovers it)', async () => {
    const sink = new MemorySink();
    await poll(new LogAlerts(env.pool, sink, alertLogLevelOption.parse('off'), env.logger), snapshot([[10, 'emerg', 'kernel panic']]));
    expect(sink.published).toHaveLength(0);
    sink.failNext = true;
    await expect(poll(new LogAlerts(env.pool, sink, 1, env.logger), snapshot([[11, 'emerg', 'kernel panic again']]))).resolves.toBeUndefined();
    expect(sink.published).toHaveLength(0);
  });

  it('names the option in a bad level', () => {
    expect(alertLogLevelOption.parse('warning')).toBe(3);
    expect(alertLogLevelOption.parse(5)).toBe(5);
    expect(alertLogLevelOption.safeParse('loud').success).toBe(false);
  });
});
