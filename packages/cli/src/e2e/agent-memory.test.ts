import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { AgentRegistry, createRedis, POLL_QUEUE, pollJobId, RedisKeys, type Redis, type RowDataPacket } from '@watched/core';
import { createTestEnvironment, type TestEnvironment, waitFor } from '@watched/core/testing';
import { historyOf, HostileAgent, json, swaggerOf } from './hostile-agent.js';
import { spawnWatched, type RoleProcess } from './processes.js';

const MIB = 1024 * 1024;
/** The memory the worker is given (--worker-memory): its limits derive from it, and its RSS must stay under it. */
const WORKER_MEMORY = 640 * MIB;
/** The response cap of main before issue 17 (32 MiB): every hostile answer below is under it. */
const CAP = 32 * MIB;
const RESOURCES = 150_000;
const NOW = Date.now();

/** Peak and current resident memory of a process, from /proc (bytes). */
function residentBytes(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/** An agent declaring `RESOURCES` resources, each with a row in /all: about 21 MB of discovery and 9 MB of data. */
function hugeAgent(name: string): HostileAgent {
  const paths = Object.fromEntries(Array.from({ length: RESOURCES }, (_, i) => [`/system/cpuuse/c${i}/history`, historyOf(name, 'cpu_usage')]));
  const swagger = JSON.stringify(swaggerOf(name, { paths }));
  const rows = Object.fromEntries(Array.from({ length: RESOURCES }, (_, i) => [`c${i}`, [{ timestamp: NOW - 1000, user: i, system: 1 }]]));
  const all = JSON.stringify({ timestamp: NOW, system: { cpuuse: { all: [{ timestamp: NOW - 1000, user: 1, system: 2 }], ...rows } } });
  expect(swagger.length).toBeLessThan(CAP);
  expect(all.length).toBeLessThan(CAP);
  return new HostileAgent(name, { swagger: (_q, r) => json(r, swagger), all: (_q, r) => json(r, all) });
}

/**
 * Issue 17 item 3: one agent with very many resources (well under the
 * response cap) took a worker from ~150 MB to ~930 MB RSS. A real worker
 * process polls two of them at once, beside a healthy agent: its resident
 * memory, sampled from /proc, stays under --worker-memory, the two are
 * refused with the limit they went past, the healthy one is stored.
 */
describe('a worker polling agents with huge numbers of resources stays within its memory', () => {
  let env: TestEnvironment;
  let worker: RoleProcess | undefined;
  let bullRedis: Redis;
  let queue: Queue;
  const agents = [hugeAgent('huge-1'), hugeAgent('huge-2'), new HostileAgent('healthy', { all: (_q, r) => json(r, { timestamp: NOW, system: { cpuuse: { all: [{ timestamp: NOW - 1000, user: 1, system: 2 }] } } }) })];

  beforeAll(async () => {
    env = await createTestEnvironment('agent_memory');
    const ports = [];
    for (const agent of agents) ports.push(await agent.start());
    await new AgentRegistry(env.pool).add(ports.map((port) => ({ host: '127.0.0.1', port, pollIntervalS: 3600 })));
    bullRedis = createRedis(env.redisUrl, { blocking: true });
    queue = new Queue(POLL_QUEUE, { connection: bullRedis, prefix: new RedisKeys(env.prefix).bullPrefix });
  });
  afterAll(async () => {
    await worker?.stop('SIGTERM').catch(() => undefined);
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    bullRedis?.disconnect();
    for (const agent of agents) await agent.close();
    await env?.cleanup();
  });

  it('refuses the huge agents with the limit they exceed, stores the healthy one, RSS under --worker-memory', async () => {
    worker = spawnWatched(
      'memory-worker',
      ['worker', '--worker-concurrency', '1', '--agent-concurrency', '3', '--agent-timeout', '60s', '--worker-memory', String(WORKER_MEMORY), '--agent-max-response-bytes', String(CAP)],
      { mysqlUrl: env.mysqlUrl, redisUrl: env.redisUrl, prefix: env.prefix },
    );
    const agentIds = (await new AgentRegistry(env.pool).list()).map((a) => a.id);
    await queue.add('poll', { group: 'memory', slot: NOW, agentIds, term: 1 }, { jobId: pollJobId('memory', NOW) });
    let sampledPeak = 0;
    const states = async () =>
      (await env.pool.query<RowDataPacket[]>('SELECT s.agt_id, s.consecutive_failures AS failures, s.last_error FROM `agt$state` s ORDER BY s.agt_id'))[0];
    try {
      await waitFor(
        'the three agents polled',
        async () => {
          if (!worker!.running) throw new Error('the worker exited');
          sampledPeak = Math.max(sampledPeak, residentBytes(worker!.pid).rss);
          return (await states()).length === 3;
        },
        120_000,
        50,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${worker.tail()}`);
    }
    const { peak } = residentBytes(worker.pid);
    if (process.env.WATCHED_TEST_MEMORY_REPORT) console.log(`worker peak RSS ${Math.round(Math.max(peak, sampledPeak) / MIB)} MiB`);
    // VmHWM: the kernel's high-water mark, nothing between two samples escapes it.
    expect({ peakMiB: Math.round(Math.max(peak, sampledPeak) / MIB) }).toEqual({ peakMiB: expect.any(Number) });
    expect(Math.max(peak, sampledPeak)).toBeLessThan(WORKER_MEMORY);

    const [huge1, huge2, healthy] = await states();
    for (const refused of [huge1, huge2]) {
      expect(refused.failures).toBe(1);
      expect(refused.last_error).toMatch(/more than \d+ resources \(limit --agent-max-resources\)|would take about [\d.]+ MiB to parse/);
    }
    expect(healthy).toMatchObject({ failures: 0 });
    const [[stored]] = await env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `d$cpu_usage` d JOIN `h$hosts` h ON h.id = d.host_id WHERE h.name = ?', ['healthy']);
    expect(Number(stored.n)).toBe(1);
    const [[resources]] = await env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `c$ressources`');
    expect(Number(resources.n)).toBe(1);
  }, 180_000);
});
