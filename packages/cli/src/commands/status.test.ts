import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue, Worker as BullWorker } from 'bullmq';
import { AgentRegistry, createRedis, Membership, POLL_QUEUE, pollJobId, RedisKeys } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { collectStatus, formatStatus } from './status.js';

describe('watched status: groups with cost and lag, failed alert deliveries (real MySQL and Redis)', () => {
  let env: TestEnvironment;
  beforeAll(async () => {
    env = await createTestEnvironment('status');
  });
  afterAll(async () => env.cleanup());

  it('shows each group with its agents, cost and lag, and the latest given-up delivery', async () => {
    const now = Date.UTC(2026, 0, 1, 0, 10, 0);
    const keys = new RedisKeys(env.prefix);
    // As a leader writes it: one group on time, one whose latest enqueued slot is two intervals behind.
    const entry = (slot: number, enqueuedSlot: number, agentIds: number[], costMs: number) =>
      JSON.stringify({ frequencyMs: 60_000, offsetMs: 0, agents: agentIds.length, agentIds, slot, enqueuedSlot, skipped: 2, skippedSlot: null, term: 3, costMs });
    await env.redis.hset(keys.schedule, {
      'f60000-g0': entry(now, now, [1, 2, 3], 150),
      'f60000-g1': entry(now, now - 120_000, [4, 5], 4200),
    });
    await env.pool.query(
      "INSERT INTO `c$alert_events` (event_table, event_id, transition, kind, event_time, received_at, payload) VALUES ('agt$events', 1, 'opened', 'agent-failed', ?, ?, ?)",
      [now - 5000, now - 5000, JSON.stringify({ summary: '[Critical] 10.0.0.1:9080 agent-failed (refused) opened' })],
    );
    await env.pool.query(
      "INSERT INTO `c$alert_deliveries` (event_table, event_id, transition, receiver, created_at, attempts, last_error, failed_at) VALUES ('agt$events', 1, 'opened', 'ops', ?, 12, 'connect ECONNREFUSED', ?)",
      [now - 5000, now - 1000],
    );

    const status = await collectStatus(env.redis, env.keys, env.pool, now);
    expect(status.groups.map((g) => [g.group, g.agents, g.costMs, g.lagMs])).toEqual([
      ['f60000-g1', 2, 4200, 120_000],
      ['f60000-g0', 3, 150, 0],
    ]);
    expect(status.groups[1].agentIds).toEqual([1, 2, 3]);
    expect(status.alerts).toMatchObject({
      pendingDeliveries: 0,
      failedDeliveries: 1,
      latestFailure: { receiver: 'ops', attempts: 12, error: 'connect ECONNREFUSED', failedAt: now - 1000 },
    });
    const text = formatStatus(status);
    expect(text).toMatch(/f60000-g1\s+2 agents\s+cost 4\.2 s\s+lag 2 min/);
    expect(text).toContain('alerts      owed 0 (oldest -), failed 1');
    expect(text).toContain('latest failure 1.0 s ago to ops after 12 attempts: connect ECONNREFUSED ([Critical] 10.0.0.1:9080 agent-failed (refused) opened)');
    await env.redis.del(keys.schedule);
  });

  it('counts per group the agents off the hot path: slow (retry due) and backed off (retry later)', async () => {
    const now = Date.now();
    const keys = new RedisKeys(env.prefix);
    await new AgentRegistry(env.pool).add(['a1', 'a2', 'a3', 'a4'].map((host) => ({ host: `${host}.lanes.example.org` })));
    const ids = (await new AgentRegistry(env.pool).list()).filter((a) => a.host.endsWith('.lanes.example.org')).map((a) => a.id);
    const entry = (agentIds: number[]) =>
      JSON.stringify({ frequencyMs: 60_000, offsetMs: 0, agents: agentIds.length, agentIds, slot: now, enqueuedSlot: now, skipped: 0, skippedSlot: null, term: 3, costMs: 10 });
    await env.redis.hset(keys.schedule, { 'f60000-g0': entry(ids.slice(0, 3)), 'f60000-g1': entry(ids.slice(3)) });
    await env.pool.query('INSERT INTO `agt$state` (agt_id, slow_polls, retry_at) VALUES ?', [
      [
        [ids[0], 3, now + 60_000],
        [ids[1], 1, now - 1000],
        [ids[2], 0, null],
      ],
    ]);
    const status = await collectStatus(env.redis, env.keys, env.pool, now);
    const lanes = Object.fromEntries(status.groups.map((g) => [g.group, g.lanes]));
    expect(lanes).toEqual({ 'f60000-g0': { slow: 1, backedOff: 1 }, 'f60000-g1': { slow: 0, backedOff: 0 } });
    const text = formatStatus(status);
    expect(text).toContain('groups      2 (0 behind; 0 failed jobs, 0 failed agents); agents off the hot path: 1 slow, 1 backed off');
    expect(text).toMatch(/f60000-g0 .* slow 1 backed off 1/);
    expect(text).not.toMatch(/f60000-g1 .* slow/);
    await env.redis.del(keys.schedule);
  });

  it('counts every role of a process that runs several (watched up): one member per role, grouped back by process', async () => {
    const roles = ['coordinator', 'worker', 'aggregator', 'alerter'];
    const up = roles.map((role) => new Membership({ redis: env.redis, keys: env.keys, role, nodeId: 'host:1:up', intervalMs: 1000, logger: env.logger, details: () => ({ role }) }));
    const worker = new Membership({ redis: env.redis, keys: env.keys, role: 'worker', nodeId: 'host:2:w', intervalMs: 1000, logger: env.logger });
    await Promise.all([...up, worker].map((m) => m.beat()));

    const status = await collectStatus(env.redis, env.keys, env.pool);
    expect(status.coordinators.map((m) => m.nodeId)).toEqual(['host:1:up']);
    expect(status.workers.map((m) => m.nodeId)).toEqual(['host:1:up', 'host:2:w']);
    expect(status.others.map((m) => [m.role, m.nodeId])).toEqual([
      ['aggregator', 'host:1:up'],
      ['alerter', 'host:1:up'],
    ]);
    // Each role keeps its own details: the worker's entry is not overwritten by the coordinator's.
    expect(status.workers[0].details).toEqual({ role: 'worker' });
    expect(status.processes).toEqual([
      { nodeId: 'host:1:up', host: expect.any(String), pid: process.pid, roles: ['aggregator', 'alerter', 'coordinator', 'worker'] },
      { nodeId: 'host:2:w', host: expect.any(String), pid: process.pid, roles: ['worker'] },
    ]);
    const text = formatStatus(status);
    expect(text).toContain('workers     2 alive');
    expect(text).toContain('processes   2, 1 running several roles');
    expect(text).toContain('  host:1:up  aggregator, alerter, coordinator, worker');

    // One role stopping leaves the process's other roles listed.
    await up[1].stop();
    const after = await collectStatus(env.redis, env.keys, env.pool);
    expect(after.workers.map((m) => m.nodeId)).toEqual(['host:2:w']);
    expect(after.coordinators.map((m) => m.nodeId)).toEqual(['host:1:up']);
    await Promise.all([...up, worker].map((m) => m.stop()));
  });

  it('shows a group whose latest job failed as behind, with its failed jobs and failed agents, never on time', async () => {
    const now = Date.now();
    const slot = now - 1000;
    const keys = new RedisKeys(env.prefix);
    await new AgentRegistry(env.pool).add([{ host: '10.9.0.1', port: 9080 }, { host: '10.9.0.2', port: 9080 }]);
    const ids = (await new AgentRegistry(env.pool).list()).filter((a) => a.host.startsWith('10.9.0.')).map((a) => a.id);
    await env.pool.query('INSERT INTO `agt$state` (agt_id, consecutive_failures, last_error) VALUES (?, 1, ?)', [ids[0], 'host name longer than 256 characters']);
    // On time by the schedule (its latest slot is the one due), but that slot's job failed.
    await env.redis.hset(keys.schedule, {
      'f60000-gfail': JSON.stringify({ frequencyMs: 60_000, offsetMs: slot % 60_000, agents: 2, agentIds: ids, slot, enqueuedSlot: slot, skipped: 0, skippedSlot: null, term: 3 }),
    });
    const connection = createRedis(env.redisUrl, { blocking: true });
    const queue = new Queue(POLL_QUEUE, { connection, prefix: keys.bullPrefix });
    const workerConnection = createRedis(env.redisUrl, { blocking: true });
    const worker = new BullWorker(POLL_QUEUE, async () => {
      throw new Error('MySQL went away');
    }, { connection: workerConnection, prefix: keys.bullPrefix });
    try {
      const failed = new Promise((resolve) => worker.once('failed', resolve));
      await queue.add('poll', { group: 'f60000-gfail', slot, agentIds: ids, term: 3 }, { jobId: pollJobId('f60000-gfail', slot), attempts: 1 });
      await failed;
      const status = await collectStatus(env.redis, env.keys, env.pool, now);
      const group = status.groups.find((g) => g.group === 'f60000-gfail')!;
      expect(group).toMatchObject({ lastJobState: 'failed', behind: true, failedJobs: 1, failedAgents: 1 });
      expect(group.lagMs).toBeGreaterThanOrEqual(1000);
      const text = formatStatus(status);
      expect(text).toMatch(/groups {6}\d+ \(\d+ behind; 1 failed jobs, 1 failed agents\)/);
      expect(text).toMatch(/f60000-gfail .* lag 1\.0 s .* failed jobs 1, agents 1 {2}BEHIND/);
    } finally {
      await worker.close();
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await env.redis.del(keys.schedule);
      connection.disconnect();
      workerConnection.disconnect();
    }
  });

  it('shows which MySQL host each process writes to and the failovers it saw', async () => {
    const now = Date.now();
    const hosts = ['db1:3306', 'db2:3306', 'db3:3306'];
    const failedOver = { writer: 'db2:3306', hosts, failovers: [{ at: now - 12_000, from: 'db1:3306', to: 'db2:3306', reason: 'previous writer db1:3306 failed' }] };
    const members = [
      new Membership({ redis: env.redis, keys: env.keys, role: 'worker', nodeId: 'host:3:w', intervalMs: 1000, logger: env.logger, mysqlWriter: () => failedOver }),
      new Membership({ redis: env.redis, keys: env.keys, role: 'coordinator', nodeId: 'host:4:c', intervalMs: 1000, logger: env.logger, mysqlWriter: () => ({ writer: 'db1:3306', hosts, failovers: [] }) }),
    ];
    await Promise.all(members.map((m) => m.beat()));
    const status = await collectStatus(env.redis, env.keys, env.pool, now);
    expect(status.processes.find((p) => p.nodeId === 'host:3:w')?.mysql).toEqual(failedOver);
    const text = formatStatus(status);
    expect(text).toContain('mysql       2 writers: db2:3306, db1:3306, 1 failovers seen');
    expect(text).toContain('  host:3:w  writes to db2:3306 of db1:3306,db2:3306,db3:3306  1 failovers; last 12.0 s ago db1:3306 -> db2:3306 (previous writer db1:3306 failed)');
    expect(text).toContain('  host:4:c  writes to db1:3306 of db1:3306,db2:3306,db3:3306  0 failovers');
    await Promise.all(members.map((m) => m.stop()));
  });
});
