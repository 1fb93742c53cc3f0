import { waitFor } from '../testing/wait-for.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { IllegalStateError } from '../errors.js';
import { readMembers } from '../lease/membership.js';
import { createMysqlConnection } from '../mysql.js';
import { createTestEnvironment, type TestEnvironment } from '../testing/test-environment.js';
import { CloseStack } from './close-stack.js';
import { RoleContext } from './role-context.js';

/** Redis connections whose CLIENT LIST name carries this node id (RoleContext names them `...@<nodeId>`). */
async function redisClientsOf(env: TestEnvironment, nodeId: string): Promise<string[]> {
  const list = String(await env.redis.client('LIST'));
  return list.split('\n').filter((line) => line.includes(`@${nodeId}`));
}

/** MySQL connections to the test's own database (nothing else in this file uses it: the environment's pool stays unused). */
async function mysqlConnectionsTo(env: TestEnvironment): Promise<number> {
  const server = new URL(env.mysqlUrl);
  server.pathname = '/';
  const conn = await createMysqlConnection(server.toString());
  try {
    const [rows] = await conn.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ?', [env.database]);
    return Number((rows as Array<{ n: number }>)[0].n);
  } finally {
    await conn.end();
  }
}

describe('CloseStack', () => {
  const logger = { warn: () => undefined } as never;

  it('closes in reverse order of opening, past a failing step, once', async () => {
    const closed: string[] = [];
    const stack = new CloseStack(logger);
    stack.push('a', 'A', (r) => void closed.push(r));
    stack.defer('b', () => {
      closed.push('B');
      throw new Error('b failed');
    });
    stack.push('c', 'C', async (r) => void closed.push(r));
    expect(stack.names).toEqual(['c', 'b', 'a']);
    await Promise.all([stack.close(), stack.close()]);
    expect(closed).toEqual(['C', 'B', 'A']);
    // Opened after closing started: closed at once rather than leaked.
    stack.push('late', 'L', (r) => void closed.push(r));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toEqual(['C', 'B', 'A', 'L']);
  });
});

describe('RoleContext (real MariaDB and Redis)', () => {
  let env: TestEnvironment;

  beforeAll(async () => {
    env = await createTestEnvironment('role-context', { migrate: true });
  });
  afterAll(async () => {
    await env.cleanup();
  });

  const context = (role = 'kit') => env.roleContext(role, { nodeId: `test-${randomBytes(4).toString('hex')}` });

  it('a start-up that fails half-way closes every connection it opened, and the role is FAILED', async () => {
    const ctx = context();
    const failure = new Error('start-up step 6 failed');
    await expect(
      ctx.start(async () => {
        const pool = ctx.mysql({ connectionLimit: 2 });
        await Promise.all([pool.query('SELECT 1'), pool.query('SELECT SLEEP(0.05)')]);
        await ctx.redis.ping();
        await ctx.openRedis('extra', { blocking: true }).ping();
        await ctx.queue('kit-test').getJobCounts();
        ctx.membership({ intervalMs: 1000 });
        await ctx.leader({ key: ctx.keys.leaderLease, ttlMs: 2000, standbyRetryMs: () => 100, work: { name: 'leader work', intervalMs: () => 60_000, run: async () => undefined } });
        ctx.task({ name: 'kit task', intervalMs: () => 60_000, run: async () => undefined });
        // Everything above is open and connected now.
        await waitFor('the lease', async () => (await env.redis.get(ctx.keys.leaderLease)) !== null, 5000);
        expect(await redisClientsOf(env, ctx.nodeId)).toHaveLength(3);
        expect(await mysqlConnectionsTo(env)).toBeGreaterThanOrEqual(2);
        throw failure;
      }),
    ).rejects.toBe(failure);

    expect(ctx.lifecycle).toBe('FAILED');
    await waitFor('every Redis connection of the role to close', async () => (await redisClientsOf(env, ctx.nodeId)).length === 0, 5000);
    await waitFor('every MySQL connection of the role to close', async () => (await mysqlConnectionsTo(env)) === 0, 5000);
    expect(await env.redis.get(ctx.keys.leaderLease)).toBeNull(); // the lease was handed back
    expect((await readMembers(env.redis, env.keys)).map((m) => m.nodeId)).not.toContain(ctx.nodeId);
    await expect(ctx.start(async () => undefined)).rejects.toBeInstanceOf(IllegalStateError);
    await ctx.close(); // idempotent after a failed start
  });

  it('runs, then closes in reverse order once; a standby leader takes over on the announced release', async () => {
    const first = context('leader-kit');
    const second = context('leader-kit');
    const elected: string[] = [];
    /** Who ran the leader's work, under which term: only a leader runs it, at once when elected. */
    const worked: Array<{ nodeId: string; term: number }> = [];
    const start = (ctx: RoleContext) =>
      ctx.start(async () => {
        ctx.membership({ intervalMs: 1000 });
        // A long standby retry and TTL: only the release announcement explains a fast takeover.
        await ctx.leader({
          key: ctx.keys.aggregatorLease,
          ttlMs: 30_000,
          standbyRetryMs: () => 30_000,
          onChange: (leading) => leading && elected.push(ctx.nodeId),
          // An interval of a minute: a run within the test is the one on election.
          work: { name: 'leader work', intervalMs: () => 60_000, run: async (term) => void worked.push({ nodeId: ctx.nodeId, term }) },
        });
      });
    await start(first);
    await waitFor('the first leader', async () => elected.length === 1, 5000);
    await start(second);
    expect(first.lifecycle).toBe('RUNNING');
    expect(elected).toEqual([first.nodeId]);
    const members = await readMembers(env.redis, env.keys);
    expect(members.map((m) => m.nodeId)).toEqual(expect.arrayContaining([first.nodeId, second.nodeId]));

    const closedAt = Date.now();
    await Promise.all([first.close(), first.close()]);
    expect(first.lifecycle).toBe('STOPPED');
    await waitFor('the standby to lead', async () => elected.length === 2, 5000);
    expect(elected[1]).toBe(second.nodeId);
    await waitFor('the new leader to run its work', async () => worked.length === 2, 5000);
    expect(worked.map((w) => w.nodeId)).toEqual([first.nodeId, second.nodeId]);
    expect(worked[1].term).toBeGreaterThan(worked[0].term);
    expect(Date.now() - closedAt).toBeLessThan(5000);
    expect((await readMembers(env.redis, env.keys)).map((m) => m.nodeId)).not.toContain(first.nodeId);
    expect(await redisClientsOf(env, first.nodeId)).toHaveLength(0);
    await second.close();
  });
});
