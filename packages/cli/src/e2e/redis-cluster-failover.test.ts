import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisClusterSet } from '@watched/core/testing';
import { RedisHaHarness, RESUME_BOUND_MS } from './redis-ha-harness.js';

/**
 * A Redis Cluster (3 masters, 3 replicas, private processes on ports of
 * their own) under two coordinators and two workers polling a simulated
 * fleet through `redis+cluster://`: every key of the installation lives in
 * the one slot of its hash tag, and kill -9 of the master holding that slot
 * costs a few seconds of polling, no row.
 */
describe('Redis Cluster failover under running processes', () => {
  let cluster: RedisClusterSet;
  let harness: RedisHaHarness;

  beforeAll(async () => {
    cluster = await new RedisClusterSet().start();
    harness = await RedisHaHarness.start('redis_cluster_failover', cluster.url);
  }, 150_000);

  afterAll(async () => {
    await harness?.close();
    await cluster?.stop();
  }, 60_000);

  it('keeps every key of the installation, BullMQ\'s and the lease\'s included, in the slot of its hash tag', async () => {
    const slot = await cluster.keySlot(harness.keys.leaderLease);
    const keys = (await cluster.keys()).filter((k) => k.key.includes(harness.env.prefix));
    // The lease, its term, the schedule, membership and the poll queue's keys at least.
    expect(keys.length).toBeGreaterThan(8);
    expect(keys.filter((k) => k.slot !== slot).map((k) => k.key)).toEqual([]);
    expect(new Set(keys.map((k) => k.nodePort)).size).toBe(1);
  }, 30_000);

  it('kill -9 of the master holding the slot: polling resumes within 10 s of the promotion, every row once', async () => {
    const slot = await cluster.keySlot(harness.keys.leaderLease);
    const master = (await cluster.masterOfSlot(slot))!;
    const killedAt = Date.now();
    await cluster.node(master).kill();
    await cluster.promotedFrom(master, slot);
    const promotedAt = Date.now();
    const resumedAt = await harness.polledSince(promotedAt);
    console.info(`Cluster master kill: promoted after ${promotedAt - killedAt} ms, polling again ${resumedAt - promotedAt} ms after the promotion (${resumedAt - killedAt} ms after the kill)`);
    expect(resumedAt - promotedAt).toBeLessThan(RESUME_BOUND_MS);
    // The killed node rejoins (as a replica of its successor); polling goes on meanwhile.
    await cluster.node(master).start();
    await cluster.settled();
    await harness.polledSince(Date.now());
    expect((await harness.leaders()).length).toBe(1);
    await harness.expectSlotsInTermOrder();
    await harness.expectEveryRowOnce();
  }, 150_000);
});
