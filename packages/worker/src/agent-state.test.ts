import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AgentRegistry, withTransaction, type RowDataPacket } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { advanceCursors, recordFailure, type PollRecord } from './agent-state.js';

describe('agent state: the poll cost the leader balances groups by (real MariaDB)', () => {
  let env: TestEnvironment;
  let agentId: number;
  beforeAll(async () => {
    env = await createTestEnvironment('agent_state');
    await new AgentRegistry(env.pool).add([{ host: '10.2.0.1', port: 9080, pollIntervalS: 60 }]);
    const [[row]] = await env.pool.query<RowDataPacket[]>('SELECT id FROM `c$agents`');
    agentId = Number(row.id);
  });
  afterAll(async () => env.cleanup());

  const cost = async () => {
    const [[row]] = await env.pool.query<RowDataPacket[]>('SELECT poll_ms, since FROM `agt$state` WHERE agt_id = ?', [agentId]);
    return { pollMs: Number(row.poll_ms), since: row.since === null ? null : Number(row.since) };
  };

  it('records the duration of each poll with the cursor, as a moving average, failures included', async () => {
    const record = (slot: number, tookMs: number, outcome: PollRecord['outcome'] = 'ok'): PollRecord => ({
      agentId, slot, pollTime: Date.now() - tookMs, outcome, parseErrors: 0,
    });
    await withTransaction(env.pool, (conn) => advanceCursors(conn, [{ record: record(1, 1000), since: 5 }]));
    const first = await cost();
    expect(first.since).toBe(5);
    expect(first.pollMs).toBeGreaterThanOrEqual(1000);
    expect(first.pollMs).toBeLessThan(1500);
    // A failed poll that took 30 s (a timeout) weighs in, without moving the cursor.
    await recordFailure(env.pool, record(2, 30_000, 'failed'));
    const second = await cost();
    expect(second.since).toBe(5);
    expect(second.pollMs).toBeGreaterThan(0.7 * first.pollMs + 0.3 * 30_000 - 1);
    expect(second.pollMs).toBeLessThan(0.7 * first.pollMs + 0.3 * 30_000 + 500);
  });
});
