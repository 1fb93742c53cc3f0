import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AgentFleet, type AgentFleetOptions } from '@watched/agent-sim';
import { AgentRegistry, type RegisteredAgent, type RowDataPacket } from '@watched/core';
import { TestPki } from '@watched/core/testing';
import { AgentCallError, AgentClient } from '@watched/worker';
import { createPipeline, type PipelineHarness } from './pipeline-harness.js';

/**
 * Agents with use_ssl in one job beside plain ones: the mTLS agents are
 * stored, each broken TLS set-up fails only its agent with the reason named,
 * and nothing falls back to plain HTTP.
 */
describe('TLS to agents (use_ssl): mTLS, verification failures named, no fallback', () => {
  let p: PipelineHarness;
  let pki: TestPki;
  let otherPki: TestPki;
  const fleets = new Map<string, AgentFleet>();
  let registered: RegisteredAgent[];
  const agentsOf = (name: string) => registered.filter((a) => a.port === fleets.get(name)!.port);
  const hostIps = (hosts: number) => Array.from({ length: hosts }, (_, i) => `127.20.0.${i + 1}`);

  beforeAll(async () => {
    pki = await TestPki.create('agents CA');
    otherPki = await TestPki.create('someone else');
    const server = await pki.issue('agents', { ips: hostIps(2) });
    const strangerServer = await otherPki.issue('agents', { ips: hostIps(2) });
    const wrongNameServer = await pki.issue('elsewhere', { dns: ['elsewhere.example'], ips: ['127.0.0.9'] });
    const client = await pki.issue('watched-worker');

    p = await createPipeline('agent-tls', { hosts: 2 }, {
      agentTimeout: '5s',
      agentTlsCa: pki.ca.certFile,
      agentTlsCert: client.certFile,
      agentTlsKey: client.keyFile,
    });
    const fleetOptions = (hostnamePrefix: string, hosts: number, tls?: AgentFleetOptions['tls']): AgentFleetOptions => ({
      hosts, port: 0, seed: 7, bufferMs: 3 * 60_000, hostnamePrefix, now: () => p.now(), tls,
    });
    const specs: Array<[string, AgentFleetOptions]> = [
      ['mtls', fleetOptions('mtls', 2, { cert: server.cert, key: server.key, ca: pki.ca.cert, requireClientCert: true })],
      ['unknown-ca', fleetOptions('unknownca', 1, { cert: strangerServer.cert, key: strangerServer.key })],
      ['wrong-name', fleetOptions('wrongname', 1, { cert: wrongNameServer.cert, key: wrongNameServer.key })],
      ['plain-http', fleetOptions('plainhttp', 1)],
    ];
    for (const [name, options] of specs) {
      const fleet = new AgentFleet(options);
      await fleet.start();
      fleets.set(name, fleet);
      await new AgentRegistry(p.env.pool).add(fleet.agents().map((a) => ({ host: a.host, port: a.port, pollIntervalS: 3600, useSsl: true })));
    }
    await p.poll(1);
    registered = await new AgentRegistry(p.env.pool).list();
  });

  afterAll(async () => {
    for (const fleet of fleets.values()) await fleet.close();
    await p?.close();
    pki?.cleanup();
    otherPki?.cleanup();
  });

  const rowsOf = async (hostname: string) =>
    Number(
      (await p.env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `d$cpu_usage` d JOIN `h$hosts` h ON h.id = d.host_id WHERE h.name = ?', [hostname]))[0][0].n,
    );

  it('polls agents over mutual TLS and stores their rows', async () => {
    const agents = agentsOf('mtls');
    expect(agents).toHaveLength(2);
    for (const agent of agents) {
      expect(agent.useSsl).toBe(true);
      expect(agent.lastError).toBeNull();
      expect(agent.lastOk).not.toBeNull();
    }
    for (const a of fleets.get('mtls')!.agents()) expect(await rowsOf(a.hostname)).toBeGreaterThan(0);
  });

  it.each([
    ['unknown-ca', /tls: .*certificate signed by unknown authority/],
    ['wrong-name', /tls: .*hostname mismatch/],
    ['plain-http', /tls: .*does not speak TLS/],
  ])('%s fails its own poll with the reason, nothing stored', async (name, reason) => {
    const [agent] = agentsOf(name as string);
    expect(agent.lastOk).toBeNull();
    expect(agent.consecutiveFailures).toBe(1);
    expect(agent.lastError).toMatch(reason);
    expect(agent.lastError).toContain(`${agent.host}:${agent.port}`);
    expect(await rowsOf(fleets.get(name as string)!.agent(0).hostname)).toBe(0);
  });

  it('stores the plain agents of the same job', async () => {
    for (const a of p.fleet.agents()) expect(await rowsOf(a.hostname)).toBeGreaterThan(0);
  });

  it('names a missing client certificate when the agent requires one', async () => {
    const client = new AgentClient({ agentConnectTimeoutMs: 5000, agentTimeoutMs: 5000, agentMaxResponseBytes: 1 << 20, agentTlsCa: pki.ca.certFile });
    const [agent] = agentsOf('mtls');
    try {
      const failure = await client.fetchAll({ id: agent.id, host: agent.host, port: agent.port, useSsl: true, pollIntervalS: 3600 }, undefined).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(AgentCallError);
      expect((failure as AgentCallError).reason).toBe('tls');
      expect((failure as AgentCallError).message).toMatch(/client certificate missing or rejected/);
    } finally {
      client.close();
    }
  });

  it('refuses a missing TLS file at start-up, naming its option', () => {
    expect(() => new AgentClient({ agentConnectTimeoutMs: 1000, agentTimeoutMs: 1000, agentMaxResponseBytes: 1024, agentTlsCa: '/nonexistent/ca.pem' })).toThrow(
      /agentTlsCa.*ENOENT/,
    );
    expect(() => new AgentClient({ agentConnectTimeoutMs: 1000, agentTimeoutMs: 1000, agentMaxResponseBytes: 1024, agentTlsCert: pki.ca.certFile })).toThrow(/agentTlsKey/);
  });
});
