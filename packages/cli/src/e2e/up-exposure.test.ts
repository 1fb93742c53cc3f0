import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestEnvironment, freePort, listeningAddresses, TcpProxy, waitFor, type TestEnvironment } from '@watched/core/testing';
import { adminUrlOf, spawnWatched, type RoleProcess } from './processes.js';

/**
 * What `watched up` lets the network reach: its simulated fleet listens on
 * loopback addresses only and its unauthenticated fault API is off unless
 * asked for; /readyz gives no internal error text without the admin token.
 */
describe('watched up: nothing listens where it should not', () => {
  let env: TestEnvironment;
  const children: RoleProcess[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment('up-exposure');
  });
  afterAll(async () => {
    for (const child of children) await child.stop('SIGTERM', 30_000).catch(() => child.child.kill('SIGKILL'));
    await env.cleanup();
  });

  /** `watched up` with 3 simulated hosts, once `listeners` sockets listen on the fleet's port (the ready fleet). */
  async function up(label: string, args: string[], listeners: number): Promise<{ child: RoleProcess; simPort: number }> {
    const simPort = await freePort();
    const child = spawnWatched(label, ['up', '--sim', '3', '--sim-freq', '1', '--sim-port', String(simPort), ...args], env);
    children.push(child);
    await waitFor(`${label}'s simulated fleet listening`, () => {
      if (!child.running) throw new Error(`${label} exited:\n${child.tail()}`);
      return listeningAddresses(simPort).length >= listeners;
    }, 60_000, 100);
    return { child, simPort };
  }

  it('binds the fleet to its 127.20.x.y host addresses only, control API off', async () => {
    const { child, simPort } = await up('up-default', [], 3);
    expect(listeningAddresses(simPort)).toEqual(['127.20.0.1', '127.20.0.2', '127.20.0.3']);
    await expect(fetch(`http://127.0.0.1:${simPort}/_sim/faults`, { method: 'DELETE' })).rejects.toThrow();
    const onHost = await fetch(`http://127.20.0.1:${simPort}/_sim/faults`);
    expect(onHost.status).toBe(404);
    expect(child.output.join('')).not.toMatch(/fault API/);
    expect(await child.stop('SIGTERM', 30_000)).toBe(0);
  });

  it('serves the fault API on 127.0.0.1 with --sim-control, and says so', async () => {
    const { child, simPort } = await up('up-control', ['--sim-control'], 4);
    expect(listeningAddresses(simPort)).toEqual(['127.0.0.1', '127.20.0.1', '127.20.0.2', '127.20.0.3']);
    expect((await fetch(`http://127.0.0.1:${simPort}/_sim/faults`)).status).toBe(200);
    expect(child.output.join('')).toContain(`fault API on http://127.0.0.1:${simPort}/_sim/`);
    expect(await child.stop('SIGTERM', 30_000)).toBe(0);
  });

  it('/readyz names failing checks without their reasons; the token holder reads them', async () => {
    const token = 'exposure-test-token';
    // Redis through a proxy the test cuts: the redis check then fails with an error text
    const redis = new URL(env.redisUrl);
    const proxy = new TcpProxy(redis.hostname, Number(redis.port || 6379));
    await proxy.start();
    redis.host = `127.0.0.1:${proxy.port}`;
    const child = spawnWatched('up-readyz', ['up', '--sim', '0', '--embedded', 'never'], { ...env, redisUrl: redis.toString() }, { WATCHED_ADMIN_TOKEN: token });
    children.push(child);
    const readyz = `${await adminUrlOf(child, 60_000)}/readyz`;
    await waitFor('a ready /readyz', async () => (await fetch(readyz)).status === 200, 60_000, 200);
    await proxy.cut();
    const anonymous = await waitFor('an unready /readyz', async () => {
      const res = await fetch(readyz);
      return res.status === 503 ? await res.text() : undefined;
    }, 30_000, 200);
    expect(JSON.parse(anonymous).checks.redis).toBe('failing');
    expect(anonymous).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|timeout|no answer|closed/i);
    const detailed = await (await fetch(readyz, { headers: { authorization: `Bearer ${token}` } })).json() as { checks: Record<string, string> };
    expect(detailed.checks.redis).not.toBe('failing');
    expect(detailed.checks.redis).not.toBe('ok');
    child.child.kill('SIGKILL');
    await child.exited;
    await proxy.close();
  });
});
