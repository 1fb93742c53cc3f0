import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AgentRegistry } from '../agent-registry.js';
import { withTransaction } from '../mysql.js';
import { createTestEnvironment, type TestEnvironment } from '../testing/index.js';
import { AgentStateTable } from './agent-state-table.js';

describe('agent state: the poll cost the leader balances groups by (real MariaDB)', () => {
  let env: TestEnvironment;
  let agentId: number;
  let table: AgentStateTable;
  beforeAll(async () => {
    env = await createTestEnvironment('agent_state');
    await new AgentRegistry(env.pool).add([{ host: '10.2.0.1', port: 9080, pollIntervalS: 60 }]);
    agentId = (await new AgentRegistry(env.pool).list())[0].id;
    table = new AgentStateTable(env.pool);
  });
  afterAll(async () => env.cleanup());

  const cost = async () => {
    const state = (await table.read([agentId])).get(agentId)!;
    return { pollMs: state.pollMs!, since: state.since };
  };

  it('records the duration of each poll with the cursor, as a moving average, failures included', async () => {
    const poll = (tookMs: number) => ({ agentId, pollTime: Date.now() - tookMs, durationMs: tookMs });
    await withTransaction(env.pool, (conn) => new AgentStateTable(conn).recordSuccesses([{ ...poll(1000), since: 5 }]));
    const first = await cost();
    expect(first.since).toBe(5);
    expect(first.pollMs).toBeGreaterThanOrEqual(1000);
    expect(first.pollMs).toBeLessThan(1500);
    // A failed poll that took 30 s (a timeout) weighs in, without moving the cursor.
    await table.recordFailures([{ ...poll(30_000), error: 'timed out' }]);
    const second = await cost();
    expect(second.since).toBe(5);
    expect(second.pollMs).toBeGreaterThan(0.7 * first.pollMs + 0.3 * 30_000 - 1);
    expect(second.pollMs).toBeLessThan(0.7 * first.pollMs + 0.3 * 30_000 + 500);
  });

  it('counts a run of failures from its first, and a good poll ends it', async () => {
    const [state] = (await table.read([agentId])).values();
    expect(state).toMatchObject({ consecutiveFailures: 1, lastError: 'timed out' });
    const firstFailure = state.failingSince;
    await table.recordFailures([{ agentId, pollTime: Date.now(), durationMs: 10 }]);
    expect((await table.read([agentId])).get(agentId)).toMatchObject({ consecutiveFailures: 2, failingSince: firstFailure });
    const pollTime = Date.now();
    await table.recordSuccesses([{ agentId, pollTime, since: 6, durationMs: 10 }]);
    expect((await table.read([agentId])).get(agentId)).toMatchObject({
      since: 6,
      lastOk: pollTime,
      lastPoll: pollTime,
      consecutiveFailures: 0,
      failingSince: null,
      lastError: null,
    });
    expect(await table.pollCosts(-1, 10)).toEqual([[agentId, (await table.read([agentId])).get(agentId)!.pollMs]]);
  });
});
