import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue, type Job } from 'bullmq';
import { AgentRegistry, createRedis, LeaderLease, POLL_QUEUE, RedisKeys, TermStore, type PollJobData, type Redis } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { parseCoordinatorOptions } from './coordinator-options.js';
import type { GroupSchedule } from './schedule-hash.js';
import { Scheduler } from './scheduler.js';

describe('Scheduler (real MySQL and Redis)', () => {
  let env: TestEnvironment;
  let bull: Redis;
  let queue: Queue<PollJobData>;
  let keys: RedisKeys;
  const options = parseCoordinatorOptions({ groupSize: 5, agentRefresh: '1s' });
  // Slots of a 60 s frequency, from a fixed time: the test drives the clock.
  const T = Date.UTC(2026, 0, 1, 0, 0, 0);

  const lease = (nodeId: string) =>
    new LeaderLease({ redis: env.redis, key: keys.leaderLease, nodeId, ttlMs: 5000, logger: env.logger, terms: new TermStore(env.pool, keys.leaderLease) });
  const scheduler = () =>
    new Scheduler(env.pool, queue, env.redis, { leaderLease: keys.leaderLease, schedule: keys.schedule }, options, env.logger);
  const jobs = async () => (await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed'], 0, -1)) as Array<Job<PollJobData>>;

  beforeAll(async () => {
    env = await createTestEnvironment('scheduler');
    keys = new RedisKeys(env.prefix);
    bull = createRedis(env.redisUrl, { blocking: true });
    queue = new Queue<PollJobData>(POLL_QUEUE, { connection: bull, prefix: keys.bullPrefix });
    await new AgentRegistry(env.pool).add(Array.from({ length: 12 }, (_, i) => ({ host: `10.0.0.${i + 1}`, pollIntervalS: 60 })));
  });

  afterAll(async () => {
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await bull?.quit();
    await env?.cleanup();
  });

  it('enqueues one job per group and slot, stamped with the term, and records the schedule under the lease', async () => {
    const a = lease('a');
    expect(await a.refresh()).toBe(true);
    const s = scheduler();
    const first = await s.tick(T + 59_000, a);
    expect(first).toEqual({ enqueued: 3, skipped: 0, refused: false });
    const all = await jobs();
    expect(all).toHaveLength(3);
    expect(all.every((j) => j.data.term === a.term)).toBe(true);
    expect(all.reduce((n, j) => n + j.data.agentIds.length, 0)).toBe(12);
    // Same slot again: nothing new.
    expect((await s.tick(T + 59_500, a)).enqueued).toBe(0);
    const schedule = await env.redis.hgetall(keys.schedule);
    expect(Object.keys(schedule)).toHaveLength(3);
    for (const json of Object.values(schedule)) expect((JSON.parse(json) as GroupSchedule).term).toBe(a.term);
  });

  it('skips and counts the next slot of a group whose job is still waiting (backpressure)', async () => {
    const holder = lease('holder');
    await env.redis.del(keys.leaderLease);
    expect(await holder.refresh()).toBe(true);
    const s = scheduler();
    // No worker: the three jobs of the first slot are still waiting.
    const result = await s.tick(T + 60_000 + 59_000, holder);
    expect(result).toEqual({ enqueued: 0, skipped: 3, refused: false });
    expect(await jobs()).toHaveLength(3);
    const entries = Object.values(await env.redis.hgetall(keys.schedule)).map((j) => JSON.parse(j) as GroupSchedule);
    expect(entries.every((e) => e.skipped === 1 && e.enqueuedSlot !== null && e.enqueuedSlot < e.slot)).toBe(true);
    await holder.release();
  });

  it('a deposed leader enqueues nothing, even while its own clock still says it leads', async () => {
    await queue.drain(true);
    const old = lease('old');
    expect(await old.refresh()).toBe(true);
    const oldScheduler = scheduler();
    // The lease passes to another node behind old's back (old paused past its TTL, say).
    await env.redis.del(keys.leaderLease);
    const next = lease('next');
    expect(await next.refresh()).toBe(true);
    expect(next.term).toBeGreaterThan(old.term);
    expect(old.isLeader()).toBe(true); // its local view has not expired yet
    const before = (await jobs()).length;
    const result = await oldScheduler.tick(T + 10 * 60_000, old);
    expect(result.refused).toBe(true);
    expect((await jobs()).length).toBe(before);
    expect(oldScheduler.stats.refused).toBe(1);
    // The new leader schedules that slot once.
    const fresh = scheduler();
    expect((await fresh.tick(T + 10 * 60_000, next)).enqueued).toBe(3);
    // A third leader taking over at the same instant continues from the schedule: no slot twice.
    await next.release();
    const third = lease('third');
    expect(await third.refresh()).toBe(true);
    expect((await scheduler().tick(T + 10 * 60_000 + 500, third)).enqueued).toBe(0);
    await third.release();
  });

  it('records each term in MySQL and refuses a term no higher than the recorded one', async () => {
    const store = new TermStore(env.pool, keys.leaderLease);
    const highest = await store.highest();
    expect(highest).toBeGreaterThanOrEqual(4);
    expect(await store.record(highest, 'late')).toBe(false);
    expect(await store.record(highest - 1, 'later')).toBe(false);
    expect(await store.record(highest + 1, 'next')).toBe(true);
    // Redis restarted empty: the counter is gone, the next term still comes after MySQL's.
    await env.redis.del(`${keys.leaderLease}:term`, keys.leaderLease);
    const after = lease('after-restart');
    expect(await after.refresh()).toBe(true);
    expect(after.term).toBe(highest + 2);
    await after.release();
  });
});
