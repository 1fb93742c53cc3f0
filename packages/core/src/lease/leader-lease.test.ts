import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '../logger.js';
import { createRedis, type Redis } from '../redis.js';
import { RedisKeys } from '../keys.js';
import { deleteKeys } from '../testing/test-environment.js';
import { LeaderLease } from './leader-lease.js';
import { Membership, readMembers } from './membership.js';

const logger = createLogger({ silent: true });

describe('LeaderLease (real Redis)', () => {
  let redis: Redis;
  const keys = new RedisKeys(`wt-lease-${process.pid}-${Date.now()}`);

  beforeAll(() => {
    redis = createRedis(process.env.WATCHED_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  });
  afterAll(async () => {
    await deleteKeys(redis, `${keys.prefix}:*`);
    await redis.quit();
  });

  const lease = (nodeId: string, ttlMs = 1000) => new LeaderLease({ redis, key: keys.leaderLease, nodeId, ttlMs, logger });

  it('lets exactly one node lead, with a growing fencing token', async () => {
    const a = lease('a');
    const b = lease('b');
    expect(await a.refresh()).toBe(true);
    expect(await b.refresh()).toBe(false);
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);
    const firstTerm = a.term;
    expect(firstTerm).toBeGreaterThan(0);

    // Renewal keeps the same term.
    expect(await a.refresh()).toBe(true);
    expect(a.term).toBe(firstTerm);

    // Graceful release: the standby takes over at once with a higher term.
    await a.release();
    expect(a.isLeader()).toBe(false);
    expect(await b.refresh()).toBe(true);
    expect(b.term).toBe(firstTerm + 1);
    await b.release();
  });

  it('hands over after the TTL when the leader dies, and the old leader cannot renew', async () => {
    const a = lease('a2', 600);
    const b = lease('b2', 600);
    expect(await a.refresh()).toBe(true);
    // a stops renewing (as if SIGKILLed); its own view expires before the key does.
    await new Promise((r) => setTimeout(r, 500));
    expect(a.isLeader()).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    expect(await b.refresh()).toBe(true);
    expect(b.term).toBeGreaterThan(a.term);
    // a wakes up late: its compare-and-renew fails and it does not lead.
    expect(await a.refresh()).toBe(false);
    expect(a.isLeader()).toBe(false);
    await b.release();
  });

  it('never gives a term below the floor kept elsewhere (Redis restarted empty)', async () => {
    await redis.del(`${keys.leaderLease}:term`);
    const c = new LeaderLease({ redis, key: keys.leaderLease, nodeId: 'c', ttlMs: 1000, logger, termFloor: async () => 41 });
    expect(await c.refresh()).toBe(true);
    expect(c.term).toBe(42);
    await c.release();
  });

  it('lists live members, forgets a stopped one at once and a dead one after three heartbeats', async () => {
    const member = (nodeId: string, role: string) =>
      new Membership({ redis, keys, role, nodeId, intervalMs: 100, logger, details: () => ({ n: 1 }) });
    const live = member('w1', 'worker');
    const stopped = member('c1', 'coordinator');
    const dead = member('w2', 'worker');
    live.start();
    stopped.start();
    await dead.beat(); // beats once, then never again (as if SIGKILLed)
    await new Promise((r) => setTimeout(r, 50));
    expect((await readMembers(redis, keys)).map((m) => m.nodeId)).toEqual(['c1', 'w1', 'w2']);
    const [info] = await readMembers(redis, keys);
    expect(info).toMatchObject({ role: 'coordinator', pid: process.pid, details: { n: 1 } });
    await stopped.stop();
    expect((await readMembers(redis, keys)).map((m) => m.nodeId)).toEqual(['w1', 'w2']);
    await new Promise((r) => setTimeout(r, 350));
    expect((await readMembers(redis, keys)).map((m) => m.nodeId)).toEqual(['w1']);
    await live.stop();
    expect(await readMembers(redis, keys)).toEqual([]);
  });
});
