import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { Queue, type Job } from 'bullmq';
import { AgentFleet } from '@watched/agent-sim';
import { createRedis, POLL_QUEUE, readMembers, RedisKeys, TermStore, type PollJobData, type Redis } from '@watched/core';
import { createTestEnvironment, type TestEnvironment, waitFor } from '@watched/core/testing';
import { storedRows, servedUpToCursors } from './fleet-expectations.js';
import { spawnWatched, type RoleProcess, startCursorFleet } from './processes.js';

/**
 * Redis restarted empty under running processes. Uses its own redis-server
 * on a spare port (never the shared one other tests use), killed and started
 * again on the same port with nothing on disk.
 */

const HOSTS = 8;
const PORT = 17_000 + (process.pid % 1000);
const REDIS_URL = `redis://127.0.0.1:${PORT}`;
const COORDINATOR_ARGS = ['coordinator', '--lease-ttl', '2s', '--tick-interval', '200ms', '--agent-refresh', '500ms', '--group-size', '4', '--heartbeat-interval', '500ms'];
const WORKER_ARGS = ['worker', '--lock-duration', '2s', '--stalled-interval', '1s', '--heartbeat-interval', '500ms', '--shutdown-timeout', '5s'];

function startRedis(): ChildProcess {
  return spawnChild('redis-server', ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
}

async function stopRedis(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGKILL');
  await exited;
}

describe('Redis restarted empty (own redis-server): every process reconnects and continues, terms go on from MySQL', () => {
  let env: TestEnvironment;
  let fleet: AgentFleet;
  let server: ChildProcess;
  let redis: Redis;
  let queue: Queue<PollJobData>;
  let keys: RedisKeys;
  let t0 = 0;
  const processes: RoleProcess[] = [];
  const completed = async () => (await queue.getJobs(['completed'], 0, -1)) as Array<Job<PollJobData>>;

  beforeAll(async () => {
    env = await createTestEnvironment('redis_restart');
    keys = new RedisKeys(env.prefix);
    server = startRedis();
    redis = createRedis(REDIS_URL, { blocking: true });
    await waitFor('redis-server', async () => (await redis.ping().catch(() => '')) === 'PONG', 5000);
    queue = new Queue<PollJobData>(POLL_QUEUE, { connection: redis, prefix: keys.bullPrefix });
    queue.on('error', () => undefined); // connection refused while the server is down: expected
    ({ fleet, t0 } = await startCursorFleet(env.pool, HOSTS, 5));
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL').catch(() => undefined)));
    await queue?.close().catch(() => undefined);
    redis?.disconnect();
    if (server) await stopRedis(server);
    await fleet?.close();
    await env?.cleanup();
  });

  it('continues after the restart with a higher term, and stores every served row exactly once', async () => {
    const connections = { mysqlUrl: env.mysqlUrl, redisUrl: REDIS_URL, prefix: env.prefix };
    processes.push(spawnWatched('c1', COORDINATOR_ARGS, connections));
    processes.push(spawnWatched('w1', WORKER_ARGS, connections));
    await waitFor('3 completed jobs', async () => (await completed()).length >= 3, 20_000, 100);
    const termBefore = Number((await redis.get(keys.leaderLease))!.split(':').at(-1));

    await stopRedis(server);
    await new Promise((r) => setTimeout(r, 1500));
    server = startRedis();
    await waitFor('redis-server back', async () => (await redis.ping().catch(() => '')) === 'PONG', 10_000, 100);
    const restartedAt = Date.now();

    // Empty Redis: the term counter is gone, yet the next term comes after the one MySQL recorded.
    const lease = await waitFor('a leader again', async () => (await redis.get(keys.leaderLease)) ?? undefined, 15_000, 100);
    const termAfter = Number(lease.split(':').at(-1));
    expect(termAfter).toBeGreaterThan(termBefore);
    expect(await new TermStore(env.pool, keys.leaderLease).highest()).toBe(termAfter);
    await waitFor('3 completed jobs after the restart', async () => (await completed()).length >= 3, 20_000, 100);
    console.info(`after a Redis restart: leader again in ${Date.now() - restartedAt} ms or less, term ${termBefore} -> ${termAfter}`);
    // Membership lives in Redis: both processes are registered again within a heartbeat or two.
    await waitFor(
      'both processes registered again',
      async () => {
        const roles = (await readMembers(redis, keys)).map((m) => m.role).sort();
        return roles.join(',') === 'coordinator,worker' ? roles : undefined;
      },
      5000,
      100,
    );

    for (const p of processes) expect(await p.stop('SIGTERM')).toBe(0);
    const { expected } = await servedUpToCursors(env.pool, fleet, t0);
    const stored = await storedRows(env.pool);
    expect(stored.count).toBe(expected.size);
    expect([...expected.keys()].filter((k) => !stored.rows.has(k)).slice(0, 5)).toEqual([]);
  });
});
