import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue, type Job } from 'bullmq';
import { AgentRegistry, createRedis, LeaderLease, POLL_QUEUE, RedisKeys, TermStore, type PollJobData, type Redis } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { parseCoordinatorOptions, type CoordinatorOptions } from './coordinator-options.js';
import { Scheduler } from './scheduler.js';

/**
 * What keeps every tick short at a million agents, seen from the outside: a
 * new leader schedules from the assignment its predecessor left before it
 * reads `c$agents`, and more due groups than one tick enqueues are enqueued
 * over the next ticks, most overdue first, each slot once.
 */
describe('Scheduler: takeover from the schedule, backlog over several ticks (real MySQL and Redis)', () => {
  let env: TestEnvironment;
  let bull: Redis;
  let queue: Queue<PollJobData>;
  let keys: RedisKeys;
  const T = Date.UTC(2026, 0, 1, 0, 0, 0);

  const lease = (nodeId: string) =>
    new LeaderLease({ redis: env.redis, key: keys.leaderLease, nodeId, ttlMs: 5000, logger: env.logger, terms: new TermStore(env.pool, keys.leaderLease) });
  const scheduler = (options: CoordinatorOptions) =>
    new Scheduler(env.pool, queue, env.redis, { leaderLease: keys.leaderLease, schedule: keys.schedule }, options, env.logger);
  const jobs = async () => (await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed'], 0, -1)) as Array<Job<PollJobData>>;

  beforeAll(async () => {
    env = await createTestEnvironment('scheduler_takeover');
    keys = new RedisKeys(env.prefix);
    bull = createRedis(env.redisUrl, { blocking: true });
    queue = new Queue<PollJobData>(POLL_QUEUE, { connection: bull, prefix: keys.bullPrefix });
  });

  afterAll(async () => {
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await bull?.quit();
    await env?.cleanup();
  });

  it('a new leader enqueues the due slots from its predecessor\'s assignment in its first tick, then picks up agents added meanwhile', async () => {
    const options = parseCoordinatorOptions({ groupSize: 5, agentRefresh: '1s', rebalanceInterval: '0s' });
    await new AgentRegistry(env.pool).add(Array.from({ length: 12 }, (_, i) => ({ host: `10.3.0.${i + 1}`, pollIntervalS: 60 })));
    const first = lease('first');
    expect(await first.refresh()).toBe(true);
    const a = scheduler(options);
    expect((await a.tick(T + 59_000, first)).enqueued).toBe(3);
    const assignment = a.plan.map((g) => [g.id, g.agentIds] as const);
    // Workers poll those jobs; the leader dies; meanwhile the front adds an agent.
    await queue.drain();
    await env.redis.del(keys.leaderLease);
    await new AgentRegistry(env.pool).add([{ host: '10.3.1.1', pollIntervalS: 60 }]);
    const [[added]] = (await env.pool.query('SELECT MAX(id) AS id FROM `c$agents`')) as unknown as [[{ id: number }]];

    const second = lease('second');
    expect(await second.refresh()).toBe(true);
    const b = scheduler(options);
    // The next slots of all three groups are due: enqueued at once, with the predecessor's members.
    expect(await b.tick(T + 119_000, second)).toEqual({ enqueued: 3, skipped: 0, refused: false });
    expect(b.lastSteps[0]).toBe('adopt');
    const enqueued = (await jobs()).filter((j) => j.data.term === second.term);
    expect(enqueued.map((j) => [j.data.group, j.data.agentIds] as const).sort()).toEqual([...assignment].sort());
    // Within a few ticks (seed, probe, plan) the added agent is planned; no one else moved.
    for (let s = 1; s <= 3; s++) await b.tick(T + 119_000 + s * 1000, second);
    const after = new Map(b.plan.flatMap((g) => g.agentIds.map((id) => [id, g.id] as const)));
    expect(after.has(added.id)).toBe(true);
    for (const [group, ids] of assignment) for (const id of ids) expect(after.get(id)).toBe(group);
    await second.release();
  });

  it('a new leader ignores schedule entries that are not a group\'s schedule, and plans their agents again', async () => {
    const options = parseCoordinatorOptions({ groupSize: 5, agentRefresh: '1s', rebalanceInterval: '0s' });
    await env.redis.del(keys.leaderLease);
    const entries = await env.redis.hgetall(keys.schedule);
    const [victim] = Object.keys(entries).sort();
    const victimAgents = (JSON.parse(entries[victim]) as { agentIds: number[] }).agentIds;
    await env.redis.hset(keys.schedule, victim, '{"not json', 'f60000-g99', 'null');
    const third = lease('third');
    expect(await third.refresh()).toBe(true);
    const c = scheduler(options);
    await c.tick(T + 200_000, third); // no throw
    for (let s = 1; s <= 3; s++) await c.tick(T + 200_000 + s * 1000, third);
    const planned = c.plan.flatMap((g) => g.agentIds);
    const [[{ n }]] = (await env.pool.query('SELECT COUNT(*) AS n FROM `c$agents`')) as unknown as [[{ n: number }]];
    expect(planned).toHaveLength(Number(n));
    expect(planned).toEqual(expect.arrayContaining(victimAgents));
    expect(await env.redis.hexists(keys.schedule, 'f60000-g99')).toBe(0);
    await third.release();
  });

  it('enqueues more due groups than one tick takes over the next ticks, most overdue first, each slot once', async () => {
    await queue.obliterate({ force: true });
    await env.redis.del(keys.schedule, keys.leaderLease);
    await env.pool.query('DELETE FROM `c$agents`');
    await new AgentRegistry(env.pool).add(Array.from({ length: 4000 }, (_, i) => ({ host: `10.4.${i >> 8}.${i & 255}`, pollIntervalS: 60 })));
    const holder = lease('backlog');
    expect(await holder.refresh()).toBe(true);
    // Groups of one agent (jump hashing leaves some of the 4,000 empty): every one due at T + 59.9 s, offsets spread over the minute.
    const s = scheduler(parseCoordinatorOptions({ groupSize: 1, agentRefresh: '1h', rebalanceInterval: '0s' }));
    const firstTick = await s.tick(T + 59_900, holder);
    const groups = s.plan.length;
    expect(groups).toBeGreaterThan(firstTick.enqueued);
    const firstSlots = (await jobs()).map((j) => j.data.slot);
    let total = firstTick.enqueued;
    for (let tick = 1; tick <= 3 && total < groups; tick++) total += (await s.tick(T + 59_900 + tick * 10, holder)).enqueued;
    expect(total).toBe(groups);
    const all = await jobs();
    expect(all).toHaveLength(groups);
    expect(new Set(all.map((j) => j.id)).size).toBe(groups);
    expect(new Set(all.map((j) => j.data.group)).size).toBe(groups);
    expect(all.reduce((n, j) => n + j.data.agentIds.length, 0)).toBe(4000);
    // Most overdue first: every slot enqueued later started no earlier than any of the first tick's.
    const later = all.map((j) => j.data.slot).filter((slot) => !firstSlots.includes(slot));
    expect(Math.min(...later)).toBeGreaterThanOrEqual(Math.max(...firstSlots));
    await holder.release();
  });
});
