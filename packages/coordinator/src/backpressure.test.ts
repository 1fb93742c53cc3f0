import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { createRedis, pollJobId, POLL_QUEUE, RedisKeys, type PollJobData, type Redis } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { Backpressure } from './backpressure.js';
import type { PollGroup } from './group-planner.js';
import type { GroupSchedule } from './schedule-hash.js';

describe('Backpressure (real Redis, BullMQ)', () => {
  let env: TestEnvironment;
  let bull: Redis;
  let queue: Queue<PollJobData>;
  const T = Date.UTC(2026, 0, 1);
  const group = (id: string): PollGroup => ({ id, pollIntervalMs: 60_000, offsetMs: 0, agentIds: [1], costMs: 0 });
  const enqueued = (slot: number | null): GroupSchedule => ({
    frequencyMs: 60_000, offsetMs: 0, agents: 1, agentIds: [1], slot: slot ?? T - 60_000, enqueuedSlot: slot, skipped: 0, skippedSlot: null, term: 1,
  });

  beforeAll(async () => {
    env = await createTestEnvironment('backpressure', { migrate: false });
    bull = createRedis(env.redisUrl, { blocking: true });
    queue = new Queue<PollJobData>(POLL_QUEUE, { connection: bull, prefix: new RedisKeys(env.prefix).bullPrefix });
  });
  afterAll(async () => {
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await bull?.quit();
    await env?.cleanup();
  });

  it('skips (and counts) a group whose previous job is still waiting; lets through one whose job is gone or that never had one', async () => {
    const busy = group('f60000-g0');
    const done = group('f60000-g1');
    const fresh = group('f60000-g2');
    await queue.add('poll', { group: busy.id, slot: T - 60_000, agentIds: [1], term: 1 }, { jobId: pollJobId(busy.id, T - 60_000) });
    const due = [
      { group: busy, slot: T, previous: enqueued(T - 60_000) },
      { group: done, slot: T, previous: enqueued(T - 60_000) }, // its job was removed: state unknown
      { group: fresh, slot: T, previous: enqueued(null) },
      { group: group('f60000-g3'), slot: T },
    ];
    const { ready, skipped, entries } = await new Backpressure(queue, env.logger).check(due, 2);
    expect(skipped).toBe(1);
    expect(ready.map((d) => d.group.id)).toEqual(['f60000-g1', 'f60000-g2', 'f60000-g3']);
    expect([...entries.keys()]).toEqual(due.map((d) => d.group.id));
    expect(entries.get(busy.id)).toMatchObject({ slot: T, enqueuedSlot: T - 60_000, skipped: 1, skippedSlot: T, term: 2 });
    expect(entries.get(done.id)).toMatchObject({ slot: T, enqueuedSlot: T, skipped: 0, term: 2 });
  });
});
