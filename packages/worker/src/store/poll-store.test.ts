import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AgentRegistry, type RowDataPacket } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import type { EventSink, MonitoringEvent } from '@watched/core';
import type { AgentPollOutcome, FailedPoll, PreparedPoll } from '../poll-result.js';
import type { BatchInsert } from '../sql-batch.js';
import { RowWriter } from '../row-writer.js';
import { PollStore } from './poll-store.js';
import { ThresholdRules } from './threshold-rules.js';

/** Collects what would go to the alerts queue. */
class MemorySink implements EventSink {
  readonly published: MonitoringEvent[] = [];
  async publish(events: MonitoringEvent[]): Promise<void> {
    this.published.push(...events);
  }
}

describe.each(['load-data', 'insert'] as const)('PollStore (%s): several agents in one transaction (real MariaDB)', (method) => {
  let env: TestEnvironment;
  let store: PollStore;
  let sink: MemorySink;
  let ids: number[];
  beforeAll(async () => {
    env = await createTestEnvironment(`poll_store_${method.replace('-', '_')}`);
    await new AgentRegistry(env.pool).add([1, 2, 3, 4, 5, 6, 7].map((i) => ({ host: `10.9.0.${i}`, pollIntervalS: 60 })));
    ids = (await new AgentRegistry(env.pool).list()).map((a) => a.id);
    sink = new MemorySink();
    store = new PollStore({
      pool: env.pool,
      logger: env.logger,
      // 4 rows per INSERT statement: the 7 rows of one table of the first batch go as 4 + 3.
      writer: new RowWriter({ method, insertBatchRows: 4, logger: env.logger }),
      rules: new ThresholdRules(env.pool, 60_000),
      events: sink,
      missingAfterMs: 900_000,
      // The second failure in a row opens an agent-failed event.
      agentFailureThreshold: 2,
    });
  });
  afterAll(async () => env.cleanup());

  const poll = (agentId: number, cursor: number, inserts: BatchInsert[], slot = 1000): PreparedPoll => ({
    kind: 'prepared',
    record: { agentId, slot, pollTime: Date.now(), outcome: 'ok', parseErrors: 0 },
    answeredMs: 5,
    failing: false,
    cursor,
    series: [],
    presence: { hostIds: [], services: [] },
    services: [],
    inserts,
    rows: inserts.reduce((n, i) => n + i.rows.length, 0),
  });
  const failure = (agentId: number, slot: number, error: string): FailedPoll => ({
    kind: 'failed',
    record: { agentId, slot, pollTime: Date.now(), outcome: 'failed', parseErrors: 0, error },
    reason: 'refused',
    durationMs: 30_000,
  });
  const types = (...names: string[]): BatchInsert => ({ table: 's$types', columns: ['name'], rows: names.map((n) => [n]), mode: 'ignore' });
  const cursors = async () => {
    const [rows] = await env.pool.query<RowDataPacket[]>('SELECT agt_id, since FROM `agt$state` ORDER BY agt_id');
    return Object.fromEntries(rows.map((r) => [r.agt_id, r.since]));
  };
  const typeNames = async (prefix = 'store-') => {
    const [rows] = await env.pool.query<RowDataPacket[]>('SELECT name FROM `s$types` WHERE name LIKE ? ORDER BY name', [`${prefix}%`]);
    return rows.map((r) => r.name);
  };
  const failures = async (agentId: number) => {
    const [[state]] = await env.pool.query<RowDataPacket[]>(
      'SELECT since, consecutive_failures, failing_since, last_error, poll_ms FROM `agt$state` WHERE agt_id = ?',
      [agentId],
    );
    const [history] = await env.pool.query<RowDataPacket[]>(
      'SELECT `timestamp`, failed, ok FROM `agt$history` WHERE agt_id = ? ORDER BY `timestamp`',
      [agentId],
    );
    const [events] = await env.pool.query<RowDataPacket[]>('SELECT id, start_time, end_time, failures, reason FROM `agt$events` WHERE agt_id = ?', [
      agentId,
    ]);
    return { state, history: history.map((h) => [h.timestamp, h.failed, h.ok]), events };
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

  it('isolates an agent whose rows MySQL refuses: the others are stored, that agent fails with the reason, not the job', async () => {
    const refused: BatchInsert = { table: 's$types', columns: ['no_such_column'], rows: [['x']], mode: 'ignore' };
    const batch = [poll(ids[2], 333, [types('store-c1')]), poll(ids[3], 444, [refused, types('store-d1')])];
    const outcomes = await store.store(batch);
    expect(outcomes.map((o) => [o.agentId, o.ok])).toEqual([[ids[2], true], [ids[3], false]]);
    expect(outcomes[1].error).toMatch(/its data could not be stored: .*no_such_column/);
    expect((await failures(ids[3])).state).toMatchObject({ consecutive_failures: 1, last_error: expect.stringMatching(/no_such_column/) });
    // Agent 3 committed alone (rows and cursor); agent 4 only its failure, not even its valid rows: it has no cursor.
    expect(await cursors()).toEqual({ [ids[0]]: 111, [ids[1]]: 222, [ids[2]]: 333, [ids[3]]: null });
    expect(await typeNames()).toEqual(['store-a1', 'store-a2', 'store-a3', 'store-a4', 'store-b1', 'store-b2', 'store-b3', 'store-c1']);
  });

  it('writes a mixed batch in one commit: the failed agent’s state, history and event with the others’ rows and cursors', async () => {
    const [ok, down] = [ids[4], ids[5]];
    // Hold the failed agent's registration: recording its state (a foreign key to it) waits, mid-transaction.
    const blocker = await env.pool.getConnection();
    const dirty = await env.pool.getConnection();
    let storing: Promise<AgentPollOutcome[]> | undefined;
    try {
      await blocker.beginTransaction();
      await blocker.query('SELECT id FROM `c$agents` WHERE id = ? FOR UPDATE', [down]);
      storing = store.store([poll(ok, 555, [types('mixed-1')], 2000), failure(down, 2000, 'connect ECONNREFUSED')]);
      await dirty.query('SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED');
      const uncommitted = async () => {
        const [rows] = await dirty.query<RowDataPacket[]>("SELECT name FROM `s$types` WHERE name = 'mixed-1'");
        return rows.length;
      };
      for (let i = 0; i < 200 && (await uncommitted()) === 0; i += 1) await new Promise((r) => setTimeout(r, 25));
      // The successful agent's rows and cursor are written but not committed while the failure waits: one transaction.
      expect(await uncommitted()).toBe(1);
      expect(await typeNames('mixed-')).toEqual([]);
      expect((await cursors())[ok]).toBeUndefined();
      expect((await cursors())[down]).toBeUndefined();
    } finally {
      await blocker.rollback();
      blocker.release();
      dirty.release();
    }
    const first = await storing;
    expect(first).toEqual([
      { agentId: ok, ok: true, rows: 1, parseErrors: 0 },
      { agentId: down, ok: false, rows: 0, parseErrors: 0, error: 'connect ECONNREFUSED' },
    ]);
    expect((await cursors())[ok]).toBe(555);
    expect(await typeNames('mixed-')).toEqual(['mixed-1']);
    const once = await failures(down);
    expect(once.state).toMatchObject({ since: null, consecutive_failures: 1, last_error: 'connect ECONNREFUSED', poll_ms: 30_000 });
    expect(once.history).toEqual([[2000, 1, 0]]);
    expect(once.events).toEqual([]);

    // The second failure in a row reaches the threshold: its event opens in the same commit, dated from the first failure.
    sink.published.length = 0;
    await store.store([poll(ok, 666, [types('mixed-2')], 3000), failure(down, 3000, 'timed out')]);
    const twice = await failures(down);
    expect(twice.state).toMatchObject({ consecutive_failures: 2, failing_since: once.state.failing_since, last_error: 'timed out' });
    expect(twice.history).toEqual([
      [2000, 1, 0],
      [3000, 1, 0],
    ]);
    expect(twice.events).toMatchObject([{ start_time: once.state.failing_since, end_time: null, failures: 2, reason: 'timed out' }]);
    expect(sink.published).toEqual([
      expect.objectContaining({ kind: 'agent-failed', transition: 'opened', table: 'agt$events', id: twice.events[0].id }),
    ]);
    expect((await cursors())[ok]).toBe(666);
    expect(await typeNames('mixed-')).toEqual(['mixed-1', 'mixed-2']);

    // Its next good poll closes the event with the run of failures.
    sink.published.length = 0;
    await store.store([{ ...poll(down, 777, [], 4000), failing: true }]);
    const recovered = await failures(down);
    expect(recovered.state).toMatchObject({ since: 777, consecutive_failures: 0, failing_since: null });
    expect(recovered.events).toMatchObject([{ end_time: expect.any(Number) }]);
    expect(sink.published).toEqual([expect.objectContaining({ kind: 'agent-failed', transition: 'closed', id: twice.events[0].id })]);
  });

  it('writes a failed agent alone when MySQL refuses another agent of its batch', async () => {
    const [down, bad] = [ids[6], ids[3]];
    const refused: BatchInsert = { table: 's$types', columns: ['no_such_column'], rows: [['x']], mode: 'ignore' };
    const outcomes = await store.store([failure(down, 5000, 'timed out'), poll(bad, 888, [refused])]);
    expect(outcomes.map((o) => o.ok)).toEqual([false, false]);
    // Rewritten agent by agent: the failure is recorded, the culprit's too; its cursor did not move.
    expect((await failures(down)).state).toMatchObject({ consecutive_failures: 1 });
    expect((await failures(down)).history).toEqual([[5000, 1, 0]]);
    expect((await cursors())[bad]).toBeNull();
  });
});
