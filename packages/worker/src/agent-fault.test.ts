import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createMysqlPool, createRedis } from '@watched/core';
import { createTestEnvironment, freePort, type TestEnvironment } from '@watched/core/testing';
import { isAgentFault } from './agent-fault.js';

/** Errors as the real servers raise them: which fail one agent, which fail the job. */
describe('isAgentFault (real MariaDB and Redis errors)', () => {
  let env: TestEnvironment;
  beforeAll(async () => {
    env = await createTestEnvironment('agent_fault');
  });
  afterAll(async () => env.cleanup());

  const errorOf = async (work: () => Promise<unknown>) => {
    try {
      await work();
    } catch (err) {
      return err;
    }
    throw new Error('expected an error');
  };

  it("takes a value MySQL refuses, or an error of our own, for the agent's", async () => {
    expect(isAgentFault(await errorOf(() => env.pool.query('INSERT INTO `s$types` (name) VALUES (?)', ['t'.repeat(300)])))).toBe(true);
    expect(isAgentFault(await errorOf(() => env.pool.query('INSERT INTO `s$types` (no_such_column) VALUES (1)')))).toBe(true);
    expect(isAgentFault(new Error('no inventory row matches "X" exactly'))).toBe(true);
    expect(isAgentFault(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe(true);
  });

  it('takes MySQL or Redis failing for the job', async () => {
    const conn = await env.pool.getConnection();
    try {
      await conn.query('START TRANSACTION READ ONLY');
      expect(isAgentFault(await errorOf(() => conn.query("INSERT INTO `s$types` (name) VALUES ('ro')")))).toBe(false);
      await conn.query('ROLLBACK');
    } finally {
      conn.release();
    }
    const port = await freePort();
    const unreachable = createMysqlPool(`mysql://root@127.0.0.1:${port}/x`);
    expect(isAgentFault(await errorOf(() => unreachable.query('SELECT 1')))).toBe(false);
    await unreachable.end();
    const redis = createRedis(env.redisUrl);
    await redis.ping();
    redis.disconnect();
    expect(isAgentFault(await errorOf(() => redis.get('x')))).toBe(false);
  });
});
