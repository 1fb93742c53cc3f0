import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisSentinelSet } from '@watched/core/testing';
import { RedisHaHarness, RESUME_BOUND_MS } from './redis-ha-harness.js';

/**
 * Redis with Sentinel (1 master, 2 replicas, 3 sentinels, private processes
 * on ports of their own) under two coordinators and two workers polling a
 * simulated fleet through `redis+sentinel://`: the master is killed -9
 * mid-ingest, then a `SENTINEL FAILOVER` demotes the next one while it lives.
 */
describe('Redis Sentinel failover under running processes', () => {
  let set: RedisSentinelSet;
  let harness: RedisHaHarness;

  beforeAll(async () => {
    set = await new RedisSentinelSet().start();
    harness = await RedisHaHarness.start('redis_sentinel_failover', set.url);
  }, 150_000);

  afterAll(async () => {
    await harness?.close();
    await set?.stop();
  }, 60_000);

  it('kill -9 of the master: polling resumes within 10 s of the promotion', async () => {
    const master = (await set.masterPort())!;
    const killedAt = Date.now();
    await set.node(master).kill();
    const promoted = await set.promotedFrom(master);
    const promotedAt = Date.now();
    const resumedAt = await harness.polledSince(promotedAt);
    console.info(`Sentinel master kill: promoted after ${promotedAt - killedAt} ms, polling again ${resumedAt - promotedAt} ms after the promotion (${resumedAt - killedAt} ms after the kill)`);
    expect(resumedAt - promotedAt).toBeLessThan(RESUME_BOUND_MS);
    // `watched status` says where every process went and that it saw the failover.
    const text = await harness.statusWhen((s) => s.includes(`master 127.0.0.1:${promoted} (4 processes)`) && s.includes('failovers seen by 4'));
    expect(text).toMatch(/1 failover, latest .* ago, now on 127\.0\.0\.1:\d+/);
    // The killed master comes back (empty, no persistence) and is turned into a replica of the new one.
    await set.node(master).start();
    await set.settled();
    expect(await set.masterPort()).toBe(promoted);
  }, 90_000);

  it('SENTINEL FAILOVER with the old master alive: no double leader, no slot out of term order, every row once', async () => {
    const before = (await set.masterPort())!;
    const termBefore = await harness.termInMysql();
    const failoverAt = Date.now();
    await set.failover();
    const watching = harness.doubleLeaders(8000);
    await set.promotedFrom(before);
    const resumedAt = await harness.polledSince(Date.now());
    console.info(`SENTINEL FAILOVER: polling again ${resumedAt - failoverAt} ms after the command`);
    expect(await watching).toEqual([]);
    expect(await harness.termInMysql()).toBeGreaterThanOrEqual(termBefore);
    expect((await harness.leaders()).length).toBe(1);
    await harness.expectSlotsInTermOrder();
    await harness.expectEveryRowOnce();
  }, 120_000);
});
