import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseCoordinatorOptions, Coordinator } from '@watched/coordinator';
import { AgentRegistry, type RowDataPacket } from '@watched/core';
import { servedRows, storedRows, type RowSet, expectSameRows } from './fleet-expectations.js';
import { createPipeline, type PipelineHarness } from './pipeline-harness.js';

const HOSTS = 20;
const BROKEN = { http500: 3, down: 7 } as const;


describe('one poll cycle: coordinator -> BullMQ -> worker -> MySQL, against the simulated fleet', () => {
  let p: PipelineHarness;
  const healthy = Array.from({ length: HOSTS }, (_, i) => i).filter((i) => !Object.values(BROKEN).includes(i as never));

  beforeAll(async () => {
    p = await createPipeline('pipeline', { hosts: HOSTS });
    p.fleet.setFault(BROKEN.http500, { kind: 'http500' });
    p.fleet.setFault(BROKEN.down, { kind: 'down' });
  });
  afterAll(async () => p?.close());

  it('stores every row the fleet served, exactly once, through the coordinator', async () => {
    const coordinator = new Coordinator(
      p.env.roleContext('coordinator'),
      parseCoordinatorOptions({ tickInterval: '100ms', agentRefresh: '100ms', leaseTtl: '2s' }),
    );
    await coordinator.start();
    try {
      const deadline = Date.now() + 60_000;
      while (p.worker.stats.jobs < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await coordinator.close();
    }
    expect(p.worker.stats.jobs).toBe(1);
    expect(p.worker.stats.polls).toBe(HOSTS);
    expect(p.worker.stats.failedPolls).toBe(2);

    const served = servedRows(p.fleet, healthy, undefined, p.now());
    expect(served.size).toBeGreaterThan(HOSTS * 10 * 30);
    const stored = await storedRows(p.env.pool);
    expect(stored.count).toBe(served.size);
    expectSameRows(stored.rows, served);
  });

  it('records the broken hosts as failed polls with the reason, and the others as ok', async () => {
    const [history] = await p.env.pool.query<RowDataPacket[]>(
      'SELECT a.host, h.ok, h.failed FROM `agt$history` h JOIN `c$agents` a ON a.id = h.agt_id',
    );
    expect(history).toHaveLength(HOSTS);
    expect(history.filter((h) => h.ok === 1)).toHaveLength(HOSTS - 2);
    const agents = await new AgentRegistry(p.env.pool).list();
    const http500 = agents.find((a) => a.host === p.fleet.agent(BROKEN.http500).host)!;
    const down = agents.find((a) => a.host === p.fleet.agent(BROKEN.down).host)!;
    expect(http500.lastError).toMatch(/HTTP 500/);
    expect(down.lastError).toMatch(/network/);
    expect(http500.consecutiveFailures).toBe(1);
  });

  it('stores services, their process/socket state, history and log lines', async () => {
    const [[services]] = await p.env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `s$services`');
    const expectedServices = healthy.reduce((n, i) => n + Object.keys(p.fleet.model(i).all(undefined, p.now()).services ?? {}).length, 0);
    expect(services.n).toBe(expectedServices);
    const [[history]] = await p.env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `s$history`');
    expect(history.n).toBe(expectedServices);
    const expectedLogs = healthy.reduce((n, i) => n + p.fleet.model(i).rowCounts(undefined, p.now()).logs, 0);
    const [[logs]] = await p.env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `s$log_events`');
    expect(logs.n).toBe(expectedLogs);
    const [[processes]] = await p.env.pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM `s$process` WHERE status LIKE 'ok%'");
    expect(processes.n).toBeGreaterThanOrEqual(expectedServices);
  });

  it('adds nothing when the same poll runs again, even from an old cursor', async () => {
    const before = await storedRows(p.env.pool);
    await p.poll(1); // cursor honoured: nothing newer than the stored cursor
    expect((await storedRows(p.env.pool)).count).toBe(before.count);
    await p.env.pool.query('UPDATE `agt$state` SET since = NULL'); // as if the cursor were lost: a full replay
    await p.poll(2);
    const after = await storedRows(p.env.pool);
    expect(after.count).toBe(before.count);
    const [[logs]] = await p.env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `s$log_events`');
    expect(logs.n).toBe(healthy.reduce((n, i) => n + p.fleet.model(i).rowCounts(undefined, p.now()).logs, 0));
  });

  it('honours the cursor: a later poll adds exactly the newer rows, and a repaired host catches up', async () => {
    const previous = p.now();
    p.advance(45_000);
    p.fleet.setFault(BROKEN.http500, null);
    await p.poll(3);
    const stored = await storedRows(p.env.pool);
    // Healthy hosts: everything served up to the first poll plus everything newer since.
    const expected = new Map([...servedRows(p.fleet, healthy, undefined, previous), ...servedRows(p.fleet, healthy, previous, p.now())]);
    // The repaired host sends its whole buffer on its first successful poll.
    for (const [k, v] of servedRows(p.fleet, [BROKEN.http500], undefined, p.now())) expected.set(k, v);
    expect(stored.count).toBe(expected.size);
    expectSameRows(stored.rows, expected);
    const [cursors] = await p.env.pool.query<RowDataPacket[]>('SELECT since FROM `agt$state` WHERE since IS NOT NULL');
    expect(cursors).toHaveLength(HOSTS - 1);
    for (const c of cursors) expect(c.since).toBe(p.now());
  });
});
