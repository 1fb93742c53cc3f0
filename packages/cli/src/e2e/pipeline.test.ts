import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue, QueueEvents } from 'bullmq';
import { AgentFleet } from '@watched/agent-sim';
import { compileCoordinatorOptions, Coordinator } from '@watched/coordinator';
import { AgentRegistry, createRedis, POLL_QUEUE, RedisKeys, type PollJobData, type Redis, type RowDataPacket } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { compileWorkerOptions, PollWorker } from '@watched/worker';
import { servedRows, storedRows, type RowSet } from './fleet-expectations.js';

const HOSTS = 20;
const BROKEN = { http500: 3, down: 7 } as const;

function expectSameRows(stored: RowSet, served: RowSet): void {
  const missing = [...served.keys()].filter((k) => !stored.has(k));
  const extra = [...stored.keys()].filter((k) => !served.has(k));
  expect(missing.slice(0, 5)).toEqual([]);
  expect(extra.slice(0, 5)).toEqual([]);
  let different = 0;
  for (const [key, values] of served) {
    if (JSON.stringify(stored.get(key)) !== JSON.stringify(values)) {
      if (different++ < 3) expect({ key, stored: stored.get(key) }).toEqual({ key, stored: values });
    }
  }
  expect(different).toBe(0);
}

describe('one poll cycle: coordinator -> BullMQ -> worker -> MySQL, against the simulated fleet', () => {
  let env: TestEnvironment;
  let fleet: AgentFleet;
  let worker: PollWorker;
  let queue: Queue<PollJobData>;
  let events: QueueEvents;
  let bullRedis: Redis;
  let eventsRedis: Redis;
  let clock = Date.UTC(2026, 10, 29, 12, 0, 0) + 0.3435;
  const healthy = Array.from({ length: HOSTS }, (_, i) => i).filter((i) => !Object.values(BROKEN).includes(i as never));

  /** Runs one poll job of every agent for `slot` and waits for it. */
  async function pollAll(slot: number): Promise<void> {
    const agentIds = (await new AgentRegistry(env.pool).list()).map((a) => a.id);
    const job = await queue.add('poll', { group: 'test', slot, agentIds, term: 1 }, { jobId: `poll-test-${slot}` });
    await job.waitUntilFinished(events, 60_000);
  }

  beforeAll(async () => {
    env = await createTestEnvironment('pipeline');
    fleet = new AgentFleet({ hosts: HOSTS, port: 0, seed: 7, bufferMs: 3 * 60_000, now: () => clock });
    await fleet.start();
    fleet.setFault(BROKEN.http500, { kind: 'http500' });
    fleet.setFault(BROKEN.down, { kind: 'down' });
    await new AgentRegistry(env.pool).add(fleet.agents().map((a) => ({ host: a.host, port: a.port, frequency: 3600 })));

    const connections = { mysqlUrl: env.mysqlUrl, redisUrl: env.redisUrl, prefix: env.prefix };
    worker = new PollWorker(connections, compileWorkerOptions({ agentTimeout: '5s' }), env.logger);
    await worker.start();
    bullRedis = createRedis(env.redisUrl, { blocking: true });
    const prefix = new RedisKeys(env.prefix).bullPrefix;
    queue = new Queue<PollJobData>(POLL_QUEUE, { connection: bullRedis, prefix });
    eventsRedis = bullRedis.duplicate();
    events = new QueueEvents(POLL_QUEUE, { connection: eventsRedis, prefix });
    await events.waitUntilReady();
  });

  afterAll(async () => {
    await worker?.close();
    await events?.close();
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await bullRedis?.quit();
    await eventsRedis?.quit();
    await fleet?.close();
    await env?.cleanup();
  });

  it('stores every row the fleet served, exactly once, through the coordinator', async () => {
    const coordinator = new Coordinator(
      { mysqlUrl: env.mysqlUrl, redisUrl: env.redisUrl, prefix: env.prefix },
      compileCoordinatorOptions({ tickInterval: '100ms', agentRefresh: '100ms', leaseTtl: '2s' }),
      env.logger,
    );
    await coordinator.start();
    try {
      const deadline = Date.now() + 60_000;
      while (worker.stats.jobs < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await coordinator.close();
    }
    expect(worker.stats.jobs).toBe(1);
    expect(worker.stats.polls).toBe(HOSTS);
    expect(worker.stats.failedPolls).toBe(2);

    const served = servedRows(fleet, healthy, undefined, clock);
    expect(served.size).toBeGreaterThan(HOSTS * 10 * 30);
    const stored = await storedRows(env.pool);
    expect(stored.count).toBe(served.size);
    expectSameRows(stored.rows, served);
  });

  it('records the broken hosts as failed polls with the reason, and the others as ok', async () => {
    const [history] = await env.pool.query<RowDataPacket[]>(
      'SELECT a.host, h.ok, h.failed FROM `agt$history` h JOIN `c$agents` a ON a.id = h.agt_id',
    );
    expect(history).toHaveLength(HOSTS);
    expect(history.filter((h) => h.ok === 1)).toHaveLength(HOSTS - 2);
    const agents = await new AgentRegistry(env.pool).list();
    const http500 = agents.find((a) => a.host === fleet.agent(BROKEN.http500).host)!;
    const down = agents.find((a) => a.host === fleet.agent(BROKEN.down).host)!;
    expect(http500.lastError).toMatch(/HTTP 500/);
    expect(down.lastError).toMatch(/network/);
    expect(http500.consecutiveFailures).toBe(1);
  });

  it('stores services, their process/socket state, history and log lines', async () => {
    const [[services]] = await env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `s$services`');
    const expectedServices = healthy.reduce((n, i) => n + Object.keys(fleet.model(i).all(undefined, clock).services ?? {}).length, 0);
    expect(services.n).toBe(expectedServices);
    const [[history]] = await env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `s$history`');
    expect(history.n).toBe(expectedServices);
    const expectedLogs = healthy.reduce((n, i) => n + fleet.model(i).rowCounts(undefined, clock).logs, 0);
    const [[logs]] = await env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `s$log_events`');
    expect(logs.n).toBe(expectedLogs);
    const [[processes]] = await env.pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM `s$process` WHERE status LIKE 'ok%'");
    expect(processes.n).toBeGreaterThanOrEqual(expectedServices);
  });

  it('adds nothing when the same poll runs again, even from an old cursor', async () => {
    const before = await storedRows(env.pool);
    await pollAll(1); // cursor honoured: nothing newer than the stored cursor
    expect((await storedRows(env.pool)).count).toBe(before.count);
    await env.pool.query('UPDATE `agt$state` SET since = NULL'); // as if the cursor were lost: a full replay
    await pollAll(2);
    const after = await storedRows(env.pool);
    expect(after.count).toBe(before.count);
    const [[logs]] = await env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `s$log_events`');
    expect(logs.n).toBe(healthy.reduce((n, i) => n + fleet.model(i).rowCounts(undefined, clock).logs, 0));
  });

  it('honours the cursor: a later poll adds exactly the newer rows, and a repaired host catches up', async () => {
    const previous = clock;
    clock += 45_000;
    fleet.setFault(BROKEN.http500, null);
    await pollAll(3);
    const stored = await storedRows(env.pool);
    // Healthy hosts: everything served up to the first poll plus everything newer since.
    const expected = new Map([...servedRows(fleet, healthy, undefined, previous), ...servedRows(fleet, healthy, previous, clock)]);
    // The repaired host sends its whole buffer on its first successful poll.
    for (const [k, v] of servedRows(fleet, [BROKEN.http500], undefined, clock)) expected.set(k, v);
    expect(stored.count).toBe(expected.size);
    expectSameRows(stored.rows, expected);
    const [cursors] = await env.pool.query<RowDataPacket[]>('SELECT since FROM `agt$state` WHERE since IS NOT NULL');
    expect(cursors).toHaveLength(HOSTS - 1);
    for (const c of cursors) expect(c.since).toBe(clock);
  });
});
