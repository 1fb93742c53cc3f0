import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedis, QueueEventSink, type MonitoringEvent, type Redis, type ResultSetHeader } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { Alerter } from './alerter.js';
import { parseAlerterOptions } from './alerter-options.js';
import { routeByConfig } from './routing.js';
import { Reconciler } from './maintenance/reconciler.js';
import type { AlertEvent } from './notification.js';
import { waitFor } from '@watched/core/testing';
import { SmtpPeer } from './testing/smtp-peer.js';

let env: TestEnvironment;
let sinkRedis: Redis;
let sink: QueueEventSink;
let dir: string;

beforeAll(async () => {
  env = await createTestEnvironment('alert_routing');
  sinkRedis = createRedis(env.redisUrl);
  sink = new QueueEventSink(sinkRedis, env.keys, { backoffMs: 100 });
  dir = mkdtempSync(join(tmpdir(), 'watched-alert-'));
});

afterAll(async () => {
  await sink.close();
  await sinkRedis.quit();
  await env.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function insert(sql: string, params: unknown[] = []): Promise<number> {
  const [r] = await env.pool.query<ResultSetHeader>(sql, params);
  return r.insertId;
}

describe('routing', () => {
  it('routes by config rules in order, continue keeps looking', () => {
    const event = { host: 'db1', service: null, serviceType: null, resourceType: 'disk_usage', severity: 'Critical', kind: 'threshold', transition: 'opened' } as AlertEvent;
    const routes = [
      { match: { severity: ['critical'], host: ['db*'] }, receivers: ['pager'], continue: true },
      { match: { kind: ['agent-failed'] }, receivers: ['ops'], continue: false },
      { match: { resourceType: ['disk_*'] }, receivers: ['disk', 'pager'], continue: false },
      { match: {}, receivers: ['all'], continue: false },
    ];
    expect(routeByConfig(routes, event)).toEqual(['pager', 'disk']);
    expect(routeByConfig(routes, { ...event, host: 'web1', resourceType: 'cpu_usage' })).toEqual(['all']);
  });

  it("mails a host-missing event to the front's alert addresses (p$alert_hosts + c$properties email)", async () => {
    const smtp = new SmtpPeer();
    await smtp.start();
    const hostId = await insert("INSERT INTO `h$hosts` (name) VALUES ('web2')");
    // seeded by migration 0009 (upstream's roles); LAST_INSERT_ID(id) hands back the existing row's id
    const roleId = await insert("INSERT INTO `p$roles` (name) VALUES ('hostadmin') ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)");
    const teamId = await insert("INSERT INTO `p$teams` (name) VALUES ('sysadmin')");
    const userId = await insert("INSERT INTO `u$users` (username) VALUES ('alice')");
    await insert('INSERT INTO `u$teams` (user_id, team_id) VALUES (?, ?)', [userId, teamId]);
    await insert("INSERT INTO `u$properties` (user_id, prop_id, value) SELECT ?, id, 'Alice@Example.org' FROM `c$properties` WHERE name = 'email'", [userId]);
    await insert("INSERT INTO `p$team_properties` (team_id, prop_id, value) SELECT ?, id, 'team@example.org' FROM `c$properties` WHERE name = 'email'", [teamId]);
    await insert('INSERT INTO `p$hosts` (host_id, team_id, role_id, alert) VALUES (?, ?, ?, TRUE)', [hostId, teamId, roleId]);
    const eventId = await insert("INSERT INTO `c$state_events` (kind, owner_id, start_time, detail) VALUES ('host-missing', ?, ?, 'not reported for 15 min')", [hostId, Date.now()]);

    const alerter = new Alerter(
      env.roleContext('alerter'),
      parseAlerterOptions({
        alertGroupWindow: '200ms',
        alertReceivers: [{ name: 'front', plugin: 'email', options: { host: '127.0.0.1', port: smtp.port, from: 'watched@example.org' } }],
        alertPermissionReceiver: 'front',
      }),
    );
    await alerter.start();
    try {
      await sink.publish([{ kind: 'host-missing', transition: 'opened', id: eventId, table: 'c$state_events', time: Date.now(), detail: { ownerId: hostId } }]);
      await waitFor('one mail per address', () => smtp.mails.length === 2, 10_000);
      expect(smtp.mails.map((m) => m.to[0]).sort()).toEqual(['alice@example.org', 'team@example.org']);
      expect(smtp.mails[0].subject).toMatch(/\[Critical\] web2 host-missing/);
      expect(smtp.mails[0].raw).toContain('not reported for 15 min');
    } finally {
      await alerter.close();
      await smtp.stop();
    }
  });

  it('alerts an agent failure through a plugin module loaded from a path', async () => {
    const out = join(dir, 'calls.jsonl');
    const modulePath = join(dir, 'file-plugin.mjs');
    writeFileSync(
      modulePath,
      `import { appendFileSync } from 'node:fs';
       const options = { safeParse: (v) => (v && typeof v.file === 'string' ? { success: true, data: v } : { success: false, error: { issues: [{ path: ['file'], message: 'required' }] } }) };
       export default {
         name: 'file',
         options,
         create: (opts, ctx) => ({ async send(n) { appendFileSync(opts.file, JSON.stringify({ receiver: ctx.receiver, events: n.events }) + '\\n'); } }),
       };\n`,
    );
    const agentId = await insert("INSERT INTO `c$agents` (host, port) VALUES ('10.0.0.9', 9080)");
    const eventId = await insert("INSERT INTO `agt$events` (agt_id, start_time, failures, reason) VALUES (?, ?, 3, 'refused')", [agentId, Date.now()]);
    const alerter = new Alerter(
      env.roleContext('alerter'),
      parseAlerterOptions({
        alertGroupWindow: '200ms',
        alertPlugins: modulePath,
        alertReceivers: [{ name: 'log', plugin: 'file', options: { file: out } }],
        alertRoutes: [{ match: { kind: 'agent-failed' }, receivers: ['log'] }],
      }),
    );
    await alerter.start();
    try {
      await sink.publish([{ kind: 'agent-failed', transition: 'opened', id: eventId, table: 'agt$events', time: Date.now(), detail: { agentId } }]);
      await waitFor('the plugin call', () => existsSync(out), 10_000);
      const call = JSON.parse(readFileSync(out, 'utf8').trim()) as { receiver: string; events: AlertEvent[] };
      expect(call.receiver).toBe('log');
      expect(call.events[0]).toMatchObject({ kind: 'agent-failed', agent: '10.0.0.9:9080', severity: 'Critical', reason: 'refused, 3 failed polls' });
    } finally {
      await alerter.close();
    }
  });

  it('publishes again transitions whose publish was lost, once', async () => {
    const now = Date.now();
    const agentId = await insert("INSERT INTO `c$agents` (host, port) VALUES ('10.0.0.10', 9080)");
    const lost = await insert("INSERT INTO `agt$events` (agt_id, start_time, end_time, failures, reason) VALUES (?, ?, ?, 3, 'timeout')", [agentId, now - 600_000, now - 300_000]);
    const tooOld = await insert("INSERT INTO `c$state_events` (kind, owner_id, start_time) VALUES ('host-missing', 999, ?)", [now - 7_200_000]);
    const published: MonitoringEvent[] = [];
    const sinkInMemory = { publish: async (events: MonitoringEvent[]) => void published.push(...events) };
    const reconciler = new Reconciler(env.pool, sinkInMemory, 3_600_000, 60_000);
    await reconciler.run(now);
    const mine = published.filter((e) => e.table === 'agt$events' && e.id === lost);
    expect(mine.map((e) => e.transition).sort()).toEqual(['closed', 'opened']);
    expect(published.some((e) => e.table === 'c$state_events' && e.id === tooOld)).toBe(false);
    // once the alerter has recorded them, they are not published again
    await env.pool.query(
      "INSERT INTO `c$alert_events` (event_table, event_id, transition, kind, event_time, received_at, payload) VALUES ('agt$events', ?, 'opened', 'agent-failed', 0, 0, '{}'), ('agt$events', ?, 'closed', 'agent-failed', 0, 0, '{}')",
      [lost, lost],
    );
    published.length = 0;
    await reconciler.run(now);
    expect(published.some((e) => e.table === 'agt$events' && e.id === lost)).toBe(false);
  });
});
