import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedis, type Redis } from '../redis.js';
import { createTestEnvironment, deleteKeys, type TestEnvironment } from '../testing/test-environment.js';
import { LeaderLease } from './leader-lease.js';
import { TermStore } from './term-store.js';

/**
 * A Redis failover as the lease sees it: the promoted replica lacks the
 * newest lease (asynchronous replication) while the deposed leader's client
 * still reaches the old master. Two logical databases of the test Redis
 * play the two masters; MySQL's term record is the one both sides share.
 */
describe('LeaderLease across a Redis failover (MySQL term record)', () => {
  let env: TestEnvironment;
  let oldMaster: Redis;
  let promoted: Redis;
  let terms: TermStore;

  beforeAll(async () => {
    env = await createTestEnvironment('lease_failover');
    oldMaster = createRedis(`${env.redisUrl.replace(/\/\d*$/, '')}/0`);
    promoted = createRedis(`${env.redisUrl.replace(/\/\d*$/, '')}/1`);
    terms = new TermStore(env.pool, env.keys.leaderTermRecord);
  });
  afterAll(async () => {
    await deleteKeys(promoted, `${env.prefix}:*`);
    oldMaster.disconnect();
    promoted.disconnect();
    await env.cleanup();
  });

  const lease = (redis: Redis, nodeId: string) => new LeaderLease({ redis, key: env.keys.leaderLease, nodeId, ttlMs: 10_000, logger: env.logger, terms });

  it('a leader whose Redis still renews its lease steps down once MySQL records a successor term', async () => {
    const deposed = lease(oldMaster, 'old');
    expect(await deposed.refresh()).toBe(true);
    expect(await deposed.confirm()).toBe(true);

    // The promoted replica has no lease: a successor takes the next term and records it.
    const successor = lease(promoted, 'new');
    expect(await successor.refresh()).toBe(true);
    expect(successor.term).toBe(deposed.term + 1);

    // Still leader on its clock and in its Redis, yet fenced before its next enqueue.
    expect(deposed.isLeader()).toBe(true);
    expect(await deposed.confirm()).toBe(false);
    expect(deposed.isLeader()).toBe(false);
    // Its key on the old master is gone too (only where it was still its own).
    expect(await oldMaster.exists(env.keys.leaderLease)).toBe(0);
    expect(await successor.confirm()).toBe(true);
  });

  it('a renewal that succeeds on a cut-off master does not keep a superseded leader', async () => {
    const cutOff = lease(promoted, 'cut-off');
    await promoted.del(env.keys.leaderLease);
    expect(await cutOff.refresh()).toBe(true);
    const other = lease(oldMaster, 'other');
    expect(await other.refresh()).toBe(true);
    expect(other.term).toBeGreaterThan(cutOff.term);
    expect(await cutOff.refresh()).toBe(false);
    expect(cutOff.isLeader()).toBe(false);
  });
});
