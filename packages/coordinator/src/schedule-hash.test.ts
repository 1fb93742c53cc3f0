import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisKeys } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import type { PollGroup } from './group-planner.js';
import { groupLagMs, ScheduleHash, type GroupSchedule, type LeaseView } from './schedule-hash.js';

describe('ScheduleHash (real Redis)', () => {
  let env: TestEnvironment;
  let keys: RedisKeys;
  const T = Date.UTC(2026, 0, 1);
  const ours: LeaseView = { term: 3, token: 'a:3', isLeader: () => true };
  const hash = () => new ScheduleHash(env.redis, { leaderLease: keys.leaderLease, schedule: keys.schedule }, env.logger);
  const group = (id: string, offsetMs: number, agentIds: number[]): PollGroup => ({ id, pollIntervalMs: 60_000, offsetMs, agentIds, costMs: 5 });
  const entry = (g: PollGroup, slot: number): GroupSchedule => ({
    frequencyMs: g.pollIntervalMs, offsetMs: g.offsetMs, agents: g.agentIds.length, agentIds: g.agentIds, slot, enqueuedSlot: slot, skipped: 0, skippedSlot: null, term: 3, costMs: g.costMs,
  });
  const g1 = group('f60000-g1', 30_000, [3, 4]);
  const g0 = group('f60000-g0', 0, [1, 2]);

  beforeAll(async () => {
    env = await createTestEnvironment('schedule_hash', { migrate: false });
    keys = new RedisKeys(env.prefix);
  });
  afterAll(async () => env?.cleanup());

  it('writes under our lease; a new leader adopts the entries as its groups, ordered as planned', async () => {
    await env.redis.set(keys.leaderLease, 'a:3');
    const first = hash();
    expect(await first.publish(new Map([[g1.id, entry(g1, T + 30_000)], [g0.id, entry(g0, T)]]), ours, [g1, g0])).toBe(true);
    expect(first.get(g0.id)?.slot).toBe(T);

    const next = hash();
    expect(next.term).toBe(0);
    expect(await next.adopt(4)).toEqual([g0, g1]);
    expect(next.term).toBe(4);
    expect(next.get(g1.id)).toEqual(entry(g1, T + 30_000));
    expect(next.hasRemovals).toBe(false);
  });

  it('writes nothing, and changes nothing of its copy, once the lease is another node\'s', async () => {
    const s = hash();
    await s.adopt(3);
    await env.redis.set(keys.leaderLease, 'b:4');
    expect(await s.publish(new Map([[g0.id, entry(g0, T + 60_000)]]), ours, [g0, g1])).toBe(false);
    expect(await s.publish(new Map([[g0.id, entry(g0, T + 60_000)]]), { ...ours, isLeader: () => false }, [g0, g1])).toBe(false);
    expect(s.get(g0.id)?.slot).toBe(T);
    expect((JSON.parse((await env.redis.hget(keys.schedule, g0.id))!) as GroupSchedule).slot).toBe(T);
  });

  it('deletes unreadable entries and groups no longer planned with the next write, not a group planned again meanwhile', async () => {
    await env.redis.set(keys.leaderLease, 'a:3');
    await env.redis.hset(keys.schedule, 'junk', 'not json', 'f60000-g9', JSON.stringify({ frequencyMs: 0, offsetMs: 0, slot: 1 }));
    const s = hash();
    expect(await s.adopt(3)).toEqual([g0, g1]);
    expect(s.hasRemovals).toBe(true);
    s.retain(new Set([g0.id])); // g1 dropped by a re-plan
    expect(s.get(g1.id)).toBeUndefined();
    expect(await s.publish(new Map(), ours, [g0])).toBe(true);
    expect(s.hasRemovals).toBe(false);
    expect(Object.keys(await env.redis.hgetall(keys.schedule))).toEqual([g0.id]);

    // A group dropped and planned again under the same id before the write keeps its (new) entry.
    s.retain(new Set());
    expect(await s.publish(new Map([[g0.id, entry(g0, T + 60_000)]]), ours, [g0])).toBe(true);
    expect(Object.keys(await env.redis.hgetall(keys.schedule))).toEqual([g0.id]);
  });

  it('measures a group\'s lag from its latest enqueued slot', () => {
    const e = entry(g0, T);
    expect(groupLagMs(e, T + 59_000)).toBe(0);
    expect(groupLagMs(e, T + 2 * 60_000 + 1)).toBe(2 * 60_000);
    expect(groupLagMs({ ...e, enqueuedSlot: null }, T + 1000)).toBe(T);
  });
});
