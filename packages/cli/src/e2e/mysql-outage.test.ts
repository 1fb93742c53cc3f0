import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue, type Job } from 'bullmq';
import { AgentFleet } from '@watched/agent-sim';
import { createRedis, POLL_QUEUE, RedisKeys, type PollJobData, type Redis } from '@watched/core';
import { createTestEnvironment, type TestEnvironment, waitFor } from '@watched/core/testing';
import { storedRows, servedUpToCursors } from './fleet-expectations.js';
import { spawnWatched, type RoleProcess, startCursorFleet, waitForEmptyQueue } from './processes.js';
import { TcpProxy } from './tcp-proxy.js';

/**
 * MySQL unreachable for a while under running processes: they reach MySQL
 * through a proxy the test cuts (the shared server keeps running for other
 * tests). Jobs fail and retry with backoff meanwhile; afterwards polling
 * resumes from the stored cursors and nothing is lost or doubled.
 */

const HOSTS = 8;
const OUTAGE_MS = Number(process.env.WATCHED_TEST_MYSQL_OUTAGE_MS ?? 30_000);
const COORDINATOR_ARGS = ['coordinator', '--lease-ttl', '2s', '--tick-interval', '200ms', '--agent-refresh', '500ms', '--group-size', '4', '--heartbeat-interval', '500ms', '--job-attempts', '10'];
const WORKER_ARGS = ['worker', '--lock-duration', '2s', '--stalled-interval', '1s', '--heartbeat-interval', '500ms', '--shutdown-timeout', '5s'];

describe(`MySQL unreachable for ${OUTAGE_MS / 1000} s (through a cut proxy)`, () => {
  let env: TestEnvironment;
  let fleet: AgentFleet;
  let proxy: TcpProxy;
  let redis: Redis;
  let queue: Queue<PollJobData>;
  let t0 = 0;
  const processes: RoleProcess[] = [];
  const jobs = async (types: Array<'completed' | 'failed' | 'delayed'>) => (await queue.getJobs(types, 0, -1)) as Array<Job<PollJobData>>;

  beforeAll(async () => {
    env = await createTestEnvironment('mysql_outage');
    const target = new URL(env.mysqlUrl);
    proxy = new TcpProxy(target.hostname, Number(target.port || 3306));
    await proxy.start();
    redis = createRedis(env.redisUrl, { blocking: true });
    queue = new Queue<PollJobData>(POLL_QUEUE, { connection: redis, prefix: new RedisKeys(env.prefix).bullPrefix });
    ({ fleet, t0 } = await startCursorFleet(env.pool, HOSTS, 9));
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL').catch(() => undefined)));
    await proxy?.close();
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await redis?.quit();
    await fleet?.close();
    await env?.cleanup();
  });

  it('retries the jobs with backoff during the outage, then stores every served row exactly once', async () => {
    const target = new URL(env.mysqlUrl);
    target.port = String(proxy.port);
    const connections = { mysqlUrl: target.toString(), redisUrl: env.redisUrl, prefix: env.prefix };
    const coordinator = spawnWatched('c1', COORDINATOR_ARGS, connections);
    const worker = spawnWatched('w1', WORKER_ARGS, connections);
    processes.push(coordinator, worker);
    await waitFor('3 completed jobs', async () => (await jobs(['completed'])).length >= 3, 20_000, 100);

    await proxy.cut();
    const cutAt = Date.now();
    // Jobs fail on MySQL and wait for their retry (delayed); the leader keeps scheduling the agents it knows.
    await waitFor('a job retrying with backoff', async () => (await jobs(['delayed'])).some((j) => j.attemptsMade > 0), 15_000, 200);
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - cutAt))));
    const completedBefore = (await jobs(['completed'])).length;
    await proxy.restore();
    console.info(`MySQL back after ${Date.now() - cutAt} ms`);

    await waitFor('2 more completed jobs', async () => (await jobs(['completed'])).length >= completedBefore + 2, 40_000, 200);
    const retried = (await jobs(['completed'])).filter((j) => j.attemptsMade > 1);
    expect(retried.length).toBeGreaterThan(0);
    expect(coordinator.running).toBe(true);
    expect(worker.running).toBe(true);

    expect(await coordinator.stop('SIGTERM')).toBe(0);
    await waitForEmptyQueue(queue, 40_000, 200);
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(await jobs(['failed'])).toEqual([]);

    const { expected, cursors } = await servedUpToCursors(env.pool, fleet, t0);
    for (const { since } of cursors) expect(Number(since)).toBeGreaterThan(cutAt - 5000);
    const stored = await storedRows(env.pool);
    expect(stored.count).toBe(expected.size);
    expect([...expected.keys()].filter((k) => !stored.rows.has(k)).slice(0, 5)).toEqual([]);
  });
});
