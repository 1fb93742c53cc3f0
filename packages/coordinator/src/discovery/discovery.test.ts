import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminServer, AgentRegistry, LeaderLease, RedisKeys, TermStore, type RowDataPacket } from '@watched/core';
import { createTestEnvironment, TestDnsServer, type TestEnvironment } from '@watched/core/testing';
import { parseCoordinatorOptions, type RawCoordinatorOptions } from '../coordinator-options.js';
import { agentsEndpoint } from './agents-endpoint.js';
import { Discovery } from './discovery.js';
import { DiscoveryFencedError } from './discovery-reconciler.js';
import { RetiredAgents } from './retired-agents.js';

interface Row {
  host: string;
  port: number;
  pool_freq: number;
  use_ssl: number;
  sources: string | null;
  dropped_at: number | null;
  retired_at: number | null;
}

/**
 * Discovery against real sources (files written here, a DNS server on a
 * loopback port, the admin endpoint over HTTP) and real MySQL: what lands in
 * c$agents and agt$discovery after each pass.
 */
describe('Discovery: sources reconciled into c$agents (real files, DNS, HTTP, MySQL)', () => {
  let env: TestEnvironment;
  let keys: RedisKeys;
  let dir: string;
  let dns: TestDnsServer;
  let lease: LeaderLease;
  const discoveries: Discovery[] = [];

  const discovery = (raw: RawCoordinatorOptions) => {
    const d = new Discovery(env.pool, keys.leaderLease, parseCoordinatorOptions(raw).discovery, env.logger, undefined, () => undefined);
    discoveries.push(d);
    return d;
  };
  const rows = async (): Promise<Row[]> => {
    const [r] = await env.pool.query<RowDataPacket[]>(
      'SELECT a.host, a.port, a.pool_freq, a.use_ssl, d.sources, d.dropped_at, d.retired_at FROM `c$agents` a LEFT JOIN `agt$discovery` d ON d.agent_id = a.id ORDER BY a.host, a.port',
    );
    return r as Row[];
  };
  const hosts = async (filter: (r: Row) => boolean = () => true) => (await rows()).filter(filter).map((r) => `${r.host}:${r.port}`);

  beforeAll(async () => {
    env = await createTestEnvironment('discovery');
    keys = new RedisKeys(env.prefix);
    dir = mkdtempSync(join(tmpdir(), 'watched-discovery-'));
    dns = await TestDnsServer.start();
    lease = new LeaderLease({ redis: env.redis, key: keys.leaderLease, nodeId: 'test', ttlMs: 60_000, logger: env.logger, terms: new TermStore(env.pool, keys.leaderLease) });
    expect(await lease.refresh()).toBe(true);
  });

  beforeEach(async () => {
    await env.pool.query('DELETE FROM `agt$registrations`');
    await env.pool.query('DELETE FROM `c$agents`');
  });

  afterAll(async () => {
    for (const d of discoveries) d.close();
    await lease?.release();
    await dns?.close();
    rmSync(dir, { recursive: true, force: true });
    await env?.cleanup();
  });

  it('file source: YAML, JSON and CSV lists are added; agents registered by hand are left alone; a dropped agent is retired after the grace period and revived when listed again', async () => {
    const yaml = join(dir, 'fleet-a.yaml');
    writeFileSync(yaml, '# web tier\n- web1.example.org\n- host: web2.example.org:9443\n  ssl: true\n  freq: 60\n- targets: [db1.example.org, db2.example.org:9090]\n  labels: {tier: db}\n');
    writeFileSync(join(dir, 'fleet-b.json'), JSON.stringify({ agents: [{ host: 'cache1.example.org', freq: 30 }] }));
    writeFileSync(join(dir, 'fleet-c.csv'), 'host,port,pool_freq\nlegacy1.example.org,9080,120\nhand.example.org,9080,\n');
    await new AgentRegistry(env.pool).add([{ host: 'hand.example.org', pollIntervalS: 77 }]);

    const d = discovery({ discoveryFile: [join(dir, '*.yaml'), `${dir}/*.{json,csv}`], discoveryGrace: '60s', discoveryFreq: 45 });
    const T = Date.now();
    const first = await d.pass(lease, T);
    expect(first).toMatchObject({ added: 6, manual: 1, retired: 0 });
    const all = await rows();
    expect(all.map((r) => [`${r.host}:${r.port}`, r.pool_freq, r.use_ssl])).toEqual([
      ['cache1.example.org:9080', 30, 0],
      ['db1.example.org:9080', 45, 0],
      ['db2.example.org:9090', 45, 0],
      ['hand.example.org:9080', 77, 0], // by hand: its frequency is not the file's, and it has no discovery row
      ['legacy1.example.org:9080', 120, 0],
      ['web1.example.org:9080', 45, 0],
      ['web2.example.org:9443', 60, 1],
    ]);
    expect(all.find((r) => r.host === 'hand.example.org')!.sources).toBeNull();
    expect(all.find((r) => r.host === 'web1.example.org')!.sources).toBe(`file:${join(dir, '*.yaml')}`);

    // Listed again: nothing to write.
    expect(await d.pass(lease, T + 1000)).toMatchObject({ added: 0, dropped: 0, updated: 0 });

    // web1 leaves the file: dropped now, retired once the grace period has passed, never deleted.
    writeFileSync(yaml, '- host: web2.example.org:9443\n  ssl: true\n  freq: 60\n- targets: [db1.example.org, db2.example.org:9090]\n  labels: {tier: db}\n');
    expect(await d.pass(lease, T + 2000)).toMatchObject({ dropped: 1, retired: 0 });
    expect(await d.pass(lease, T + 30_000)).toMatchObject({ dropped: 0, retired: 0 });
    expect(await d.pass(lease, T + 62_001)).toMatchObject({ retired: 1 });
    expect(await hosts((r) => r.retired_at !== null)).toEqual(['web1.example.org:9080']);
    expect(await hosts()).toHaveLength(7);
    const retired = new RetiredAgents(env.pool);
    expect(await retired.refresh()).toBe(true);
    const ids = (await new AgentRegistry(env.pool).list()).map((a) => ({ id: a.id, pollIntervalMs: 1000 }));
    expect(retired.without(ids)).toHaveLength(6);

    // Back in the file: revived under the same id.
    const web1 = (await new AgentRegistry(env.pool).list()).find((a) => a.host === 'web1.example.org')!.id;
    writeFileSync(yaml, '- web1.example.org\n- host: web2.example.org:9443\n  ssl: true\n  freq: 60\n- targets: [db1.example.org, db2.example.org:9090]\n');
    expect(await d.pass(lease, T + 70_000)).toMatchObject({ revived: 1, added: 0 });
    expect((await new AgentRegistry(env.pool).list()).find((a) => a.host === 'web1.example.org')!.id).toBe(web1);
    expect(await hosts((r) => r.retired_at !== null)).toEqual([]);
    expect(await retired.refresh()).toBe(true);
  });

  it('file source: a broken file is refused with file:line and its previous content kept', async () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, '- good1.example.org\n- good2.example.org\n');
    const d = discovery({ discoveryFile: [file], discoveryGrace: '0s' });
    const T = Date.now();
    expect(await d.pass(lease, T)).toMatchObject({ added: 2 });
    writeFileSync(file, '- good1.example.org\n- host: bad host!\n- {host: x.example.org, colour: red}\n');
    const result = await d.pass(lease, T + 1000);
    expect(result).toMatchObject({ added: 0, dropped: 0, retired: 0 });
    const error = d.stats.sources[0].error!;
    expect(error).toContain(`${file}:2: invalid agent host "bad host!"`);
    expect(error).toContain(`${file}:3: unknown key(s) colour`);
    expect(await hosts((r) => r.retired_at === null && r.dropped_at === null)).toEqual(['good1.example.org:9080', 'good2.example.org:9080']);
    // Not YAML at all: the parser's line.
    writeFileSync(file, '- good1.example.org\n- [unclosed\n');
    await d.pass(lease, T + 2000);
    expect(d.stats.sources[0].error).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: `));
    expect(await hosts((r) => r.retired_at === null)).toHaveLength(2);
    // Fixed: applied (good2 dropped and, with no grace, retired at the next pass).
    writeFileSync(file, '- good1.example.org\n');
    expect(await d.pass(lease, T + 3000)).toMatchObject({ dropped: 1 });
    expect(d.stats.sources[0].error).toBeUndefined();
  });

  it('dns source: A names with a port and SRV names, re-resolved as records change; a DNS outage keeps the listing', async () => {
    dns.set({ a: { 'agents.monitoring.svc': ['10.9.0.1', '10.9.0.2'] }, aaaa: { 'agents.monitoring.svc': ['fd00::1'] }, srv: { '_agent._tcp.example.org': [{ target: 'node1.example.org', port: 9100 }] } });
    const d = discovery({ discoveryDns: ['agents.monitoring.svc:9091'], discoverySrv: ['_agent._tcp.example.org'], discoveryDnsServer: [dns.address], discoveryGrace: '0s' });
    const T = Date.now();
    expect(await d.pass(lease, T)).toMatchObject({ added: 4 });
    expect(await hosts()).toEqual(['10.9.0.1:9091', '10.9.0.2:9091', 'fd00::1:9091', 'node1.example.org:9100']);
    expect((await rows()).find((r) => r.host === 'node1.example.org')!.sources).toBe('srv:_agent._tcp.example.org');

    // A node goes, another comes; the SRV record moves to a new port.
    dns.set({ a: { 'agents.monitoring.svc': ['10.9.0.2', '10.9.0.3'] }, srv: { '_agent._tcp.example.org': [{ target: 'node1.example.org', port: 9101 }] } });
    expect(await d.pass(lease, T + 1000)).toMatchObject({ added: 2, dropped: 3 });
    expect(await d.pass(lease, T + 2000)).toMatchObject({ retired: 3 });
    expect(await hosts((r) => r.retired_at === null)).toEqual(['10.9.0.2:9091', '10.9.0.3:9091', 'node1.example.org:9101']);

    // The DNS server stops answering: the sources fail, their listings stand, nothing is dropped.
    dns.pause();
    try {
      expect(await d.pass(lease, T + 3000)).toMatchObject({ added: 0, dropped: 0, retired: 0 });
      expect(d.stats.sources.every((s) => s.error !== undefined)).toBe(true);
    } finally {
      dns.resume();
    }
    // The name disappears (NXDOMAIN): its agents are dropped.
    dns.set({ srv: { '_agent._tcp.example.org': [{ target: 'node1.example.org', port: 9101 }] } });
    expect(await d.pass(lease, T + 4000)).toMatchObject({ dropped: 2 });
  });

  it('http source: POST /api/agents needs the admin token, is idempotent, survives in MySQL for any leader; DELETE removes', async () => {
    const d = discovery({ discoveryHttp: true, discoveryGrace: '0s' });
    const admin = new AdminServer({ adminListen: '127.0.0.1:0', adminToken: 'discovery-test-token' }, { logger: env.logger, routes: agentsEndpoint(() => d, () => undefined) });
    await admin.start();
    const open = new AdminServer({ adminListen: '127.0.0.1:0' }, { logger: env.logger, routes: agentsEndpoint(() => d, () => undefined) });
    await open.start();
    try {
      const call = (method: string, path: string, body?: unknown, token: string | null = 'discovery-test-token', server = admin) =>
        fetch(`${server.address().url}${path}`, {
          method,
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: body === undefined ? undefined : JSON.stringify(body),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

      expect((await call('POST', '/api/agents', { host: 'vm1.example.org' }, null)).status).toBe(401);
      expect((await call('POST', '/api/agents', { host: 'vm1.example.org' }, 'wrong-token-xx')).status).toBe(401);
      // No token configured: writes are refused rather than open.
      expect((await call('POST', '/api/agents', { host: 'vm1.example.org' }, null, open)).status).toBe(403);
      expect(await call('POST', '/api/agents', { host: 'vm1.example.org:9443', ssl: true, freq: 15, labels: { team: 'web' } })).toEqual({
        status: 201,
        body: { agent: 'vm1.example.org:9443', registered: true, new: true },
      });
      expect((await call('POST', '/api/agents', { host: 'vm1.example.org:9443', ssl: true, freq: 15 })).status).toBe(200);
      expect((await call('POST', '/api/agents', { host: 'vm2.example.org', port: 9080 })).status).toBe(201);
      expect(await call('POST', '/api/agents', { host: 'no such host!' })).toMatchObject({ status: 400 });
      expect(await call('POST', '/api/agents', { host: 'a.example.org', colour: 'red' })).toMatchObject({ status: 400 });
      expect((await fetch(`${admin.address().url}/api/agents`, { method: 'POST', headers: { authorization: 'Bearer discovery-test-token' }, body: '{not json' })).status).toBe(400);
      expect(await hosts()).toEqual([]); // registered, not yet reconciled

      // Any leader (here a fresh Discovery) sees the registrations: they are in MySQL.
      const T = Date.now();
      expect(await discovery({ discoveryHttp: true, discoveryGrace: '0s' }).pass(lease, T)).toMatchObject({ added: 2 });
      expect((await rows()).map((r) => [`${r.host}:${r.port}`, r.pool_freq, r.use_ssl, r.sources])).toEqual([
        ['vm1.example.org:9443', 15, 1, 'http'],
        ['vm2.example.org:9080', 300, 0, 'http'],
      ]);

      expect(await call('DELETE', '/api/agents/vm2.example.org:9080')).toEqual({ status: 200, body: { agent: 'vm2.example.org:9080', removed: true } });
      expect(await call('DELETE', '/api/agents', { host: 'vm2.example.org' })).toEqual({ status: 200, body: { agent: 'vm2.example.org:9080', removed: false } });
      expect((await call('DELETE', '/api/agents/vm1.example.org:9443', undefined, null)).status).toBe(401);
      expect(await d.pass(lease, T + 1000)).toMatchObject({ dropped: 1 });
      expect(await d.pass(lease, T + 2000)).toMatchObject({ retired: 1 });
      expect(await hosts((r) => r.retired_at === null)).toEqual(['vm1.example.org:9443']);
    } finally {
      await admin.close();
      await open.close();
    }
  });

  it('a pass under a term that is no longer the recorded one writes nothing', async () => {
    writeFileSync(join(dir, 'fenced.yaml'), '- fenced1.example.org\n');
    const d = discovery({ discoveryFile: [join(dir, 'fenced.yaml')] });
    // Another node took a higher term (our lease is still valid on our clock: a paused process waking up).
    expect(await new TermStore(env.pool, keys.leaderLease).record(lease.term + 1, 'other')).toBe(true);
    await expect(d.pass(lease)).rejects.toBeInstanceOf(DiscoveryFencedError);
    expect(await hosts()).toEqual([]);
  });
});
