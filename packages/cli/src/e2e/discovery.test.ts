import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentFleet, type AgentAddress } from '@watched/agent-sim';
import { createRedis, RedisKeys, type Redis, type RowDataPacket } from '@watched/core';
import { createTestEnvironment, freePort, TestDnsServer, waitFor, type TestEnvironment } from '@watched/core/testing';
import { collectStatus, formatStatus } from '../commands/status.js';
import { adminUrlOf, pidOfNodeId, spawnWatched, type RoleProcess } from './processes.js';

const TOKEN = 'discovery-e2e-token';

interface AgentRow {
  id: number;
  host: string;
  port: number;
  sources: string | null;
  retired_at: number | null;
  last_ok: number | null;
  last_poll: number | null;
}

/**
 * Discovery with real processes (`watched coordinator` and `watched worker`
 * from the built CLI) and simulated fleets: agents appear through each
 * source (a file, DNS A and SRV records, the HTTP endpoint), get polled,
 * and are retired when their fleet stops and the sources drop them, with no
 * `watched agents` command run. Then a leader SIGKILLed during the first pass
 * over thousands of agents: the standby's pass neither loses nor duplicates any.
 */
describe('discovery end to end: simulated fleets found and retired through each source, leader failover', () => {
  let env: TestEnvironment;
  let redis: Redis;
  let keys: RedisKeys;
  let dir: string;
  let dns: TestDnsServer;
  const fleets: AgentFleet[] = [];
  const processes: RoleProcess[] = [];
  const spawn = (label: string, args: string[]) => {
    const p = spawnWatched(label, args, { mysqlUrl: env.mysqlUrl, redisUrl: env.redisUrl, prefix: env.prefix });
    processes.push(p);
    return p;
  };
  const agents = async (): Promise<AgentRow[]> => {
    const [rows] = await env.pool.query<RowDataPacket[]>(
      'SELECT a.id, a.host, a.port, d.sources, d.retired_at, s.last_ok, s.last_poll, s.last_error FROM `c$agents` a ' +
        'LEFT JOIN `agt$discovery` d ON d.agent_id = a.id LEFT JOIN `agt$state` s ON s.agt_id = a.id ORDER BY a.id',
    );
    return rows as AgentRow[];
  };
  const startFleet = async (hosts: number, seed: number, port = 0) => {
    // A short history: a first poll fetches all of it, and the machine is busy.
    const fleet = new AgentFleet({ hosts, port, seed, bufferMs: 30_000 });
    await fleet.start();
    fleets.push(fleet);
    return fleet;
  };

  beforeAll(async () => {
    env = await createTestEnvironment('discovery_e2e');
    keys = new RedisKeys(env.prefix);
    redis = createRedis(env.redisUrl, { blocking: true });
    dir = mkdtempSync(join(tmpdir(), 'watched-discovery-e2e-'));
    dns = await TestDnsServer.start();
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL').catch(() => undefined)));
    await Promise.all(fleets.map((f) => f.close().catch(() => undefined)));
    await dns?.close();
    await redis?.quit();
    rmSync(dir, { recursive: true, force: true });
    await env?.cleanup();
  });

  it('a fleet started and stopped is picked up, polled and retired through the file, dns and http sources', async () => {
    const file = join(dir, 'agents.yaml');
    const a = await startFleet(6, 1);
    const portB = await freePort(); // fleet B starts later; its DNS name's port is configured now
    const [f0, f1, d2, d3, s4, h5] = a.agents();
    const key = (x: AgentAddress) => `${x.host}:${x.port}`;
    const listFile = (xs: AgentAddress[]) => writeFileSync(file, xs.map((x, i) => (i % 2 ? `- host: ${x.host}\n  port: ${x.port}\n  labels: {team: web}\n` : `- ${key(x)}\n`)).join('') || '[]\n');
    const setDns = (nameA: AgentAddress[], nameB: AgentAddress[], srv: AgentAddress[]) =>
      dns.set({
        a: { 'agents-a.fleet.test': nameA.map((x) => x.host), 'agents-b.fleet.test': nameB.map((x) => x.host) },
        srv: { '_agent._tcp.fleet.test': srv.map((x) => ({ target: x.host, port: x.port })) },
      });
    listFile([f0, f1]);
    setDns([d2, d3], [], [s4]);

    const coordinator = spawn('coordinator', [
      'coordinator', '--tick-interval', '200ms', '--agent-refresh', '500ms', '--lease-ttl', '3s', '--heartbeat-interval', '500ms',
      '--discovery-file', join(dir, '*.yaml'), '--discovery-dns', `agents-a.fleet.test:${a.port}`, '--discovery-dns', `agents-b.fleet.test:${portB}`,
      '--discovery-srv', '_agent._tcp.fleet.test', '--discovery-dns-server', dns.address, '--discovery-http', 'true', '--admin-token', TOKEN,
      // A long interval: the file's change is seen by its watch, the HTTP registration wakes a pass, DNS changes wait for an interval.
      '--discovery-interval', '2s', '--discovery-grace', '2s', '--discovery-freq', '2',
    ]);
    spawn('worker', ['worker', '--heartbeat-interval', '500ms', '--agent-timeout', '20s']);
    const admin = await adminUrlOf(coordinator);
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${admin}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    expect((await call('POST', '/api/agents', { host: key(h5) })).status).toBe(201);

    const wait = (what: string, check: (rows: AgentRow[]) => boolean, ms = 40_000) =>
      waitFor(what, async () => check(await agents()), ms).catch(async (err) => {
        throw new Error(`${(err as Error).message}\n${JSON.stringify(await agents())}\n${coordinator.tail()}`);
      });
    const row = (rows: AgentRow[], x: AgentAddress) => rows.find((r) => `${r.host}:${r.port}` === key(x));
    const polled = (rows: AgentRow[], xs: AgentAddress[]) => xs.every((x) => row(rows, x)?.last_ok != null && row(rows, x)?.retired_at === null);

    await wait('fleet A polled', (rows) => polled(rows, [f0, f1, d2, d3, s4, h5]));
    const first = await agents();
    expect(first).toHaveLength(6);
    expect([f0, f1, d2, s4, h5].map((x) => row(first, x)!.sources)).toEqual([
      `file:${join(dir, '*.yaml')}`, `file:${join(dir, '*.yaml')}`, `dns:agents-a.fleet.test:${a.port}`, 'srv:_agent._tcp.fleet.test', 'http',
    ]);
    // `watched status` says where the agents came from, and what each of the leader's sources lists.
    const status = await waitFor('status to show the sources', async () => {
      const s = await collectStatus(redis, env.keys, env.pool);
      return s.discovery?.sources.length === 5 && s.discovery.sources.every((src) => src.agents !== null) ? s : undefined;
    }, 20_000);
    expect(status.discovery).toMatchObject({ manual: 0, retired: 0, discovered: { 'http': 1, 'srv:_agent._tcp.fleet.test': 1 } });
    expect(formatStatus(status)).toMatch(/agents +6 \(0 by hand or the front, 6 discovered, 0 retired\)/);
    expect(formatStatus(status)).toContain(`dns:agents-a.fleet.test:${a.port}: 2 agents`);

    // Fleet B starts: one host per source.
    const b = await startFleet(4, 2, portB);
    const [b0, b1, b2, b3] = b.agents();
    listFile([f0, f1, b0]);
    setDns([d2, d3], [b1], [s4, b2]);
    expect((await call('POST', '/api/agents', { host: b3.host, port: b3.port })).status).toBe(201);
    await wait('fleet B polled', (rows) => polled(rows, [b0, b1, b2, b3]));

    // Fleet B stops; the sources drop it: retired after the grace period, kept in c$agents, no longer polled.
    await b.close();
    listFile([f0, f1]);
    setDns([d2, d3], [], [s4]);
    expect(await (await call('DELETE', `/api/agents/${key(b3)}`)).json()).toMatchObject({ removed: true });
    await wait('fleet B retired', (rows) => [b0, b1, b2, b3].every((x) => row(rows, x)?.retired_at != null));
    const retiredAt = await agents();
    await waitFor('fleet A polled again', async () => {
      const now = await agents();
      return [f0, f1, d2, d3, s4, h5].every((x) => row(now, x)!.last_poll! > row(retiredAt, x)!.last_poll!);
    }, 20_000);
    // A poll job enqueued just before the retirement may still run once: after the next one of fleet A, none of B.
    const settled = await agents();
    await waitFor('fleet A polled once more', async () => {
      const now = await agents();
      return [f0, f1, d2, d3, s4, h5].every((x) => row(now, x)!.last_poll! > row(settled, x)!.last_poll!);
    }, 20_000);
    const last = await agents();
    expect(last).toHaveLength(10);
    for (const x of [b0, b1, b2, b3]) expect(row(last, x)!.last_poll).toBe(row(settled, x)!.last_poll);
    expect(last.filter((r) => r.retired_at === null)).toHaveLength(6);
  }, 180_000);

  it('the leader SIGKILLed during its first pass over 5,000 agents: the standby finishes it, no agent lost or duplicated', async () => {
    // The previous scenario's processes go first: its coordinator would hold this lease.
    await Promise.all(processes.splice(0).map((p) => p.stop('SIGKILL').catch(() => undefined)));
    await env.pool.query('DELETE FROM `agt$registrations`');
    await env.pool.query('DELETE FROM `c$agents`');
    await redis.del(keys.leaderLease);
    const big = mkdtempSync(join(tmpdir(), 'watched-discovery-failover-'));
    const file = join(big, 'fleet.csv');
    const listed = (n: number, from = 0) => 'host,port\n' + Array.from({ length: n }, (_, i) => `10.${100 + Math.floor((from + i) / 65536)}.${Math.floor((from + i) / 256) % 256}.${(from + i) % 256},9080\n`).join('');
    writeFileSync(file, listed(5000));
    const args = ['coordinator', '--lease-ttl', '2s', '--tick-interval', '200ms', '--heartbeat-interval', '500ms', '--discovery-file', file, '--discovery-interval', '1s', '--discovery-grace', '1s'];
    const holderPid = async () => pidOfNodeId((await redis.get(keys.leaderLease))?.replace(/:\d+$/, ''));
    const counts = async () => {
      const [[row]] = await env.pool.query<RowDataPacket[]>(
        'SELECT (SELECT COUNT(*) FROM `c$agents`) AS agents, (SELECT COUNT(*) FROM `agt$discovery`) AS owned, ' +
          '(SELECT COUNT(DISTINCT host, port) FROM `c$agents`) AS distinctAgents, (SELECT COUNT(*) FROM `agt$discovery` WHERE retired_at IS NOT NULL) AS retired',
      );
      return { agents: Number(row.agents), owned: Number(row.owned), distinct: Number(row.distinctAgents), retired: Number(row.retired) };
    };
    try {
      const c1 = spawn('c1', args);
      await waitFor('c1 to lead', async () => (await holderPid()) === c1.pid, 30_000);
      const c2 = spawn('c2', args);
      await adminUrlOf(c2);
      // Killed as soon as its pass has begun writing (or before: either way the transaction is all or nothing).
      await waitFor('c1 to start its pass', () => c1.output.join('').includes('discovery') || c1.output.join('').includes('planned'), 30_000).catch(() => undefined);
      expect(await c1.stop('SIGKILL')).toBeNull();
      const afterKill = await counts();
      expect(afterKill.agents).toBe(afterKill.owned); // never an agent without its ownership row, nor the reverse
      await waitFor('c2 to lead', async () => (await holderPid()) === c2.pid, 30_000);
      await waitFor('c2 to add every agent', async () => (await counts()).owned === 5000, 60_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${c2.tail()}`);
      });
      expect(await counts()).toEqual({ agents: 5000, owned: 5000, distinct: 5000, retired: 0 });

      // 500 leave the file; c2 is killed too, a third coordinator retires them once the grace period is over.
      writeFileSync(file, listed(4500));
      await waitFor('c2 to see them dropped', async () => {
        const [[row]] = await env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `agt$discovery` WHERE dropped_at IS NOT NULL');
        return Number(row.n) === 500;
      }, 30_000);
      expect(await c2.stop('SIGKILL')).toBeNull();
      const c3 = spawn('c3', args);
      await waitFor('c3 to retire the 500', async () => (await counts()).retired === 500, 60_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${c3.tail()}`);
      });
      expect(await counts()).toEqual({ agents: 5000, owned: 5000, distinct: 5000, retired: 500 });
    } finally {
      rmSync(big, { recursive: true, force: true });
    }
  }, 240_000);
});
