import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { AgentRegistry, createRedis, LeaderLease, POLL_QUEUE, RedisKeys, TermStore, type PollJobData, type Redis, type RowDataPacket } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { AgentCostsReader } from './agent-costs-reader.js';
import { parseCoordinatorOptions } from './coordinator-options.js';
import type { PollGroup } from './group-planner.js';
import type { GroupSchedule } from './schedule-hash.js';
import { Scheduler } from './scheduler.js';

/** The leader balances groups by the poll cost the workers record (`agt$state.poll_ms`), visible in the schedule hash. */
describe('Scheduler: groups balanced by measured cost (real MySQL and Redis)', () => {
  let env: TestEnvironment;
  let bull: Redis;
  let queue: Queue<PollJobData>;
  let keys: RedisKeys;
  const T = Date.UTC(2026, 0, 1, 0, 0, 0);

  beforeAll(async () => {
    env = await createTestEnvironment('cost_balancer');
    keys = new RedisKeys(env.prefix);
    bull = createRedis(env.redisUrl, { blocking: true });
    queue = new Queue<PollJobData>(POLL_QUEUE, { connection: bull, prefix: keys.bullPrefix });
    await new AgentRegistry(env.pool).add(Array.from({ length: 40 }, (_, i) => ({ host: `10.1.0.${i + 1}`, pollIntervalS: 60 })));
    // One agent in eight is slow (2 s per poll), as the workers measured it.
    const [agents] = await env.pool.query<RowDataPacket[]>('SELECT id FROM `c$agents` ORDER BY id');
    for (const [i, a] of agents.entries()) {
      await env.pool.query('INSERT INTO `agt$state` (agt_id, poll_ms) VALUES (?, ?)', [a.id, i % 8 === 0 ? 2000 : 20]);
    }
  });

  afterAll(async () => {
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await bull?.quit();
    await env?.cleanup();
  });

  const spread = (plan: readonly PollGroup[]) => {
    const costs = plan.map((g) => g.costMs);
    const mean = costs.reduce((a, b) => a + b, 0) / costs.length;
    return { max: Math.max(...costs), min: Math.min(...costs), mean };
  };
  const membership = (plan: readonly PollGroup[]) => new Map(plan.flatMap((g) => g.agentIds.map((id) => [id, g.id] as const)));

  it('balances by cost, records each group cost in the schedule, then moves only an added agent', async () => {
    const lease = new LeaderLease({ redis: env.redis, key: keys.leaderLease, nodeId: 'cost', ttlMs: 5000, logger: env.logger, terms: new TermStore(env.pool, keys.leaderLease) });
    expect(await lease.refresh()).toBe(true);
    const options = parseCoordinatorOptions({ groupSize: 11, agentRefresh: '1s', rebalanceInterval: '1h', balanceTolerance: 0.1 });
    const scheduler = new Scheduler(env.pool, queue, env.redis, { leaderLease: keys.leaderLease, schedule: keys.schedule }, options, env.logger);
    await scheduler.tick(T + 50_000, lease);
    const plan = scheduler.plan;
    expect(plan).toHaveLength(4);
    // 5 slow agents (10 s) and 35 fast ones (0.7 s) over 4 groups: 2,675 ms each at best.
    const { max, min, mean } = spread(plan);
    expect(mean).toBeCloseTo(10_700 / 4, 6);
    expect(max - min).toBeLessThanOrEqual(2000); // within one agent's cost
    expect(plan.flatMap((g) => g.agentIds)).toHaveLength(40);
    const schedule = Object.entries(await env.redis.hgetall(keys.schedule)).map(([id, json]) => [id, JSON.parse(json) as GroupSchedule] as const);
    for (const [id, entry] of schedule) {
      const group = plan.find((g) => g.id === id)!;
      expect(entry.costMs).toBeCloseTo(group.costMs, 6);
      expect(entry.agentIds).toEqual(group.agentIds);
    }

    // An agent added: the next refresh places it (in the cheapest group) and moves no one else.
    const before = membership(plan);
    await new AgentRegistry(env.pool).add([{ host: '10.1.0.200', pollIntervalS: 60 }]);
    await scheduler.tick(T + 51_500, lease); // no group due: only the changed one is written
    const after = membership(scheduler.plan);
    expect(after.size).toBe(41);
    for (const [id, group] of before) expect(after.get(id)).toBe(group);
    // The schedule hash is the assignment now, not only at each group's next slot.
    const hash = Object.entries(await env.redis.hgetall(keys.schedule)).map(([id, json]) => [id, JSON.parse(json) as GroupSchedule] as const);
    expect(hash.flatMap(([, e]) => e.agentIds).sort((x, y) => x - y)).toEqual([...after.keys()].sort((x, y) => x - y));
    for (const [id, entry] of hash) expect(entry.agentIds).toEqual(scheduler.plan.find((g) => g.id === id)!.agentIds);
    await lease.release();
  });

  it('a new leader keeps the assignment its predecessor wrote', async () => {
    const first = new LeaderLease({ redis: env.redis, key: keys.leaderLease, nodeId: 'first', ttlMs: 5000, logger: env.logger, terms: new TermStore(env.pool, keys.leaderLease) });
    expect(await first.refresh()).toBe(true);
    const options = parseCoordinatorOptions({ groupSize: 10, agentRefresh: '1s', rebalanceInterval: '1h' });
    const a = new Scheduler(env.pool, queue, env.redis, { leaderLease: keys.leaderLease, schedule: keys.schedule }, options, env.logger);
    await a.tick(T + 180_000, first);
    const planned = membership(a.plan);
    await first.release();
    const second = new LeaderLease({ redis: env.redis, key: keys.leaderLease, nodeId: 'second', ttlMs: 5000, logger: env.logger, terms: new TermStore(env.pool, keys.leaderLease) });
    expect(await second.refresh()).toBe(true);
    const b = new Scheduler(env.pool, queue, env.redis, { leaderLease: keys.leaderLease, schedule: keys.schedule }, options, env.logger);
    await b.tick(T + 181_000, second);
    expect(membership(b.plan)).toEqual(planned);
    await second.release();
  });

  it('reads the costs a page at a time, the same as in one read', async () => {
    const whole = await AgentCostsReader.loadAll(env.pool);
    const reader = new AgentCostsReader(env.pool, 7);
    let pages = 1;
    let paged = await reader.next();
    for (; paged === undefined; pages++) paged = await reader.next();
    expect(pages).toBe(Math.floor(whole.size / 7) + 1);
    expect(paged.size).toBe(whole.size);
    const [rows] = await env.pool.query<RowDataPacket[]>('SELECT agt_id, poll_ms FROM `agt$state` WHERE poll_ms > 0');
    for (const row of rows) expect(paged.get(Number(row.agt_id))).toBe(Number(row.poll_ms));
  });
});
