import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AgentRegistry, type RowDataPacket } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import type { PreparedPoll } from './agent-poller.js';
import { LoggingEventSink } from './events/logging-event-sink.js';
import { ThresholdRules } from './events/threshold-rules.js';
import { PollStore } from './poll-store.js';
import type { BatchInsert } from './sql-batch.js';

describe('PollStore: several agents in one transaction (real MariaDB)', () => {
  let env: TestEnvironment;
  let store: PollStore;
  let ids: number[];
  beforeAll(async () => {
    env = await createTestEnvironment('poll_store');
    await new AgentRegistry(env.pool).add([1, 2, 3, 4].map((i) => ({ host: `10.9.0.${i}`, pollIntervalS: 60 })));
    ids = (await new AgentRegistry(env.pool).list()).map((a) => a.id);
    store = new PollStore({
      pool: env.pool,
      logger: env.logger,
      // 4 rows per statement: the 7 rows of one table of the first batch go as 4 + 3.
      insertBatchRows: 4,
      rules: new ThresholdRules(env.pool, 60_000),
      events: new LoggingEventSink(env.logger),
      missingAfterMs: 900_000,
    });
  });
  afterAll(async () => env.cleanup());

  const poll = (agentId: number, cursor: number, inserts: BatchInsert[]): PreparedPoll => ({
    record: { agentId, slot: 1000, pollTime: Date.now(), outcome: 'ok', parseErrors: 0 },
    failing: false,
    cursor,
    series: [],
    services: [],
    hostIds: [],
    inserts,
    rows: inserts.reduce((n, i) => n + i.rows.length, 0),
  });
  const types = (...names: string[]): BatchInsert => ({ table: 's$types', columns: ['name'], rows: names.map((n) => [n]), mode: 'ignore' });
  const cursors = async () => {
    const [rows] = await env.pool.query<RowDataPacket[]>('SELECT agt_id, since FROM `agt$state` ORDER BY agt_id');
    return Object.fromEntries(rows.map((r) => [r.agt_id, r.since]));
  };
  const typeNames = async () => {
    const [rows] = await env.pool.query<RowDataPacket[]>("SELECT name FROM `s$types` WHERE name LIKE 'store-%' ORDER BY name");
    return rows.map((r) => r.name);
  };

  it('writes every agent’s rows and cursor together, the rows of one table in shared statements', async () => {
    const outcomes = await store.store([
      poll(ids[0], 111, [types('store-a1', 'store-a2', 'store-a3', 'store-a4')]),
      poll(ids[1], 222, [types('store-b1', 'store-b2', 'store-b3')]),
    ]);
    expect(outcomes.map((o) => [o.agentId, o.ok, o.rows])).toEqual([
      [ids[0], true, 4],
      [ids[1], true, 3],
    ]);
    expect(await cursors()).toEqual({ [ids[0]]: 111, [ids[1]]: 222 });
    expect(await typeNames()).toEqual(['store-a1', 'store-a2', 'store-a3', 'store-a4', 'store-b1', 'store-b2', 'store-b3']);
  });

  it('isolates an agent whose rows MySQL refuses: the others are stored, the job still fails (retry)', async () => {
    const refused: BatchInsert = { table: 's$types', columns: ['no_such_column'], rows: [['x']], mode: 'ignore' };
    const batch = [poll(ids[2], 333, [types('store-c1')]), poll(ids[3], 444, [refused, types('store-d1')])];
    await expect(store.store(batch)).rejects.toThrow(/no_such_column/);
    // Agent 3 committed alone (rows and cursor); agent 4 nothing, not even its valid rows: its cursor did not move.
    expect(await cursors()).toEqual({ [ids[0]]: 111, [ids[1]]: 222, [ids[2]]: 333 });
    expect(await typeNames()).toEqual(['store-a1', 'store-a2', 'store-a3', 'store-a4', 'store-b1', 'store-b2', 'store-b3', 'store-c1']);
  });
});
