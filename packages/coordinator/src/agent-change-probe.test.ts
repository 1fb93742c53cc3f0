import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AgentRegistry } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { AgentChangeProbe } from './agent-change-probe.js';

/**
 * The leader sees what the web front writes straight into `c$agents` (no
 * notification) at its next refresh, and re-plans only then.
 */
describe('AgentChangeProbe (real MySQL)', () => {
  let env: TestEnvironment;
  let directory: AgentChangeProbe;
  const ids = async (): Promise<number[]> => ((await directory.changes()) ?? []).map((a) => a.id);

  beforeAll(async () => {
    env = await createTestEnvironment('agent-change-probe');
    // Ids spread over several probe chunks (4,096 ids each).
    await new AgentRegistry(env.pool).add(Array.from({ length: 20 }, (_, i) => ({ host: `10.1.0.${i + 1}`, pollIntervalS: 60 })));
    await env.pool.query('UPDATE `c$agents` SET id = id + 5000 WHERE id > 10 ORDER BY id DESC');
    directory = new AgentChangeProbe(env.pool);
  });

  afterAll(async () => {
    await env?.cleanup();
  });

  it('returns every agent, ordered by id, then nothing while c$agents is unchanged', async () => {
    const first = await directory.changes();
    expect(first).toHaveLength(20);
    expect(first!.map((a) => a.id)).toEqual([...Array.from({ length: 10 }, (_, i) => i + 1), ...Array.from({ length: 10 }, (_, i) => i + 5011)]);
    expect(first!.every((a) => a.pollIntervalMs === 60_000)).toBe(true);
    expect(await directory.changes()).toBeUndefined();
  });

  it('sees an agent the front inserts, one it deletes, and one whose frequency it changes', async () => {
    await env.pool.query("INSERT INTO `c$agents` (id, host, port, pool_freq) VALUES (9000, '10.1.1.1', 9080, 120)");
    expect(await ids()).toContain(9000);
    expect(await directory.changes()).toBeUndefined();

    await env.pool.query('DELETE FROM `c$agents` WHERE id = 3');
    expect(await ids()).not.toContain(3);

    await env.pool.query('UPDATE `c$agents` SET pool_freq = 30 WHERE id = 5011');
    const changed = await directory.changes();
    expect(changed?.find((a) => a.id === 5011)?.pollIntervalMs).toBe(30_000);
    expect(changed).toHaveLength(20);
  });

  it('sees a removed agent replaced by another in the same chunk (same count), and a whole chunk emptied', async () => {
    await env.pool.query('DELETE FROM `c$agents` WHERE id = 4');
    await env.pool.query("INSERT INTO `c$agents` (id, host, port, pool_freq) VALUES (4000, '10.1.1.2', 9080, 60)");
    const swapped = await ids();
    expect(swapped).toContain(4000);
    expect(swapped).not.toContain(4);

    await env.pool.query('DELETE FROM `c$agents` WHERE id >= 5000 AND id < 8192');
    const emptied = await ids();
    expect(emptied.filter((id) => id >= 5000 && id < 8192)).toEqual([]);
    expect(emptied).toHaveLength(10);
  });

  it('a NULL frequency is upstream default (300 s); invalidate() returns the agents again though unchanged', async () => {
    await env.pool.query('UPDATE `c$agents` SET pool_freq = NULL WHERE id = 1');
    expect((await directory.changes())?.find((a) => a.id === 1)?.pollIntervalMs).toBe(300_000);
    expect(await directory.changes()).toBeUndefined();
    directory.invalidate();
    expect(await directory.changes()).toHaveLength(10);
  });

  it('re-reads one changed chunk among many (a range read), up to the largest id INT UNSIGNED allows', async () => {
    const far = [20_000, 40_000, 60_000, 80_000, 100_000, 120_000];
    await env.pool.query('INSERT INTO `c$agents` (id, host, port, pool_freq) VALUES ?', [far.map((id) => [id, `10.2.0.${id / 20_000}`, 9080, 60])]);
    expect(await ids()).toEqual(expect.arrayContaining(far));
    await env.pool.query("INSERT INTO `c$agents` (id, host, port, pool_freq) VALUES (4294967295, '10.1.1.3', 9080, 60)");
    await env.pool.query('UPDATE `c$agents` SET pool_freq = 90 WHERE id = 60000');
    const changed = await directory.changes();
    expect(changed).toHaveLength(17);
    expect(changed!.at(-1)!.id).toBe(4294967295);
    expect(changed!.find((a) => a.id === 60_000)?.pollIntervalMs).toBe(90_000);
  });

  it('seeded from an assignment (a new leader adopting its predecessor\'s schedule), reads only what differs from it', async () => {
    // A NULL frequency is planned as 300 s but checksummed as NULL: its chunk would be re-read once (test above).
    await env.pool.query('UPDATE `c$agents` SET pool_freq = 300 WHERE pool_freq IS NULL');
    const agents = (await new AgentChangeProbe(env.pool).changes())!;
    const byFrequency = new Map<number, number[]>();
    for (const a of agents) byFrequency.set(a.pollIntervalMs, [...(byFrequency.get(a.pollIntervalMs) ?? []), a.id]);
    const assignment = [...byFrequency].map(([pollIntervalMs, agentIds]) => ({ pollIntervalMs, agentIds: [...agentIds].reverse() }));

    const same = new AgentChangeProbe(env.pool);
    same.seed(assignment);
    expect(same.rebuilding).toBe(true);
    expect(await same.changes()).toBeUndefined(); // the seed itself: no read
    expect([same.step, same.rebuilding]).toEqual(['seed', false]);
    expect(await same.changes()).toBeUndefined(); // the probe agrees with the assignment
    expect(same.step).toBe('probe');

    // The predecessor had not planned the last agent yet, and planned another at a frequency the table no longer has.
    const last = agents.at(-1)!;
    const retimed = agents[0];
    const stale = assignment.map((g) => ({ ...g, agentIds: g.agentIds.filter((id) => id !== last.id && id !== retimed.id) }));
    stale.push({ pollIntervalMs: retimed.pollIntervalMs + 1000, agentIds: [retimed.id] });
    const behind = new AgentChangeProbe(env.pool);
    behind.seed(stale);
    expect(await behind.changes()).toBeUndefined();
    const seen = await behind.changes();
    expect(behind.step).toBe('probe, re-read');
    expect(seen).toEqual(agents);
  });
});
