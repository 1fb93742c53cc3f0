import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HOSTILE } from '@watched/agent-sim';
import { AgentRegistry, type RowDataPacket } from '@watched/core';
import { createPipeline, type PipelineHarness } from './pipeline-harness.js';

const HOSTS = 4;
const FAILING = 2;
const HOSTILE_HOST = 3;

describe('ingestion: threshold events, agent failures, hostile and changing schemas', () => {
  let p: PipelineHarness;
  let slot = 0;
  const poll = () => p.poll(++slot);
  const count = async (sql: string, params: unknown[] = []) => {
    const [[row]] = await p.env.pool.query<RowDataPacket[]>(sql, params);
    return Number(row.n);
  };
  const cpuSeries = async () => count("SELECT COUNT(*) AS n FROM `h$ressources` hr JOIN `c$ressources` r ON r.id = hr.res_id WHERE r.data_type = 'cpu_usage'");

  beforeAll(async () => {
    p = await createPipeline('ingestion', { hosts: HOSTS }, { rulesRefresh: '0s', agentFailureThreshold: 2, missingAfter: '10m' });
    // Only the test's own rules: the seeded upstream defaults would fire on the simulated disks.
    await p.env.pool.query('DELETE FROM `h$event_factory`');
    p.fleet.setFault(FAILING, { kind: 'down' });
    p.fleet.setFault(HOSTILE_HOST, { kind: 'hostileNames' });
  });
  afterAll(async () => p?.close());

  it('opens one event per matching series for a wildcard rule, and none for a rule never crossed', async () => {
    await p.env.pool.query(
      "INSERT INTO `h$event_factory` (host_id, res_id, res_type, event_type, property, oper, value) VALUES (NULL, NULL, 'cpu_usage', 3, 'user', '>', -1), (NULL, NULL, NULL, 2, 'user', '>', 1e9)",
    );
    await poll();
    const series = await cpuSeries();
    expect(series).toBeGreaterThan(HOSTS - 2);
    expect(await count('SELECT COUNT(*) AS n FROM `h$res_events` WHERE end_time IS NULL')).toBe(series);
    expect(await count('SELECT COUNT(*) AS n FROM `h$res_events` WHERE event_type = 2')).toBe(0);
    expect(p.events.filter((e) => e.kind === 'threshold' && e.transition === 'opened')).toHaveLength(series);
  });

  it('updates the open event on later polls and never opens a second one, even on a replay', async () => {
    p.advance(30_000);
    await poll();
    await p.env.pool.query('UPDATE `agt$state` SET since = NULL'); // a full replay of every buffered row
    await poll();
    const series = await cpuSeries();
    expect(await count('SELECT COUNT(*) AS n FROM `h$res_events`')).toBe(series);
    // current_value follows the newest sample of each series.
    const [rows] = await p.env.pool.query<RowDataPacket[]>(
      "SELECT e.current_value, h.name AS host, r.name AS res FROM `h$res_events` e JOIN `h$hosts` h ON h.id = e.host_id JOIN `c$ressources` r ON r.id = e.res_id",
    );
    for (const row of rows) {
      const index = p.fleet.agents().find((a) => a.hostname === row.host)!.index;
      const [collector, resource] = String(row.res).split('/');
      const served = p.fleet.model(index).all(undefined, p.now()).system[collector][resource];
      expect(row.current_value).toBe(served.at(-1)!.user);
    }
  });

  it('closes the events when the rule no longer matches, with an end after the start', async () => {
    await p.env.pool.query("UPDATE `h$event_factory` SET value = 1e9 WHERE res_type = 'cpu_usage'");
    p.advance(10_000);
    await poll();
    expect(await count('SELECT COUNT(*) AS n FROM `h$res_events` WHERE end_time IS NULL')).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM `h$res_events` WHERE end_time <= start_time')).toBe(0);
    expect(p.events.filter((e) => e.kind === 'threshold' && e.transition === 'closed')).toHaveLength(await cpuSeries());
  });

  it('opens an agent-failed event after N failed polls and closes it on recovery', async () => {
    const agentId = (await new AgentRegistry(p.env.pool).list()).find((a) => a.host === p.fleet.agent(FAILING).host)!.id;
    // FAILING has failed every poll so far (4): one event, opened at the 2nd failure, starting at the 1st.
    expect(await count('SELECT COUNT(*) AS n FROM `agt$events` WHERE agt_id = ? AND end_time IS NULL', [agentId])).toBe(1);
    const [[first]] = await p.env.pool.query<RowDataPacket[]>('SELECT MIN(`timestamp`) AS t FROM `agt$history` WHERE agt_id = ?', [agentId]);
    expect(await count('SELECT COUNT(*) AS n FROM `agt$events`')).toBe(1);
    void first;
    p.fleet.setFault(FAILING, null);
    await poll();
    expect(await count('SELECT COUNT(*) AS n FROM `agt$events` WHERE end_time IS NOT NULL AND failures >= 2')).toBe(1);
    const transitions = p.events.filter((e) => e.kind === 'agent-failed').map((e) => e.transition);
    expect(transitions).toEqual(['opened', 'closed']);
  });

  it('refuses hostile names, records the error for that agent, and keeps its valid data', async () => {
    const [tables] = await p.env.pool.query<RowDataPacket[]>(
      'SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
    );
    for (const { t } of tables) expect(String(t)).toMatch(/^[A-Za-z0-9_$]+$/);
    const hostile = (await new AgentRegistry(p.env.pool).list()).find((a) => a.host === p.fleet.agent(HOSTILE_HOST).host)!;
    expect(hostile.lastError).toMatch(/not a valid name/);
    expect(hostile.lastOk).not.toBeNull();
    expect(await count('SELECT COUNT(*) AS n FROM `d$cpu_usage` d JOIN `h$hosts` h ON h.id = d.host_id WHERE h.name = ?', [p.fleet.agent(HOSTILE_HOST).hostname])).toBeGreaterThan(0);
    const [columns] = await p.env.pool.query<RowDataPacket[]>(
      "SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'd$loadaverage'",
    );
    expect(columns.map((c) => c.c)).not.toContain(HOSTILE.extraProperty);
  });

  it('adds a new property as a column mid-run, keeping old rows and storing new values', async () => {
    p.fleet.setFault(0, { kind: 'newProperty', type: 'memory_usage', property: 'sim_new', fromMs: p.now() + 1 });
    p.advance(20_000);
    await poll();
    const host = p.fleet.agent(0).hostname;
    const withValue = await count(
      'SELECT COUNT(*) AS n FROM `d$memory_usage` d JOIN `h$hosts` h ON h.id = d.host_id WHERE h.name = ? AND sim_new IS NOT NULL',
      [host],
    );
    const newRows = p.fleet.model(0).all(undefined, p.now()).system.memory.memory.filter((r) => 'sim_new' in r).length;
    expect(newRows).toBeGreaterThan(0);
    expect(withValue).toBe(newRows);
    expect(await count('SELECT COUNT(*) AS n FROM `d$memory_usage` WHERE sim_new IS NULL')).toBeGreaterThan(0);
  });

  it('writes one s$history row per service per poll and each log line once', async () => {
    const services = await count('SELECT COUNT(*) AS n FROM `s$services`');
    const polls = await count('SELECT COUNT(DISTINCT `timestamp`) AS n FROM `s$history`');
    expect(await count('SELECT COUNT(*) AS n FROM `s$history`')).toBeLessThanOrEqual(services * polls);
    expect(await count('SELECT COUNT(*) AS n FROM (SELECT serv_id, `timestamp`, COUNT(*) AS c FROM `s$history` GROUP BY serv_id, `timestamp` HAVING c > 1) x')).toBe(0);
    expect(
      await count('SELECT COUNT(*) AS n FROM (SELECT COUNT(*) AS c FROM `s$log_events` GROUP BY serv_id, source_name, date_field, line_no HAVING c > 1) x'),
    ).toBe(0);
    // Lines of Error or worse (--alert-log-level default) were handed to alerting by their row id, every one of them.
    const [alerting] = await p.env.pool.query<RowDataPacket[]>('SELECT id FROM `s$log_events` WHERE event_type <= 2 ORDER BY id');
    const published = new Set(p.events.filter((e) => e.kind === 'log-event').map((e) => e.id));
    expect(alerting.length).toBeGreaterThan(0);
    expect([...published].sort((a, b) => a - b)).toEqual(alerting.map((r) => Number(r.id)));
  });

  it('opens service-failed when a process or socket is not ok, and closes it when it recovers', async () => {
    const host = p.fleet.agent(1).hostname;
    const service = Object.keys(p.fleet.model(1).all(undefined, p.now()).services ?? {})[0];
    p.fleet.setFault(1, { kind: 'serviceFailed', serviceId: service });
    await poll();
    const [[row]] = await p.env.pool.query<RowDataPacket[]>(
      "SELECT e.id, e.detail FROM `c$state_events` e JOIN `s$services` s ON s.id = e.owner_id JOIN `h$hosts` h ON h.id = s.host_id " +
        "WHERE e.kind = 'service-failed' AND e.end_time IS NULL AND h.name = ? AND s.name = ?",
      [host, service],
    );
    expect(row.detail).toMatch(/not ok/);
    await poll(); // still failed: no second event
    expect(await count("SELECT COUNT(*) AS n FROM `c$state_events` WHERE kind = 'service-failed'")).toBe(1);
    p.fleet.setFault(1, null);
    await poll();
    expect(await count("SELECT COUNT(*) AS n FROM `c$state_events` WHERE kind = 'service-failed' AND end_time IS NOT NULL")).toBe(1);
  });

  it('detects a service and a host that the agent stopped reporting', async () => {
    const agentId = (await new AgentRegistry(p.env.pool).list()).find((a) => a.host === p.fleet.agent(0).host)!.id;
    const [[known]] = await p.env.pool.query<RowDataPacket[]>('SELECT host_id FROM `agt$hosts` WHERE agt_id = ?', [agentId]);
    const longAgo = Date.now() - 3_600_000;
    // A service the agent reported an hour ago, and a host it reported an hour ago, neither sent any more.
    const [svc] = await p.env.pool.query('INSERT INTO `s$services` (host_id, name) VALUES (?, ?)', [known.host_id, 'gone-tcp_0.0.0.0_1']);
    const servId = (svc as { insertId: number }).insertId;
    await p.env.pool.query("INSERT INTO `s$process` (serv_id, name, status, `timestamp`) VALUES (?, 'gone', 'ok', ?)", [servId, longAgo]);
    await p.env.pool.query("INSERT INTO `s$sockets` (serv_id, name, status, `timestamp`) VALUES (?, 'tcp:1', 'ok', ?)", [servId, longAgo]);
    const [ghost] = await p.env.pool.query("INSERT INTO `h$hosts` (name) VALUES ('retired-host')");
    const ghostId = (ghost as { insertId: number }).insertId;
    await p.env.pool.query('INSERT INTO `agt$hosts` (agt_id, host_id, last_seen) VALUES (?, ?, ?)', [agentId, ghostId, longAgo]);

    await poll();
    expect(await count("SELECT COUNT(*) AS n FROM `c$state_events` WHERE kind = 'service-missing' AND owner_id = ? AND end_time IS NULL", [servId])).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM `c$state_events` WHERE kind = 'host-missing' AND owner_id = ? AND end_time IS NULL", [ghostId])).toBe(1);
    // Upstream's s$history row for an absent service: its process and socket counted missing.
    expect(await count('SELECT COUNT(*) AS n FROM `s$history` WHERE serv_id = ? AND missing = 2 AND ok = 0', [servId])).toBe(1);
    // Healthy hosts and services raise nothing.
    expect(await count("SELECT COUNT(*) AS n FROM `c$state_events` WHERE kind IN ('host-missing', 'service-missing')")).toBe(2);
    await poll();
    expect(await count("SELECT COUNT(*) AS n FROM `c$state_events` WHERE kind IN ('host-missing', 'service-missing')")).toBe(2);
  });
});
